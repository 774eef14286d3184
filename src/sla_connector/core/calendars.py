"""Business calendars: when the service desk is open, and business-time arithmetic over it.

Business time is the real elapsed time (UTC seconds) of the instants at which the calendar
is open (DESIGN section 4, SEMANTICS S01-S05). Open intervals are precomputed per year as
UTC microsecond ranges with a running total of business time, so ``add`` and ``elapsed``
are two binary searches, never a walk minute by minute. A local wall-clock window is mapped
to UTC piece by piece across the zone's offset changes, so a window inside a DST gap counts
nothing and a window inside a repeated hour counts it twice.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sla_connector.core.errors import ConfigError

__all__ = ["DAY_NAMES", "BusinessCalendar", "parse_day_spec", "parse_interval"]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_US = 1_000_000
_DAY_US = 86400 * _US
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_ONE_US = timedelta(microseconds=1)
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_MAX_SEARCH_YEARS = 30
# Offsets are sampled this often when looking for DST transitions; no zone changes offset
# twice within it.
_OFFSET_PROBE_SECONDS = 6 * 3600


def to_us(instant: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime; naive input is an error."""
    try:
        # One subtraction and one floor division: this sits on every hot path.
        return (instant - _EPOCH) // _ONE_US
    except TypeError:
        raise ValueError(f"naive datetime {instant.isoformat()} has no time zone") from None


def from_us(micros: int) -> datetime:
    """The aware UTC datetime of a microsecond timestamp."""
    return _EPOCH + _ONE_US * micros  # twice as fast as timedelta(microseconds=...)


def _td_us(delta: timedelta) -> int:
    return delta // _ONE_US


def _parse_clock(text: str, *, allow_24: bool) -> int:
    match = _TIME_RE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a time of day (HH:MM or HH:MM:SS)")
    hours, minutes, seconds = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    if minutes > 59 or seconds > 59:
        raise ValueError(f"{text!r} is not a valid time of day")
    total = hours * 3600 + minutes * 60 + seconds
    if hours > 24 or (hours == 24 and total != 86400) or (total == 86400 and not allow_24):
        raise ValueError(
            f"{text!r} is not a valid time of day (hours run 00-23, or 24:00 as an end)"
        )
    return total


def parse_interval(text: str) -> tuple[int, int]:
    """``"08:00-18:00"`` as (start, end) seconds after local midnight; end may be 24:00."""
    parts = str(text).split("-")
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not an interval; write HH:MM-HH:MM")
    start = _parse_clock(parts[0], allow_24=False)
    end = _parse_clock(parts[1], allow_24=True)
    if end <= start:
        raise ValueError(
            f"{text!r} ends before it starts or crosses midnight; "
            "write two intervals, one ending at 24:00 and one starting at 00:00"
        )
    return start, end


def parse_day_spec(spec: str) -> list[int]:
    """Weekday numbers (Monday 0) of ``mon``, ``mon-fri``, ``sat,sun`` or ``daily``."""
    days: list[int] = []
    for part in str(spec).lower().replace(" ", "").split(","):
        if part in ("daily", "all", "mon-sun"):
            days.extend(range(7))
            continue
        ends = part.split("-")
        if len(ends) > 2 or any(end not in DAY_NAMES for end in ends):
            raise ValueError(f"{spec!r} is not a day or day range; use mon..sun, e.g. mon-fri")
        first, last = DAY_NAMES.index(ends[0]), DAY_NAMES.index(ends[-1])
        days.extend((first + step) % 7 for step in range((last - first) % 7 + 1))
    return sorted(set(days))


