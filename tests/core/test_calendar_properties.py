"""Hypothesis properties of business-time arithmetic over 2025-2028, DST and holidays included.

``add`` and ``elapsed`` are inverse, monotonic and additive, ``add`` returns the earliest
instant (S02), and nothing depends on the zone the input instants are written in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla_connector.core.calendars import BusinessCalendar

CALENDARS = {
    "london-gb": BusinessCalendar.from_config(
        {
            "timezone": "Europe/London",
            "hours": {"mon-fri": ["08:00-18:00"], "sat": ["09:00-13:00"]},
            "holidays": {"country": "GB", "subdivision": "ENG", "extra": ["2026-12-24"]},
        }
    ),
    "new-york-us": BusinessCalendar.from_config(
        {
            "timezone": "America/New_York",
            "hours": {"mon-fri": ["07:00-12:00", "12:30-19:00"], "sun": ["01:00-03:00"]},
            "holidays": {"country": "US"},
        }
    ),
}
ZONES = [
    ZoneInfo(key)
    for key in (
        "UTC",
        "Europe/London",
        "America/New_York",
        "Asia/Kolkata",
        "Pacific/Chatham",
        "America/St_Johns",
    )
]
FIRST = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_US = (datetime(2029, 1, 1, tzinfo=UTC) - FIRST) // timedelta(microseconds=1)
MAX_DURATION_US = 30 * 86400 * 1_000_000
ONE_US = timedelta(microseconds=1)

PROPERTY = settings(max_examples=200, deadline=None)

# Whole minutes half the time: they hit openings, closings and DST edges exactly.
instants = st.one_of(
    st.integers(0, SPAN_US // 60_000_000).map(lambda m: FIRST + timedelta(minutes=m)),
    st.integers(0, SPAN_US).map(lambda us: FIRST + timedelta(microseconds=us)),
)
durations = st.one_of(
    st.integers(0, MAX_DURATION_US // 60_000_000).map(lambda m: timedelta(minutes=m)),
    st.integers(0, MAX_DURATION_US).map(lambda us: timedelta(microseconds=us)),
)
calendars = pytest.mark.parametrize("name", sorted(CALENDARS))


@calendars
@PROPERTY
@given(start=instants, duration=durations)
def test_elapsed_to_add_is_the_duration(name: str, start: datetime, duration: timedelta) -> None:
    calendar = CALENDARS[name]
    assert calendar.elapsed(start, calendar.add(start, duration)) == duration


@calendars
@PROPERTY
@given(start=instants, duration=durations.filter(lambda d: d > timedelta(0)))
def test_s02_add_is_the_earliest_instant(name: str, start: datetime, duration: timedelta) -> None:
    calendar = CALENDARS[name]
    due = calendar.add(start, duration)
    assert calendar.is_open(due - ONE_US)
    assert calendar.elapsed(start, due - ONE_US) < duration


@calendars
@PROPERTY
@given(start=instants, first=durations, second=durations)
def test_add_is_monotonic_in_the_duration(
    name: str, start: datetime, first: timedelta, second: timedelta
) -> None:
    calendar = CALENDARS[name]
    short, long = sorted((first, second))
    assert calendar.add(start, short) <= calendar.add(start, long)


@calendars
@PROPERTY
@given(
    points=st.lists(instants, min_size=3, max_size=3).map(sorted),
    pauses=st.lists(
        st.tuples(instants, durations).map(lambda p: (p[0], p[0] + p[1])),
        max_size=3,
    ),
)
def test_elapsed_is_additive_over_a_split_point(
    name: str, points: list[datetime], pauses: list[tuple[datetime, datetime]]
) -> None:
    calendar = CALENDARS[name]
    a, b, c = points
    assert calendar.elapsed(a, c) == calendar.elapsed(a, b) + calendar.elapsed(b, c)
    assert calendar.elapsed(a, c, pauses) == (
        calendar.elapsed(a, b, pauses) + calendar.elapsed(b, c, pauses)
    )


@calendars
@PROPERTY
@given(
    start=instants,
    duration=durations,
    pauses=st.lists(
        st.tuples(instants, durations).map(lambda p: (p[0], p[0] + p[1])),
        max_size=4,
    ),
)
def test_pauses_never_add_time_and_their_order_does_not_matter(
    name: str, start: datetime, duration: timedelta, pauses: list[tuple[datetime, datetime]]
) -> None:
    calendar = CALENDARS[name]
    end = start + duration
    paused = calendar.elapsed(start, end, pauses)
    assert timedelta(0) <= paused <= calendar.elapsed(start, end)
    assert calendar.elapsed(start, end, list(reversed(pauses))) == paused
    assert calendar.elapsed(start, end, pauses + pauses) == paused


@calendars
@PROPERTY
@given(
    start=instants,
    end=instants,
    duration=durations,
    days=st.integers(0, 12),
    zone_a=st.sampled_from(ZONES),
    zone_b=st.sampled_from(ZONES),
)
def test_results_do_not_depend_on_the_input_time_zone(
    name: str,
    start: datetime,
    end: datetime,
    duration: timedelta,
    days: int,
    zone_a: ZoneInfo,
    zone_b: ZoneInfo,
) -> None:
    calendar = CALENDARS[name]
    start_a, start_b = start.astimezone(zone_a), start.astimezone(zone_b)
    end_a, end_b = end.astimezone(zone_a), end.astimezone(zone_b)
    # isoformat, not ==: equal instants must also come out with the same (UTC) offset.
    pairs = [
        (calendar.add(start_a, duration), calendar.add(start_b, duration)),
        (calendar.add_days(start_a, days), calendar.add_days(start_b, days)),
        (calendar.next_open(start_a), calendar.next_open(start_b)),
        (calendar.next_business_day(start_a), calendar.next_business_day(start_b)),
    ]
    for in_a, in_b in pairs:
        assert in_a.isoformat() == in_b.isoformat()
    assert calendar.elapsed(start_a, end_a) == calendar.elapsed(start_b, end_b)
    assert calendar.is_open(start_a) == calendar.is_open(start_b)
