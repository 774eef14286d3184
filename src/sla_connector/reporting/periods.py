"""Report periods: the previous Monday-to-Monday week, calendar month or calendar quarter in
a local time zone.

A period is half-open, [start, end), with both bounds at local midnight of the report's
time zone, so a week that contains a DST change lasts 167 or 169 hours (DESIGN section 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sla_connector.core.calendars import to_us

__all__ = [
    "KINDS",
    "Period",
    "PeriodKind",
    "monthly_period",
    "period_containing",
    "quarterly_period",
    "weekly_period",
]

PeriodKind = Literal["weekly", "monthly", "quarterly"]
KINDS: tuple[PeriodKind, ...] = ("weekly", "monthly", "quarterly")


@dataclass(frozen=True, slots=True)
class Period:
    """A report period [start, end) as aware local datetimes."""

    kind: PeriodKind
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("period bounds must be aware datetimes")
        if self.end <= self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    @property
    def start_us(self) -> int:
        return to_us(self.start)

    @property
    def end_us(self) -> int:
        return to_us(self.end)

    @property
    def label(self) -> str:
        """``Week 19 Oct - 25 Oct 2026``, ``October 2026`` or ``Q4 2026``."""
        if self.kind == "monthly":
            return self.start.strftime("%B %Y")
        if self.kind == "quarterly":
            return f"Q{self.quarter} {self.start.year}"
        last = (self.end - timedelta(days=1)).date()
        return f"Week {self.start.strftime('%d %b')} - {last.strftime('%d %b %Y')}"

    @property
    def slug(self) -> str:
        """File-name friendly: ``2026-W43``, ``2026-10`` or ``2026-Q4``."""
        if self.kind == "monthly":
            return self.start.strftime("%Y-%m")
        if self.kind == "quarterly":
            return f"{self.start.year}-Q{self.quarter}"
        year, week, _ = self.start.date().isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def quarter(self) -> int:
        """The calendar quarter (1-4) the period starts in."""
        return (self.start.month - 1) // 3 + 1

    @property
    def short_label(self) -> str:
        """A chart label: ``19 Oct``, ``Oct 2026`` or ``Q4 2026``."""
        if self.kind == "weekly":
            return self.start.strftime("%d %b")
        if self.kind == "monthly":
            return self.start.strftime("%b %Y")
        return self.label

    def previous(self) -> Period:
        """The period just before this one, of the same kind."""
        return period_containing(self.kind, self.start - timedelta(microseconds=1))


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    # Local midnight exists in every IANA zone used for business; fold=0 as zoneinfo does.
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def _zone_of(instant: datetime, timezone: str | ZoneInfo) -> tuple[ZoneInfo, date]:
    if instant.tzinfo is None:
        raise ValueError("report instants must be aware datetimes")
    zone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
    return zone, instant.astimezone(zone).date()


def period_containing(kind: PeriodKind, instant: datetime) -> Period:
    """The week (Monday-Monday) or month that contains ``instant``, in its own time zone."""
    zone = instant.tzinfo
    if not isinstance(zone, ZoneInfo):
        raise ValueError("period_containing needs an instant in a ZoneInfo time zone")
    today = instant.date()
    if kind == "weekly":
        monday = today - timedelta(days=today.weekday())
        return Period(kind, _midnight(monday, zone), _midnight(monday + timedelta(days=7), zone))
    if kind == "quarterly":
        first = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        following = (first + timedelta(days=95)).replace(day=1)
        return Period(kind, _midnight(first, zone), _midnight(following, zone))
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(kind, _midnight(first, zone), _midnight(following, zone))


def weekly_period(instant: datetime, timezone: str | ZoneInfo) -> Period:
    """The last complete Monday-to-Monday week before the week of ``instant``."""
    zone, today = _zone_of(instant, timezone)
    this_monday = today - timedelta(days=today.weekday())
    return period_containing("weekly", _midnight(this_monday - timedelta(days=7), zone))


def monthly_period(instant: datetime, timezone: str | ZoneInfo) -> Period:
    """The last complete calendar month before the month of ``instant``."""
    zone, today = _zone_of(instant, timezone)
    last_month = today.replace(day=1) - timedelta(days=1)
    return period_containing("monthly", _midnight(last_month, zone))


def quarterly_period(instant: datetime, timezone: str | ZoneInfo) -> Period:
    """The last complete calendar quarter before the quarter of ``instant``."""
    zone, today = _zone_of(instant, timezone)
    quarter_start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    return period_containing("quarterly", _midnight(quarter_start - timedelta(days=1), zone))
