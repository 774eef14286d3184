"""HTML rendering: the Jinja2 environment, its filters, and the live tables' column specs.

Column specs are declared once here: the templates render the first paint from them and
write each column's key and format into the table header, which the inline script reads
to rebuild rows from the JSON API without a reload. CSS and the script are inlined (no
build step, no extra requests, nothing external).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, PackageLoader, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from sla_connector.core.durations import format_seconds
from sla_connector.core.ticket import format_instant
from sla_connector.core.vocabulary import COMBINED_METRIC, COMBINED_METRIC_DEFINITION
from sla_connector.web.charts import Series, line_chart
from sla_connector.web.data import fill_ticket_url
from sla_connector.web.figures import DASH, KIND_LABELS, target_text, ticket_url
from sla_connector.web.ticket_view import TicketView
from sla_connector.web.views import ClientView, Overview, TrendPoint, zone_name

__all__ = ["COLUMNS", "Column", "Pages"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a live table: header text, the JSON key it shows, and how."""

    label: str
    key: str
    format: str = "text"


_TICKET = Column("Ticket", "id", "ticket")
_CLIENT = Column("Client", "client", "client")
_TIER = Column("Tier", "tier")
_SUBJECT = Column("Subject", "subject")
_CLOCK = Column("Clock", "clock")
_TICKET_LINE = (_TICKET, _CLIENT, _TIER, _SUBJECT, _CLOCK)
COLUMNS: dict[str, tuple[Column, ...]] = {
    "at_risk": (
        *_TICKET_LINE,
        Column("Target used", "used", "percent"),
        Column("Time to breach", "due_at", "countdown"),
        Column("Due", "due_at", "time"),
    ),
    "breached_open": (*_TICKET_LINE, Column("Breached", "breached_at", "time")),
    "open": (
        *_TICKET_LINE,
        Column("State", "state", "state"),
        Column("Due", "due_at", "time"),
    ),
    "escalations": (
        Column("Fired", "fired_at", "time"),
        Column("Ticket", "ticket_id", "ticket"),
        _CLIENT,
        _TIER,
        Column("Step", "step"),
        Column("To", "recipient"),
        Column("Outcome", "state", "state"),
        Column("Timing", "late", "timing"),
    ),
    "breaches": (
        Column("Breached", "breached_at", "time"),
        Column("Ticket", "ticket_id", "ticket"),
        _SUBJECT,
        _TIER,
        _CLOCK,
        Column("Over target", "over_seconds", "duration"),
        Column("Still open", "still_open", "yesno"),
        Column("Escalations", "escalations", "steps"),
    ),
    "withdrawn": (
        Column("Withdrawn", "withdrawn_at", "time"),
        Column("Ticket", "ticket_id", "ticket"),
        _CLIENT,
        _TIER,
        _SUBJECT,
        Column("Why", "reason", "reason"),
        Column("Detail", "detail"),
        Column("Steps cancelled", "cancelled", "names"),
    ),
}

STATE_TEXT = {
    "running": "▶ running",
    "paused": "‖ paused",
    "breached": "✗ breached",
    "met": "✓ met",
    "done": "✓ written to the PSA",
    "would_fire": "◌ not written (shadow mode)",
    "failed": "✗ the PSA refused it",
    "firing": "… being written now",
    "planned": "… scheduled",
    "cancelled": DASH + " not needed (resolved in time)",
    "dormant": DASH + " not needed now",
    "fired": "✓ done",
    "pending": "… scheduled",
}
"""Plain words for clock and escalation states (the inline script carries the same)."""
REASON_TEXT = {
    "deleted": "deleted in the PSA",
    "merged": "merged into another ticket",
    "spam": "marked as spam",
    "out_of_scope": "moved out of scope",
}
STATUS_ICON = {"meets": "✓", "below": "✗", "no-data": "", "no-target": "·"}


def countdown(seconds: float | None) -> str:
    """Matches the inline script's countdown text."""
    if seconds is None:
        return DASH
    if seconds < 0:
        return "overdue by " + _clock_text(-seconds)
    return "breaches in " + _clock_text(seconds)


def ticket_link(row: Any) -> str:
    """The ticket page of a line: its ``url``, or the one its source and ticket id name."""
    url = getattr(row, "url", None)
    return url if isinstance(url, str) else ticket_url(row.source, row.ticket_id)


def _clock_text(seconds: float) -> str:
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s"


def round_text(cycle: int) -> str:
    """A resolution cycle in words: nothing for the first, "after reopening" for later ones."""
    if cycle <= 1:
        return ""
    return " after reopening" if cycle == 2 else f" after reopening {cycle - 1} times"


