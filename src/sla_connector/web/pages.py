"""HTML rendering: the Jinja2 environment, its filters, and the live tables' column specs.

Column specs are declared once here: the templates render the first paint from them and
write each column's key and format into the table header, which the inline script reads
to rebuild rows from the JSON API without a reload. CSS and the script are inlined (no
build step, no extra requests, nothing external).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from sla_connector.core.durations import format_seconds
from sla_connector.core.ticket import format_instant
from sla_connector.web.charts import Series, line_chart
from sla_connector.web.figures import DASH, KIND_LABELS, target_text, ticket_url
from sla_connector.web.ticket_view import TicketView
from sla_connector.web.views import ClientView, Overview

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
}

STATE_TEXT = {
    "running": "▶ running",
    "paused": "‖ paused",
    "breached": "✗ breached",
    "met": "✓ met",
    "done": "✓ done",
    "would_fire": "◌ shadow (would fire)",
    "failed": "✗ failed",
    "firing": "… firing",
    "planned": "… planned",
    "cancelled": DASH + " cancelled",
    "fired": "✓ fired",
    "pending": "… pending",
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


class Pages:
    """Renders the pages with one display time zone and refresh period."""

    def __init__(self, *, display_tz: tzinfo, refresh_seconds: float, logout: bool) -> None:
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
            tz_name=getattr(display_tz, "key", None) or str(display_tz),
            logout=logout,
            columns=COLUMNS,
            kinds=KIND_LABELS,
            state_text=STATE_TEXT,
            status_icon=STATUS_ICON,
        )
        self.env.filters.update(
            when=self.when,
            iso=lambda value: "" if value is None else format_instant(value),
            duration=lambda value: DASH if value is None else format_seconds(value),
            pct=lambda value: DASH if value is None else f"{value * 100:.0f}%",
            countdown=countdown,
            target=target_text,
            link=ticket_link,
        )

    def when(self, value: datetime | None) -> str:
        """Display time in the dashboard's zone; the script formats the same way."""
        if value is None:
            return DASH
        return value.astimezone(self.display_tz).strftime("%a %d %b %H:%M")

    def _render(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(**context)

    def overview(self, view: Overview) -> str:
        return self._render("overview.html.j2", view=view, api="/api/overview", now=view.now)

    def client(self, view: ClientView, api: str) -> str:
        labels = [point.start.astimezone(self.display_tz).strftime("%d %b") for point in view.trend]
        series = [
            Series(KIND_LABELS[kind], [point.adherence[kind].adherence for point in view.trend])
            for kind in ("response", "resolution", "ticket")
        ]
        chart = line_chart(
            labels,
            series,
            target=view.client.target,
            title=f"{view.client.name}: weekly adherence, last {len(view.trend)} weeks",
            description=(
                "Response, resolution and combined adherence per week, all tiers together, "
                "against the contract target; the table below gives the same figures."
            ),
            ident="trend",
        )
        return self._render("client.html.j2", view=view, api=api, now=view.now, chart=Markup(chart))

    def ticket(self, view: TicketView) -> str:
        return self._render("ticket.html.j2", view=view, api="", now=view.now)

    def login(self, target: str, failed: bool) -> str:
        return self._render(
            "login.html.j2", target=target, failed=failed, api="", now=None, logout=False
        )

    def not_found(self, what: str) -> str:
        return self._render("not_found.html.j2", what=what, api="", now=None)
