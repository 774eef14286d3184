"""How report figures read to people, shared by every rendering (email, Slack, Teams).

One place decides that a rate is ``97.5%``, that nothing decided reads ``no clocks
decided`` (never ``n/a``), that a change is ``▲ up 2.1 pts`` and that a first period says
``no earlier week to compare``, so the email, the pack and the chat messages always say
the same thing. Durations a contract states read as it states them (``3 business days``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sla_connector.core.durations import BusinessDays, Duration, format_seconds
from sla_connector.core.readmodel import EscalationLine
from sla_connector.core.vocabulary import ALL_CLOCKS_MET
from sla_connector.reporting.model import Adherence, Report

__all__ = [
    "compared",
    "contract_duration",
    "duration",
    "lateness",
    "local_formatter",
    "pct",
    "subject",
    "trend",
    "verdict",
]


def pct(rate: float | None) -> str:
    """``97.5%``, or ``no clocks decided`` when nothing was."""
    return "no clocks decided" if rate is None else f"{rate * 100:.1f}%"


def trend(delta: float | None) -> str:
    """The change against the previous period in percentage points, in words and arrows."""
    if delta is None:
        return "nothing to compare"
    points = delta * 100
    if abs(points) < 0.05:
        return "= unchanged"
    return f"{'▲ up' if points > 0 else '▼ down'} {abs(points):.1f} pts"


def verdict(cell: Adherence) -> str:
    """``meets target`` / ``below target`` / ``no contract target set`` / ``nothing decided``."""
    if cell.rate is None:
        return "nothing decided"
    if cell.meets_target is None:
        return "no contract target set"
    return "meets target" if cell.meets_target else "below target"


def duration(seconds: float | None) -> str:
    """A business-time length (``1h 05m``), ``none stopped`` when there is none."""
    return "none stopped" if seconds is None else format_seconds(seconds)


_UNITS = {"weekly": "week", "monthly": "month", "quarterly": "quarter"}


def compared(cell: Adherence, kind: str) -> str:
    """The change against the period before, said in a sentence when there is none."""
    unit = _UNITS.get(kind, "period")
    if cell.rate is None:
        return f"no clocks decided this {unit}"
    if cell.previous_rate is None:
        return f"no earlier {unit} to compare"
    return f"{trend(cell.trend)} on the {unit} before ({pct(cell.previous_rate)})"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def contract_duration(value: Duration) -> str:
    """A target as the contract states it: ``3 business days``, ``4 business hours``,
    ``1 business hour 30 minutes``, ``15 minutes`` (business time of the tier's calendar)."""
    if isinstance(value, BusinessDays):
        return _plural(value.days, "business day")
    total = int(value.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        _plural(n, w)
        for n, w in ((days, "day"), (hours, "hour"), (minutes, "minute"), (seconds, "second"))
        if n
    ]
    return " ".join(parts) if parts else "0 minutes"


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
            return "not set"
        return instant.astimezone(zone).strftime("%a %d %b %Y %H:%M %Z")

    return local


def subject(report: Report) -> str:
    """The email subject (and chat title): scope, kind, period and the headline figure."""
    return (
        f"SLA {report.kind} report: {report.scope_name}, {report.period.label} - "
        f"{ALL_CLOCKS_MET} {pct(report.total.ticket.rate)}"
    )