def _union(intervals: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[list[int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((start, end) for start, end in merged)


@dataclass(frozen=True, slots=True)
class _Table:
    """Open intervals over [lo_us, hi_us) with cumulative business time at each start."""

    lo_us: int
    hi_us: int
    first_year: int
    last_year: int
    starts: list[int]
    ends: list[int]
    cum: list[int]
    cum_end: list[int]
    open_days: list[int]
    day_bounds: dict[int, tuple[int, int]]


class BusinessCalendar:
    """A weekly schedule in an IANA time zone with holidays, or always open.

    All methods take aware datetimes and return aware UTC datetimes; naive input raises
    ``ValueError``.
    """

    def __init__(
        self,
        *,
        timezone: str = "UTC",
        hours: Mapping[int, Sequence[tuple[int, int]]] | None = None,
        holidays_country: str | None = None,
        holidays_subdivision: str | None = None,
        extra_closed: Iterable[date] = (),
        removed_holidays: Iterable[date] = (),
        always_open: bool = False,
        name: str = "",
    ) -> None:
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError("timezone", f"unknown time zone {timezone!r}") from exc
        self.name = name
        self.always_open = always_open
        week: dict[int, tuple[tuple[int, int], ...]]
        if always_open:
            week = dict.fromkeys(range(7), ((0, 86400),))
        else:
            week = {day: _union((hours or {}).get(day, ())) for day in range(7)}
        self.week = week
        if not any(week.values()):
            raise ConfigError("hours", "the calendar is never open; give at least one interval")
        self._holidays_country = None if always_open else holidays_country
        self._holidays_subdivision = holidays_subdivision
        self._extra_closed = frozenset(() if always_open else extra_closed)
        self._removed = frozenset(removed_holidays)
        if self._holidays_country:
            self._public_holidays(2026)  # fail at construction on a bad country/subdivision
        self._table: _Table | None = None

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_config(cls, mapping: Mapping[str, Any], name: str = "") -> BusinessCalendar:
        """Build from one ``calendars.<name>`` entry of the YAML policy.

        Raises ``ConfigError`` whose path is relative to the entry (``hours.mon-fri[0]``).
        """
        allowed = {"timezone", "hours", "holidays", "always_open"}
        for key in mapping:
            if key not in allowed:
                raise ConfigError(str(key), f"unknown key; expected one of {sorted(allowed)}")
        always_open = bool(mapping.get("always_open", False))
        hours: dict[int, list[tuple[int, int]]] = {}
        raw_hours = mapping.get("hours") or {}
        if not isinstance(raw_hours, Mapping):
            raise ConfigError("hours", "must map days (mon, mon-fri, ...) to lists of intervals")
        for spec, intervals in raw_hours.items():
            try:
                days = parse_day_spec(spec)
            except ValueError as exc:
                raise ConfigError(f"hours.{spec}", str(exc)) from exc
            entries = [intervals] if isinstance(intervals, str) else intervals or ()
            for index, text in enumerate(entries):
                try:
                    interval = parse_interval(text)
                except ValueError as exc:
                    raise ConfigError(f"hours.{spec}[{index}]", str(exc)) from exc
                for day in days:
                    hours.setdefault(day, []).append(interval)
        if not always_open and not raw_hours:
            raise ConfigError("hours", "required unless always_open: true")
        raw_holidays = mapping.get("holidays") or {}
        if not isinstance(raw_holidays, Mapping):
            raise ConfigError(
                "holidays", "must be a mapping with country, subdivision, extra, remove"
            )
        extra = _parse_dates(raw_holidays.get("extra") or (), "holidays.extra")
        removed = _parse_dates(raw_holidays.get("remove") or (), "holidays.remove")
        country = raw_holidays.get("country")
        subdivision = raw_holidays.get("subdivision")
        try:
            return cls(
                timezone=str(mapping.get("timezone") or "UTC"),
                hours=hours,
                holidays_country=str(country) if country else None,
                holidays_subdivision=str(subdivision) if subdivision else None,
                extra_closed=extra,
                removed_holidays=removed,
                always_open=always_open,
                name=name,
            )
        except ConfigError:
            raise
        except NotImplementedError as exc:
            raise ConfigError("holidays", f"unknown holiday country or subdivision: {exc}") from exc

    # -- public arithmetic --------------------------------------------------------------

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant at which ``duration`` of business time from ``start`` is used up."""
        return from_us(self.add_us(to_us(start), _td_us(duration)))

    def add_days(self, start: datetime, days: int) -> datetime:
        """The business-day rule: next open instant, same wall time ``days`` open days later."""
        return from_us(self.add_days_us(to_us(start), days))

    def elapsed(
        self,
        start: datetime,
        end: datetime,
        pauses: Iterable[tuple[datetime, datetime]] = (),
    ) -> timedelta:
        """Business time in [start, end] minus the business time of the pauses within it."""
        try:
            # Inlined to_us: three conversions per call dominate small elapsed queries.
            start_us = (start - _EPOCH) // _ONE_US
            end_us = (end - _EPOCH) // _ONE_US
            pause_us = [((a - _EPOCH) // _ONE_US, (b - _EPOCH) // _ONE_US) for a, b in pauses]
        except TypeError:
            raise ValueError("elapsed needs aware datetimes; got a naive one") from None
        return _ONE_US * self.elapsed_us(start_us, end_us, pause_us)

    def next_open(self, instant: datetime) -> datetime:
        """``instant`` itself when open, else the start of the next open interval."""
        return from_us(self.next_open_us(to_us(instant)))

    def is_open(self, instant: datetime) -> bool:
        """Whether the calendar is open at ``instant`` (intervals are half-open)."""
        micros = to_us(instant)
        table = self._covering(micros)
        index = bisect_right(table.starts, micros) - 1
        return index >= 0 and micros < table.ends[index]

    def next_business_day(self, instant: datetime) -> datetime:
        """The first open instant on a later local date than ``instant`` (SEMANTICS S19)."""
        return from_us(self.next_business_day_us(to_us(instant)))

    def local_date(self, instant: datetime) -> date:
        """The calendar's local date of an instant."""
        return instant.astimezone(self.tz).date()

    # -- microsecond core (used by the clock engine without datetime round trips) ------------

    def business_us(self, micros: int) -> int:
        """Business microseconds accumulated before ``micros`` (an arbitrary origin)."""
        return self._business_in(self._covering(micros), micros)

    def add_us(self, start: int, duration: int) -> int:
        """``add`` on microsecond timestamps."""
        if duration < 0:
            raise ValueError("a business duration cannot be negative")
        table = self._covering(start)
        for _ in range(_MAX_SEARCH_YEARS):
            target = self._business_in(table, start) + duration
            index = bisect_left(table.cum_end, target)
            if index < len(table.cum_end):
                return max(start, table.starts[index] + (target - table.cum[index]))
            table = self._extend_forward(table)
        raise ValueError(f"calendar {self.name!r} has no open time in {_MAX_SEARCH_YEARS} years")

    def elapsed_us(self, start: int, end: int, pauses: Iterable[tuple[int, int]] = ()) -> int:
        """``elapsed`` on microsecond timestamps.

        Pauses are mapped to business-time coordinates (a non-decreasing map) and their
        union measured there in one sweep, so overlapping pauses are subtracted once.
        ``_business_in`` is inlined over local names: this is the audit's hottest loop.
        """
        if end <= start:
            return 0
        table = self._table
        if table is None or start < table.lo_us or end >= table.hi_us:
            self._covering(start)
            table = self._covering(end)
        starts, ends, cum, cum_end = table.starts, table.ends, table.cum, table.cum_end
        index = bisect_right(starts, start) - 1
        if index < 0:
            reach = 0
        else:
            reach = cum[index] + start - starts[index] if start < ends[index] else cum_end[index]
        index = bisect_right(starts, end) - 1
        if index < 0:
            stop = 0
        else:
            stop = cum[index] + end - starts[index] if end < ends[index] else cum_end[index]
        total = stop - reach
        if not pauses:
            return total
        paused = 0
        for low_us, high_us in sorted(pauses):
            if high_us <= start or low_us >= end:
                continue
            low = reach
            if low_us > start:
                index = bisect_right(starts, low_us) - 1
                if index >= 0:
                    low = max(
                        low,
                        (
                            cum[index] + low_us - starts[index]
                            if low_us < ends[index]
                            else cum_end[index]
                        ),
                    )
            high = stop
            if high_us < end:
                index = bisect_right(starts, high_us) - 1
                high = 0
                if index >= 0:
                    high = (
                        cum[index] + high_us - starts[index]
                        if high_us < ends[index]
                        else cum_end[index]
                    )
            if high > low:
                paused += high - low
                reach = high
        return total - paused

    def next_open_us(self, micros: int) -> int:
        """``next_open`` on microsecond timestamps."""
        table = self._covering(micros)
        for _ in range(_MAX_SEARCH_YEARS):
            index = bisect_right(table.starts, micros) - 1
            if index >= 0 and micros < table.ends[index]:
                return micros
            if index + 1 < len(table.starts):
                return table.starts[index + 1]
            table = self._extend_forward(table)
        raise ValueError(f"calendar {self.name!r} has no open time in {_MAX_SEARCH_YEARS} years")

    def add_days_us(self, start: int, days: int) -> int:
        """The business-day rule of DESIGN section 4 on microsecond timestamps."""
        if days < 0:
            raise ValueError("business days cannot be negative")
        opened = self.next_open_us(start)
        local = from_us(opened).astimezone(self.tz)
        table = self._covering(opened)
        origin = local.date().toordinal()
        for _ in range(_MAX_SEARCH_YEARS):
            index = bisect_right(table.open_days, origin) + days - 1
            if days == 0:
                return opened
            if index < len(table.open_days):
                break
            table = self._extend_forward(table)
        else:
            raise ValueError(f"calendar {self.name!r} has too few open days")
        target_day = table.open_days[index]
        first, last = table.day_bounds[target_day]
        wall = datetime.combine(date.fromordinal(target_day), local.time().replace(fold=0), self.tz)
        candidate = to_us(wall)
        if candidate >= last:
            return last
        return self.next_open_us(max(candidate, first))

    def next_business_day_us(self, micros: int) -> int:
        """``next_business_day`` on microsecond timestamps."""
        today = from_us(micros).astimezone(self.tz).date()
        table = self._covering(micros)
        for _ in range(_MAX_SEARCH_YEARS):
            index = bisect_right(table.open_days, today.toordinal())
            if index < len(table.open_days):
                return table.day_bounds[table.open_days[index]][0]
            table = self._extend_forward(table)
        raise ValueError(f"calendar {self.name!r} has no open day within {_MAX_SEARCH_YEARS} years")

    # -- tables -------------------------------------------------------------------------

    @staticmethod
    def _business_in(table: _Table, micros: int) -> int:
        index = bisect_right(table.starts, micros) - 1
        if index < 0:
            return 0
        if micros < table.ends[index]:
            return table.cum[index] + micros - table.starts[index]
        return table.cum_end[index]

    def _covering(self, micros: int) -> _Table:
        table = self._table
        if table is not None and table.lo_us <= micros < table.hi_us:
            return table
        year = from_us(micros).year
        if table is None:
            first, last = year - 1, year + 1
        else:
            first, last = min(table.first_year, year - 1), max(table.last_year, year + 1)
        self._table = self._build(first, last)
        return self._table

    def _extend_forward(self, table: _Table) -> _Table:
        self._table = self._build(table.first_year, table.last_year + 2)
        return self._table

    def _public_holidays(self, year: int) -> set[date]:
        import holidays  # noqa: PLC0415 - slow to import, needed only with a country; no I/O

        if not self._holidays_country:
            return set()
        found = holidays.country_holidays(
            self._holidays_country, subdiv=self._holidays_subdivision, years=year
        )
        return set(found.keys())

    def closed_dates(self, first: date, last: date) -> list[date]:
        """The holidays (public ones of the country, plus extra closures, less removed ones)
        from ``first`` to ``last`` inclusive, in order: what a report's methodology lists."""
        found = self._closed_dates(first.year, last.year)
        return sorted(day for day in found if first <= day <= last)

    @property
    def holidays_source(self) -> str | None:
        """``GB-ENG`` style: the country (and subdivision) whose public holidays close it."""
        if not self._holidays_country:
            return None
        sub = self._holidays_subdivision
        return f"{self._holidays_country}-{sub}" if sub else self._holidays_country

    def _closed_dates(self, first_year: int, last_year: int) -> set[date]:
        closed: set[date] = set()
        for year in range(first_year, last_year + 1):
            closed |= self._public_holidays(year)
        return (closed - self._removed) | self._extra_closed

    def _offset_segments(self, lo: int, hi: int) -> tuple[list[int], list[int]]:
        """UTC seconds at which the zone's offset changes in [lo, hi], with each offset."""

        def offset(second: int) -> int:
            moment = datetime.fromtimestamp(second, UTC).astimezone(self.tz)
            delta = moment.utcoffset()
            return int(delta.total_seconds()) if delta is not None else 0

        starts, offsets = [lo], [offset(lo)]
        probe = lo
        while probe < hi:
            following = min(probe + _OFFSET_PROBE_SECONDS, hi)
            if offset(following) != offsets[-1]:
                low, high = probe, following  # offset(low) is the old one, offset(high) the new
                while high - low > 1:
                    mid = (low + high) // 2
                    if offset(mid) == offsets[-1]:
                        low = mid
                    else:
                        high = mid
                starts.append(high)
                offsets.append(offset(high))
            probe = following
        return starts, offsets

    def _build(self, first_year: int, last_year: int) -> _Table:
        first_day = date(first_year, 1, 1)
        last_day = date(last_year, 12, 31)
        lo_wall = (first_day.toordinal() - _EPOCH_ORDINAL) * 86400
        hi_wall = (last_day.toordinal() + 1 - _EPOCH_ORDINAL) * 86400
        seg_starts, seg_offsets = self._offset_segments(lo_wall - 2 * 86400, hi_wall + 2 * 86400)
        seg_starts.append(hi_wall + 3 * 86400)
        closed = self._closed_dates(first_year, last_year)
        pieces: list[tuple[int, int]] = []
        day_bounds: dict[int, tuple[int, int]] = {}
        ordinal = first_day.toordinal()
        while ordinal <= last_day.toordinal():
            day = date.fromordinal(ordinal)
            windows = self.week[day.weekday()]
            if windows and day not in closed:
                wall_midnight = (ordinal - _EPOCH_ORDINAL) * 86400
                day_pieces: list[tuple[int, int]] = []
                for start, end in windows:
                    day_pieces.extend(
                        self._wall_to_utc(
                            wall_midnight + start, wall_midnight + end, seg_starts, seg_offsets
                        )
                    )
                if day_pieces:
                    pieces.extend(day_pieces)
                    day_bounds[ordinal] = (
                        min(a for a, _ in day_pieces) * _US,
                        max(b for _, b in day_pieces) * _US,
                    )
            ordinal += 1
        merged = _union(pieces)
        starts = [a * _US for a, _ in merged]
        ends = [b * _US for _, b in merged]
        cum: list[int] = []
        cum_end: list[int] = []
        running = 0
        for start, end in zip(starts, ends, strict=True):
            cum.append(running)
            running += end - start
            cum_end.append(running)
        lo_us = (lo_wall + 14 * 3600) * _US
        hi_us = (hi_wall - 14 * 3600) * _US
        return _Table(
            lo_us=lo_us,
            hi_us=hi_us,
            first_year=first_year,
            last_year=last_year,
            starts=starts,
            ends=ends,
            cum=cum,
            cum_end=cum_end,
            open_days=sorted(day_bounds),
            day_bounds=day_bounds,
        )

    @staticmethod
    def _wall_to_utc(
        wall_start: int, wall_end: int, seg_starts: list[int], seg_offsets: list[int]
    ) -> list[tuple[int, int]]:
        """The UTC pieces whose local wall-clock time lies in [wall_start, wall_end)."""
        pieces: list[tuple[int, int]] = []
        first = max(bisect_right(seg_starts, wall_start - 18 * 3600) - 1, 0)
        for index in range(first, len(seg_offsets)):
            seg_lo, seg_hi, offset = seg_starts[index], seg_starts[index + 1], seg_offsets[index]
            if seg_lo > wall_end + 18 * 3600:
                break
            lo = max(wall_start, seg_lo + offset)
            hi = min(wall_end, seg_hi + offset)
            if hi > lo:
                pieces.append((lo - offset, hi - offset))
        return pieces

    def __repr__(self) -> str:
        kind = "always open" if self.always_open else "business hours"
        return f"BusinessCalendar({self.name or self.tz.key!r}, {kind})"


def _parse_dates(values: Iterable[Any], path: str) -> list[date]:
    parsed: list[date] = []
    for index, value in enumerate(values):
        if isinstance(value, date) and not isinstance(value, datetime):
            parsed.append(value)
            continue
        try:
            parsed.append(date.fromisoformat(str(value)))
        except ValueError as exc:
            raise ConfigError(f"{path}[{index}]", f"{value!r} is not a date (YYYY-MM-DD)") from exc
    return parsed