def plain_event(label: str) -> str:
    """A clock timeline entry without engine words ("new cycle")."""
    if label.startswith("new cycle: reopened to "):
        return (
            "reopened (status "
            + label.removeprefix("new cycle: reopened to ")
            + "): a new resolution clock starts"
        )
    return label


class Pages:
    """Renders the pages: each page in one labelled time zone (``zone``, else the default
    ``display_tz``), with the demo's banner when there is one."""

    def __init__(
        self,
        *,
        display_tz: tzinfo,
        refresh_seconds: float,
        logout: bool,
        banner: str | None = None,
    ) -> None:
        self.display_tz = display_tz
        self.env = Environment(
            loader=PackageLoader("sla_connector.web", "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        static = files("sla_connector.web") / "static"
        # The only inline style and script of every page; the CSP allows them by hash.
        self.css = static.joinpath("dashboard.css").read_text(encoding="utf-8")
        self.js = static.joinpath("dashboard.js").read_text(encoding="utf-8")
        self.env.globals.update(
            css=Markup(self.css),
            js=Markup(self.js),
            refresh=refresh_seconds,
            tz_name=zone_name(display_tz),
            logout=logout,
            columns=COLUMNS,
            kinds=KIND_LABELS,
            combined=COMBINED_METRIC,
            combined_definition=COMBINED_METRIC_DEFINITION,
            state_text=STATE_TEXT,
            reason_text=REASON_TEXT,
            status_icon=STATUS_ICON,
            banner=banner,
            round_text=round_text,
            psa_url=fill_ticket_url,
        )
        self.env.filters.update(
            when=self.when,
            day=self.day,
            iso=lambda value: "" if value is None else format_instant(value),
            duration=lambda value: DASH if value is None else format_seconds(value),
            pct=lambda value: DASH if value is None else f"{value * 100:.0f}%",
            countdown=countdown,
            target=target_text,
            link=ticket_link,
            plain=plain_event,
        )

    @pass_context
    def when(self, context: Context, value: datetime | None) -> str:
        """Display time in the page's zone; the script formats the same way."""
        if value is None:
            return DASH
        zone = context.get("zone") or self.display_tz
        return value.astimezone(zone).strftime("%a %d %b %H:%M")

    @pass_context
    def day(self, context: Context, value: datetime | None) -> str:
        """A date in the page's zone: ``Mon 07 Dec``."""
        if value is None:
            return DASH
        zone = context.get("zone") or self.display_tz
        return value.astimezone(zone).strftime("%a %d %b")

    def _render(self, name: str, zone: tzinfo | None = None, **context: Any) -> str:
        if zone is not None:
            context.update(zone=zone, tz_name=zone_name(zone))
        return self.env.get_template(name).render(**context)

    def zone_of(self, name: str) -> tzinfo:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return self.display_tz

    def trend_chart(
        self, points: Sequence[TrendPoint], zone: tzinfo, target: float | None, title: str
    ) -> Markup:
        """The weekly adherence chart (server-side SVG) of a trend."""
        labels = [point.start.astimezone(zone).strftime("%d %b") for point in points]
        series = [
            Series(KIND_LABELS[kind], [point.adherence[kind].adherence for point in points])
            for kind in ("response", "resolution", "ticket")
        ]
        chart = line_chart(
            labels,
            series,
            target=target,
            title=title,
            description=(
                f"Response, resolution and {COMBINED_METRIC.lower()} adherence per calendar "
                "week (Monday to Sunday), all tiers together; the table gives the same figures."
            ),
            ident="trend",
        )
        return Markup(chart)

    def overview(self, view: Overview) -> str:
        zone = self.zone_of(view.zone)
        chart = self.trend_chart(
            view.trend, zone, None, f"All clients: weekly adherence, last {len(view.trend)} weeks"
        )
        return self._render(
            "overview.html.j2", zone, view=view, api="/api/overview", now=view.now, chart=chart
        )

    def client(self, view: ClientView, api: str) -> str:
        zone = self.zone_of(view.zone)
        chart = self.trend_chart(
            view.trend,
            zone,
            view.client.target,
            f"{view.client.name}: weekly adherence, last {len(view.trend)} weeks",
        )
        return self._render("client.html.j2", zone, view=view, api=api, now=view.now, chart=chart)

    def ticket(self, view: TicketView) -> str:
        return self._render(
            "ticket.html.j2", self.zone_of(view.zone), view=view, api="", now=view.now
        )

    def render_page(self, name: str, zone: tzinfo | None = None, **context: Any) -> str:
        """Any other page of the package's templates (the client portal's)."""
        return self._render(name, zone, **context)

    def login(self, target: str, failed: bool) -> str:
        return self._render(
            "login.html.j2", target=target, failed=failed, api="", now=None, logout=False
        )

    def not_found(self, what: str) -> str:
        return self._render("not_found.html.j2", what=what, api="", now=None)
