"""A client's contract as immutable values: versions in force on dates, objectives, credits.

A contract is a list of versions, each in force from a local date (``start``) to its last
day (``end``, inclusive; open-ended versions run until the next one starts). Which version
applies is decided in the contract's time zone (SEMANTICS S26): a ticket is measured by
the version in force on the local date it was created (its tier targets and pause
governance), a calendar month's objectives and credits by the version in force on the
month's first day. Months are ``(year, month)`` pairs of that zone; ``MonthIndex`` maps a
UTC microsecond instant to its local month with one binary search.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo

from sla_connector.core.calendars import to_us
from sla_connector.core.credits import CreditShape
from sla_connector.core.durations import Duration
from sla_connector.core.errors import ConfigError

__all__ = [
    "OBJECTIVE_CLOCKS",
    "Chronic",
    "Contract",
    "ContractTierTerms",
    "ContractVersion",
    "Month",
    "MonthIndex",
    "Objective",
    "ObjectiveClock",
    "month_text",
    "months_before",
    "months_between",
    "next_month",
    "overlaps",
]

ObjectiveClock = Literal["response", "resolution", "both"]
OBJECTIVE_CLOCKS: tuple[str, ...] = ("response", "resolution", "both")
Month = tuple[int, int]
"""A calendar month as (year, month) in the contract's time zone."""


def month_text(month: Month) -> str:
    """``YYYY-MM``."""
    return f"{month[0]:04d}-{month[1]:02d}"


def next_month(month: Month) -> Month:
    year, number = month
    return (year + 1, 1) if number == 12 else (year, number + 1)


def _previous_month(month: Month) -> Month:
    year, number = month
    return (year - 1, 12) if number == 1 else (year, number - 1)


@dataclass(frozen=True, slots=True)
class Objective:
    """A monthly target on one clock of one tier (``tier`` None: every tier).

    ``clock`` ``both`` is the ticket kind of S22 (response and every resolution cycle
    met). Below ``min_volume`` decided clocks in a month the objective is not assessed.
    """

    clock: ObjectiveClock
    target: Decimal
    tier: str | None = None
    min_volume: int = 1
    credit: CreditShape | None = None

    def __post_init__(self) -> None:
        if not Decimal(0) < self.target <= Decimal(1):
            raise ConfigError("target", f"{self.target} is not a share between 0% and 100%")
        if self.min_volume < 1:
            raise ConfigError("min_volume", "must be at least 1")

    @property
    def key(self) -> tuple[str, str]:
        """(tier or ``all``, clock): the objective's identity across versions (chronic)."""
        return (self.tier or "all", self.clock)


@dataclass(frozen=True, slots=True)
class Chronic:
    """Chronic failure: an objective missed in ``missed`` of the last ``months`` months."""

    missed: int
    months: int

    def __post_init__(self) -> None:
        if not 1 <= self.missed <= self.months:
            raise ConfigError("missed", f"must be between 1 and months ({self.months})")


@dataclass(frozen=True, slots=True)
class ContractTierTerms:
    """A contract's change to one tier; ``None`` keeps the policy's (or client's) value."""

    response: Duration | None = None
    resolution: Duration | None = None
    pause_allowed: bool | None = None
    max_pause: Duration | None = None


@dataclass(frozen=True, slots=True)
class ContractVersion:
    """The terms in force from ``start`` to ``end`` (local dates, both inclusive).

    ``cap`` is the monthly cap as a share of ``fee`` (100% when not set: a month's
    credit never exceeds its fee). ``pause_allowed`` / ``max_pause`` govern every tier's
    pauses for this client; ``tiers`` changes single tiers (and wins over both).
    """

    start: date
    end: date | None = None
    fee: Decimal | None = None
    cap: Decimal = Decimal(1)
    objectives: tuple[Objective, ...] = ()
    chronic: Chronic | None = None
    tiers: Mapping[str, ContractTierTerms] = field(default_factory=dict)
    pause_allowed: bool | None = None
    max_pause: Duration | None = None

    def __post_init__(self) -> None:
        if not Decimal(0) < self.cap <= Decimal(1):
            raise ConfigError("cap", f"{self.cap * 100}% is not a share between 0% and 100%")
        if self.end is not None and self.end < self.start:
            raise ConfigError("until", f"{self.end} is before start ({self.start})")


