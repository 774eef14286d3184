"""How report figures read to people, shared by every rendering (email, Slack, Teams).

One place decides that a rate is ``97.5%``, that no data reads ``n/a`` and that a change is
``▲ up 2.1 pts``, so the email and the chat messages always say the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sla_connector.core.durations import format_seconds
from sla_connector.core.readmodel import EscalationLine
from sla_connector.reporting.model import Adherence, Report

__all__ = [
    "duration",
    "lateness",
    "local_formatter",
    "pct",
    "subject",
    "trend",
    "verdict",
]


def pct(rate: float | None) -> str:
    """``97.5%``, or ``n/a`` when nothing was decided."""
    return "n/a" if rate is None else f"{rate * 100:.1f}%"


def trend(delta: float | None) -> str:
    """The change against the previous period in percentage points, in words and arrows."""
    if delta is None:
        return "no comparison"
    points = delta * 100
    if abs(points) < 0.05:
        return "= unchanged"
    return f"{'▲ up' if points > 0 else '▼ down'} {abs(points):.1f} pts"


def verdict(cell: Adherence) -> str:
    """``meets target`` / ``below target`` / ``no target`` / ``no data``."""
    if cell.rate is None:
        return "no data"
    if cell.meets_target is None:
        return "no target"
    return "meets target" if cell.meets_target else "below target"


def duration(seconds: float | None) -> str:
    """A business-time length (``1h 05m``), ``n/a`` when there is none."""
    return "n/a" if seconds is None else format_seconds(seconds)


def lateness(line: EscalationLine) -> str:
    """``on time``, ``late by 2h 05m``, or ``not written`` for a step not fired yet."""
    if line.lateness_seconds is None:
        return "not written"
    if not line.late:
        return "on time"
    return f"late by {format_seconds(line.lateness_seconds)}"


def local_formatter(timezone: str) -> Callable[[datetime | None], str]:
    """Format instants in the report's time zone: ``Mon 19 Oct 2026 14:05 BST``."""
    zone = ZoneInfo(timezone)

    def local(instant: datetime | None) -> str:
        if instant is None:
            return "n/a"
        return instant.astimezone(zone).strftime("%a %d %b %Y %H:%M %Z")

    return local


def subject(report: Report) -> str:
    """The email subject (and chat title): scope, kind, period and the headline figure."""
    return (
        f"SLA {report.kind} report: {report.scope_name}, {report.period.label} - "
        f"{pct(report.total.ticket.rate)} of tickets within SLA"
    )
