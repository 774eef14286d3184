"""Render a ``Report``: HTML email and plain text (Jinja2), JSON (the model) and CSV.

The templates live in ``reporting/templates`` (package data). The HTML is built for mail
clients, not browsers: table layout, inline CSS plus ``bgcolor``/``width`` attributes for
Outlook's Word engine, bars as table cells, no images, no scripts, and every colour doubled
by a word (meets / below) so colour is never the only signal.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from sla_connector.core.credits import format_money, format_percent
from sla_connector.core.ticket import format_instant
from sla_connector.core.vocabulary import ALL_CLOCKS_MET, ALL_CLOCKS_MET_DEFINITION
from sla_connector.reporting import formats
from sla_connector.reporting.chart import trend_svg
from sla_connector.reporting.chat import slack_message, teams_message
from sla_connector.reporting.model import Adherence, Report
from sla_connector.reporting.pack import PDF_APPENDIX_ROWS, PDF_REGISTER_ROWS, Pack, month_label
from sla_connector.reporting.pdf import render_pdf
from sla_connector.reporting.periods import Period

__all__ = [
    "AT_RISK_CSV_COLUMNS",
    "BREACH_CSV_COLUMNS",
    "ESCALATION_CSV_COLUMNS",
    "MAX_CLIENTS",
    "MAX_LISTED",
    "Attachment",
    "Rendered",
    "csv_attachments",
    "csv_name",
    "render_all",
    "render_csv",
    "render_html",
    "render_json",
    "render_pack_html",
    "render_pack_pdf",
    "render_text",
    "report_to_dict",
]

MAX_LISTED = 20
"""Rows listed per section in an email; the CSV export always has them all."""
MAX_CLIENTS = 20
"""Clients listed in the MSP email, worst first; the JSON export has them all. Together
these keep a large MSP's email under Gmail's 102 KB clipping threshold."""
BAR_PX = 120
GOOD, BAD, NEUTRAL, TRACK = "#15803d", "#b91c1c", "#6b7280", "#e5e7eb"

BREACH_CSV_COLUMNS = (
    "client",
    "source",
    "ticket_id",
    "subject",
    "tier",
    "clock",
    "cycle",
    "breached_at",
    "due_at",
    "still_open",
    "escalations",
    "escalations_fired",
    "max_lateness_seconds",
)
ESCALATION_CSV_COLUMNS = (
    "client",
    "source",
    "ticket_id",
    "tier",
    "step",
    "cycle",
    "to",
    "state",
    "due_at",
    "fired_at",
    "late",
    "lateness_seconds",
)
AT_RISK_CSV_COLUMNS = (
    "client",
    "source",
    "ticket_id",
    "subject",
    "tier",
    "clock",
    "used_percent",
    "due_at",
    "seconds_to_breach",
)
LISTS = ("breaches", "escalations", "at-risk")
"""The lists a report shows, each with a CSV of all its rows."""


def colour(cell: Adherence) -> str:
    if cell.meets_target is None:
        return NEUTRAL
    return GOOD if cell.meets_target else BAD


def bar_widths(rate: float | None) -> tuple[int, int]:
    """Pixel widths of the filled and empty cells of a bar (``BAR_PX`` in all)."""
    filled = 0 if rate is None else round(max(0.0, min(1.0, rate)) * BAR_PX)
    return filled, BAR_PX - filled


def money_text(amount: Decimal | None, currency: str | None) -> str:
    """An amount as a statement prints it; ``no fee set`` when the contract has none."""
    return "no fee set" if amount is None else format_money(amount, currency)


_ENV = Environment(
    loader=PackageLoader("sla_connector.reporting", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENV.filters.update(
    pct=formats.pct,
    trend=formats.trend,
    verdict=formats.verdict,
    colour=colour,
    duration=formats.duration,
    lateness=formats.lateness,
    compared=formats.compared,
    month_label=month_label,
    contract_duration=formats.contract_duration,
    money=money_text,
    percent=format_percent,
)
_ENV.globals.update(
    bar_widths=bar_widths,
    ALL_CLOCKS_MET=ALL_CLOCKS_MET,
    ALL_CLOCKS_MET_DEFINITION=ALL_CLOCKS_MET_DEFINITION,
    MAX_LISTED=MAX_LISTED,
    MAX_CLIENTS=MAX_CLIENTS,
    TRACK=TRACK,
    BAR_PX=BAR_PX,
)


def _context(report: Report) -> dict[str, Any]:
    return {
        "csv_name": csv_name,
        "r": report,
        "subject": formats.subject(report),
        "local": formats.local_formatter(report.timezone),
        "msp": report.client is None,
    }


def render_html(report: Report) -> str:
    """The HTML body of the report email."""
    return _ENV.get_template("report.html.j2").render(_context(report))


_UNIT = {"weekly": "week", "monthly": "month", "quarterly": "quarter"}


def render_pack_html(pack: Pack) -> str:
    """The evidence pack as one standalone HTML document (what the PDF is drawn from)."""
    report = pack.report
    zone = ZoneInfo(report.timezone)
    branding = pack.branding
    lines = [
        (ALL_CLOCKS_MET, [point.ticket for point in pack.trend], branding.primary_colour, 2.5),
        ("Response", [point.response for point in pack.trend], "#0891b2", 1.2),
        ("Resolution", [point.resolution for point in pack.trend], "#7c3aed", 1.2),
    ]
    chart = trend_svg(
        [point.label for point in pack.trend],
        lines,
        report.total.target,
        accent=branding.accent_colour,
        title=f"{ALL_CLOCKS_MET}, response and resolution over the last {len(pack.trend)} periods",
    )
    context = _context(report)
    context.update(
        p=pack,
        b=branding,
        a=pack.attestation,
        logo=branding.logo_uri(),
        chart=chart,
        methods={t.tier: t for t in pack.tiers},
        unit=_UNIT.get(report.kind, "period"),
        last_day=report.period.end - timedelta(days=1),
        day=lambda instant: instant.astimezone(zone).strftime("%a %d %b %Y"),
        empty_periods=sum(1 for point in pack.trend if point.ticket.rate is None),
        appendix_rows=PDF_APPENDIX_ROWS,
        register_rows=PDF_REGISTER_ROWS,
    )
    return _ENV.get_template("pack.html.j2").render(context)


def render_pack_pdf(pack: Pack) -> bytes:
    """The evidence pack as PDF (WeasyPrint); ``PdfUnavailable`` names a missing library."""
    return render_pdf(render_pack_html(pack))


def render_text(report: Report) -> str:
    """The plain-text alternative (also what ``--out`` writes as ``.txt``)."""
    return _ENV.get_template("report.txt.j2").render(_context(report))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, Decimal):
        return str(value)  # money and shares as exact decimal strings, never floats (S30)
    if isinstance(value, Period):
        return {
            "kind": value.kind,
            "start": format_instant(value.start),
            "end": format_instant(value.end),
            "label": value.label,
        }
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def report_to_dict(report: Report) -> dict[str, Any]:
    """The model as JSON-ready data; instants RFC 3339 UTC with ``Z`` (SEMANTICS S25)."""
    data: dict[str, Any] = _plain(report)
    data["kind"] = report.kind
    if data["evidence"] is not None:
        data["evidence"]["statement"] = report.evidence_statement
    return data


def render_json(report: Report) -> bytes:
    return orjson.dumps(report_to_dict(report), option=orjson.OPT_INDENT_2)


def _cell(text: str) -> str:
    # A spreadsheet runs a cell starting with = + - @ as a formula (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_name(report: Report, which: str = "breaches") -> str:
    """The file name of one list's CSV: ``sla-acme-weekly-2026-W42.csv`` for the breaches,
    ``...-escalations.csv`` and ``...-at-risk.csv`` for the others."""
    stem = f"sla-{report.scope}-{report.kind}-{report.period.slug}"
    return f"{stem}.csv" if which == "breaches" else f"{stem}-{which}.csv"


def _rows(report: Report, which: str) -> int:
    return len(
        {"breaches": report.breaches, "escalations": report.escalations}.get(which, report.at_risk)
    )


def render_list_csv(report: Report, which: str) -> str:
    """One list's CSV (``LISTS``)."""
    if which == "breaches":
        return render_csv(report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if which == "escalations":
        writer.writerow(ESCALATION_CSV_COLUMNS)
        for e in report.escalations:
            writer.writerow(
                [
                    e.client, e.source, _cell(e.ticket_id), e.tier, _cell(e.step), e.cycle,
                    _cell(report.who(e)), e.state, format_instant(e.due_at),
                    "" if e.fired_at is None else format_instant(e.fired_at),
                    "yes" if e.late else "no",
                    "" if e.lateness_seconds is None else f"{e.lateness_seconds:.0f}",
                ]
            )  # fmt: skip
        return out.getvalue()
    writer.writerow(AT_RISK_CSV_COLUMNS)
    for a in report.at_risk:
        writer.writerow(
            [
                a.client, a.source, _cell(a.ticket_id), _cell(a.subject), a.tier, a.clock,
                f"{a.used * 100:.0f}", format_instant(a.due_at), f"{a.seconds_to_breach:.0f}",
            ]
        )  # fmt: skip
    return out.getvalue()


def csv_attachments(report: Report) -> tuple[Attachment, ...]:
    """The CSV of each list the email cuts at ``MAX_LISTED`` rows ("and N more, in the
    attached CSV"), so every such line is true."""
    return tuple(
        Attachment(csv_name(report, which), "text/csv", render_list_csv(report, which).encode())
        for which in LISTS
        if _rows(report, which) > MAX_LISTED
    )


def render_csv(report: Report) -> str:
    """Every breach of the period, worst first, with its escalations summarised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BREACH_CSV_COLUMNS)
    for b in report.breaches:
        lateness = [e.lateness_seconds for e in b.escalations if e.lateness_seconds is not None]
        writer.writerow(
            [
                b.client,
                b.source,
                _cell(b.ticket_id),
                _cell(b.subject),
                b.tier,
                b.clock,
                b.cycle,
                format_instant(b.breached_at),
                "" if b.due_at is None else format_instant(b.due_at),
                "yes" if b.still_open else "no",
                _cell("; ".join(f"{e.step}->{report.who(e)}:{e.state}" for e in b.escalations)),
                sum(1 for e in b.escalations if e.fired_at is not None),
                "" if not lateness else f"{max(lateness):.0f}",
            ]
        )
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with the email: the evidence pack, or a CSV the body points to."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Rendered:
    """Every rendering of one report, computed once and shared by the delivery channels."""

    report: Report
    subject: str
    html: str
    text: str
    slack: dict[str, Any]
    teams: dict[str, Any]
    attachments: tuple[Attachment, ...] = ()


def render_all(report: Report, attachments: tuple[Attachment, ...] = ()) -> Rendered:
    """Render the report for every channel; the email carries ``attachments`` (the pack)
    and the CSV of every list it cuts short."""
    return Rendered(
        report=report,
        subject=formats.subject(report),
        html=render_html(report),
        text=render_text(report),
        slack=slack_message(report),
        teams=teams_message(report),
        attachments=(*attachments, *csv_attachments(report)),
    )