@dataclass(frozen=True)
class Contract:
    """A client's contract: its versions (sorted by start), currency and month time zone."""

    versions: tuple[ContractVersion, ...]
    timezone: str = "UTC"
    currency: str | None = None
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _starts: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _ends: tuple[int | None, ...] = field(init=False, repr=False, compare=False)
    _months: MonthIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = sorted(self.versions, key=lambda version: version.start)
        for previous, current in pairwise(ordered):
            if overlaps(previous, current):
                raise ConfigError(
                    "versions",
                    f"the version from {current.start} overlaps the one from {previous.start}",
                )
        zone = ZoneInfo(self.timezone)
        object.__setattr__(self, "versions", tuple(ordered))
        object.__setattr__(self, "_zone", zone)
        starts = tuple(_local_midnight_us(v.start, zone) for v in ordered)
        object.__setattr__(self, "_starts", starts)
        object.__setattr__(
            self,
            "_ends",
            tuple(
                None if v.end is None else _local_midnight_us(v.end + timedelta(days=1), zone)
                for v in ordered
            ),
        )
        object.__setattr__(self, "_months", MonthIndex(zone))

    @property
    def months(self) -> MonthIndex:
        """Local months of the contract's time zone."""
        return self._months

    def version_at(self, instant_us: int) -> int | None:
        """Index of the version in force at an instant (its local date), None if none."""
        index = bisect_right(self._starts, instant_us) - 1
        if index < 0:
            return None
        end = self._ends[index]
        return index if end is None or instant_us < end else None

    def version_for_month(self, month: Month) -> int | None:
        """The version in force on the month's first day (S26)."""
        return self.version_at(self._months.start_us(month))

    @classmethod
    def single(
        cls, version: ContractVersion, *, timezone: str = "UTC", currency: str | None = None
    ) -> Contract:
        """A contract of one version (``start=date.min``: always in force)."""
        return cls((version,), timezone=timezone, currency=currency)


def _local_midnight_us(day: date, zone: ZoneInfo) -> int:
    if day <= date(1, 1, 2):
        return -(2**62)
    return to_us(datetime(day.year, day.month, day.day, tzinfo=zone))


class MonthIndex:
    """Local calendar months of one time zone, as UTC microsecond boundaries.

    Boundaries are computed a year at a time on demand; ``month_of`` is a binary search.
    """

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._years: set[int] = set()
        self._bounds: list[int] = []
        self._labels: list[Month] = []

    def _ensure(self, year: int) -> None:
        low, high = max(year - 1, 2), min(year + 1, 9998)
        if self._years:  # keep the loaded years contiguous, so a search never skips one
            low, high = min(low, *self._years), max(high, *self._years)
        for wanted in range(low, high + 1):
            if wanted in self._years:
                continue
            self._years.add(wanted)
            for number in range(1, 13):
                self._bounds.append(to_us(datetime(wanted, number, 1, tzinfo=self.zone)))
                self._labels.append((wanted, number))
        pairs = sorted(zip(self._bounds, self._labels, strict=True))
        self._bounds = [bound for bound, _ in pairs]
        self._labels = [label for _, label in pairs]

    def month_of(self, instant_us: int) -> Month:
        """The local month containing an instant."""
        index = bisect_right(self._bounds, instant_us) - 1
        if index <= 0 or index >= len(self._bounds) - 1:
            year = 1970 + instant_us // 31_556_952_000_000
            self._ensure(int(year))
            index = bisect_right(self._bounds, instant_us) - 1
        return self._labels[index]

    def start_us(self, month: Month) -> int:
        """The first instant of a local month."""
        year, number = month
        return to_us(datetime(year, number, 1, tzinfo=self.zone))

    def end_us(self, month: Month) -> int:
        """The first instant after a local month."""
        return self.start_us(next_month(month))


def overlaps(earlier: ContractVersion, later: ContractVersion) -> bool:
    """Whether two versions (``earlier`` starting first or on the same day) share a date.

    An open-ended version runs until the next one starts, so it never overlaps it.
    """
    if earlier.start == later.start:
        return True
    return earlier.end is not None and earlier.end >= later.start


def months_between(first: Month, last: Month) -> list[Month]:
    """Every month from ``first`` to ``last`` inclusive (empty when ``last`` is earlier)."""
    months: list[Month] = []
    current = first
    while current <= last:
        months.append(current)
        current = next_month(current)
    return months


def months_before(month: Month, count: int) -> list[Month]:
    """``month`` and the ``count - 1`` months before it, oldest first."""
    months = [month]
    for _ in range(count - 1):
        months.append(_previous_month(months[-1]))
    return months[::-1]
