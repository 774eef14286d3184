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
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from sla_connector.core.ticket import format_instant
from sla_connector.reporting import formats
from sla_connector.reporting.chat import slack_message, teams_message
from sla_connector.reporting.model import Adherence, Report
from sla_connector.reporting.periods import Period

__all__ = [
    "BREACH_CSV_COLUMNS",
    "MAX_CLIENTS",
    "MAX_LISTED",
    "Rendered",
    "render_all",
    "render_csv",
    "render_html",
    "render_json",
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


def colour(cell: Adherence) -> str:
    if cell.meets_target is None:
        return NEUTRAL
    return GOOD if cell.meets_target else BAD


def bar_widths(rate: float | None) -> tuple[int, int]:
    """Pixel widths of the filled and empty cells of a bar (``BAR_PX`` in all)."""
    filled = 0 if rate is None else round(max(0.0, min(1.0, rate)) * BAR_PX)
    return filled, BAR_PX - filled


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
)
_ENV.globals.update(
    bar_widths=bar_widths,
    MAX_LISTED=MAX_LISTED,
    MAX_CLIENTS=MAX_CLIENTS,
    TRACK=TRACK,
    BAR_PX=BAR_PX,
)


def _context(report: Report) -> dict[str, Any]:
    return {
        "r": report,
        "subject": formats.subject(report),
        "local": formats.local_formatter(report.timezone),
        "msp": report.client is None,
    }


def render_html(report: Report) -> str:
    """The HTML body of the report email."""
    return _ENV.get_template("report.html.j2").render(_context(report))


def render_text(report: Report) -> str:
    """The plain-text alternative (also what ``--out`` writes as ``.txt``)."""
    return _ENV.get_template("report.txt.j2").render(_context(report))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_instant(value)
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


def render_csv(report: Report) -> str:
    """Every breach of the period, one row each, with its escalations summarised."""
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
                _cell("; ".join(f"{e.step}->{e.recipient}:{e.state}" for e in b.escalations)),
                sum(1 for e in b.escalations if e.fired_at is not None),
                "" if not lateness else f"{max(lateness):.0f}",
            ]
        )
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Rendered:
    """Every rendering of one report, computed once and shared by the delivery channels."""

    report: Report
    subject: str
    html: str
    text: str
    slack: dict[str, Any]
    teams: dict[str, Any]


def render_all(report: Report) -> Rendered:
    """Render the report for every channel."""
    return Rendered(
        report=report,
        subject=formats.subject(report),
        html=render_html(report),
        text=render_text(report),
        slack=slack_message(report),
        teams=teams_message(report),
    )
