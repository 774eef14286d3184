"""Named business-calendar cases: DESIGN section 4 and SEMANTICS S01-S05 and S19.

Every expected instant is written in UTC and worked out by hand in the test's docstring or
comment, so a failure says which rule broke: hours, weekends, holidays, DST, pauses, the
business-day rule or config validation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sla_connector.core.calendars import BusinessCalendar, parse_day_spec, parse_interval
from sla_connector.core.errors import ConfigError, SlaConnectorError

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")

STD_LONDON: dict[str, Any] = {
    "timezone": "Europe/London",
    "hours": {"mon-fri": ["08:00-18:00"]},
    "holidays": {"country": "GB", "subdivision": "ENG"},
}
UK_OFFICE: dict[str, Any] = {
    "timezone": "Europe/London",
    "hours": {"mon-fri": ["08:00-18:00"], "sat": ["09:00-13:00"]},
    "holidays": {"country": "GB", "subdivision": "ENG"},
}
US_EAST: dict[str, Any] = {
    "timezone": "America/New_York",
    "hours": {"mon-fri": ["07:00-19:00"]},
    "holidays": {"country": "US"},
}


def cal(mapping: Mapping[str, Any]) -> BusinessCalendar:
    return BusinessCalendar.from_config(mapping)


def utc(text: str) -> datetime:
    """An aware UTC instant from ``YYYY-MM-DDTHH:MM[:SS]``."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def london(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=LONDON)


def new_york(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


def every_day(tz: str, interval: str) -> BusinessCalendar:
    return cal({"timezone": tz, "hours": {"daily": [interval]}})


# -- outside hours, weekends, results in UTC ------------------------------------------------------


def test_ticket_created_before_opening_counts_from_opening() -> None:
    # Tue 2026-11-03 06:00 GMT: closed until 08:00, so 1h runs out at 09:00.
    assert cal(STD_LONDON).add(london(2026, 11, 3, 6, 0), hours(1)) == utc("2026-11-03T09:00")


def test_ticket_created_after_closing_counts_from_next_morning() -> None:
    assert cal(STD_LONDON).add(london(2026, 11, 3, 19, 0), hours(0.5)) == utc("2026-11-04T08:30")


def test_ticket_created_on_weekend_counts_from_monday_opening() -> None:
    calendar = cal(STD_LONDON)
    saturday = london(2026, 11, 7, 10, 0)
    assert calendar.add(saturday, hours(1)) == utc("2026-11-09T09:00")
    assert calendar.elapsed(saturday, london(2026, 11, 9, 8, 0)) == timedelta(0)


def test_results_are_aware_utc_whatever_the_input_zone() -> None:
    due = cal(US_EAST).add(new_york(2026, 11, 3, 9, 0), hours(1))
    assert due.utcoffset() == timedelta(0)
    assert due.tzinfo is UTC
    assert due == utc("2026-11-03T15:00")


def test_s01_open_at_opening_closed_at_closing() -> None:
    calendar = cal(STD_LONDON)
    assert calendar.is_open(london(2026, 11, 3, 8, 0))
    assert calendar.is_open(london(2026, 11, 3, 17, 59, 59))
    assert not calendar.is_open(london(2026, 11, 3, 18, 0))
    assert not calendar.is_open(london(2026, 11, 7, 10, 0))


def test_next_open_is_the_instant_itself_when_open() -> None:
    calendar = cal(STD_LONDON)
    assert calendar.next_open(london(2026, 11, 3, 10, 0)) == utc("2026-11-03T10:00")
    assert calendar.next_open(london(2026, 11, 6, 18, 0)) == utc("2026-11-09T08:00")


# -- S02: the earliest instant --------------------------------------------------------------------


def test_s02_target_used_up_at_closing_is_due_at_closing() -> None:
    calendar = cal(STD_LONDON)
    assert calendar.add(london(2026, 11, 2, 8, 0), hours(10)) == utc("2026-11-02T18:00")
    assert calendar.add(london(2026, 11, 2, 16, 0), hours(2)) == utc("2026-11-02T18:00")


def test_s02_offset_after_evening_breach_runs_from_next_opening() -> None:
    # Breach Mon 17:00 + 2h on 08-18: one hour Monday, one hour from Tuesday 08:00.
    assert cal(STD_LONDON).add(london(2026, 11, 2, 17, 0), hours(2)) == utc("2026-11-03T09:00")


def test_s02_zero_duration_is_due_at_start_even_when_closed() -> None:
    saturday = london(2026, 11, 7, 10, 0)
    assert cal(STD_LONDON).add(saturday, timedelta(0)) == saturday


# -- holidays (S04) -------------------------------------------------------------------------------


def test_s04_christmas_and_observed_boxing_day_are_closed() -> None:
    # Thu 24 Dec 17:00 + 2h: 1h Thursday; Fri 25 (Christmas), the weekend and Mon 28
    # (Boxing Day observed) are closed; the second hour ends Tue 29 Dec 09:00.
    calendar = cal(STD_LONDON)
    assert calendar.add(london(2026, 12, 24, 17, 0), hours(2)) == utc("2026-12-29T09:00")
    assert not calendar.is_open(london(2026, 12, 25, 10, 0))
    assert not calendar.is_open(london(2026, 12, 28, 10, 0))


def test_s04_actual_holiday_date_stays_closed_when_substitute_is_given() -> None:
    # Boxing Day falls on Saturday 26 Dec 2026: the Saturday half day is closed too.
    calendar = cal(UK_OFFICE)
    assert not calendar.is_open(london(2026, 12, 26, 10, 0))
    assert calendar.is_open(london(2026, 12, 19, 10, 0))


def test_s04_us_thanksgiving_is_closed() -> None:
    # Wed 25 Nov 18:00 EST + 2h: 1h Wednesday, Thursday 26 closed, Fri 07:00-08:00 EST.
    calendar = cal(US_EAST)
    assert calendar.add(new_york(2026, 11, 25, 18, 0), hours(2)) == utc("2026-11-27T13:00")
    assert calendar.elapsed(new_york(2026, 11, 25, 0, 0), new_york(2026, 11, 28, 0, 0)) == hours(24)


def test_s04_extra_dates_close_and_removed_holidays_open() -> None:
    calendar = cal(
        STD_LONDON
        | {
            "holidays": {
                "country": "GB",
                "subdivision": "ENG",
                "extra": ["2026-11-03"],
                "remove": ["2026-12-28"],
            }
        }
    )
    assert not calendar.is_open(london(2026, 11, 3, 10, 0))
    assert calendar.is_open(london(2026, 11, 4, 10, 0))
    assert calendar.is_open(london(2026, 12, 28, 10, 0))
    assert not calendar.is_open(london(2026, 12, 25, 10, 0))


def test_s04_removing_the_actual_date_keeps_the_observed_day_closed() -> None:
    calendar = cal(
        UK_OFFICE
        | {
            "holidays": {
                "country": "GB",
                "subdivision": "ENG",
                "remove": ["2026-12-26"],
            }
        }
    )
    assert calendar.is_open(london(2026, 12, 26, 10, 0))
    assert not calendar.is_open(london(2026, 12, 28, 10, 0))


def test_s04_always_open_calendar_ignores_holidays() -> None:
    calendar = cal(
        {
            "always_open": True,
            "holidays": {
                "country": "GB",
                "subdivision": "ENG",
                "extra": ["2026-12-24"],
            },
        }
    )
    assert calendar.is_open(utc("2026-12-25T10:00"))
    assert calendar.add(utc("2026-12-24T12:00"), hours(48)) == utc("2026-12-26T12:00")
    assert calendar.elapsed(utc("2026-12-24T12:00"), utc("2026-12-29T12:00")) == timedelta(days=5)


def test_s04_always_open_without_timezone_is_utc() -> None:
    calendar = cal({"always_open": True})
    assert calendar.tz.key == "UTC"
    assert calendar.next_business_day(utc("2026-11-02T23:59")) == utc("2026-11-03T00:00")


# -- DST ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "day", "length"),
    [
        ("Europe/London", (2026, 3, 29), 23),
        ("Europe/London", (2026, 10, 25), 25),
        ("America/New_York", (2026, 3, 8), 23),
        ("America/New_York", (2026, 11, 1), 25),
        ("Europe/London", (2026, 6, 14), 24),
    ],
    ids=["london-spring", "london-fall", "new-york-spring", "new-york-fall", "london-summer"],
)
def test_full_day_window_lasts_23h_or_25h_on_dst_change_days(
    tz: str, day: tuple[int, int, int], length: int
) -> None:
    zone = ZoneInfo(tz)
    calendar = every_day(tz, "00:00-24:00")
    start = datetime(*day, tzinfo=zone)
    end = (start + timedelta(days=1)).replace(tzinfo=zone)  # next local midnight
    assert calendar.elapsed(start, end) == hours(length)


def test_window_spanning_london_spring_forward_gap_counts_one_hour() -> None:
    # 29 Mar 2026: 01:00-02:00 local does not exist, so 01:00-03:00 is 01:00Z-02:00Z.
    calendar = cal({"timezone": "Europe/London", "hours": {"sun": ["01:00-03:00"]}})
    assert calendar.elapsed(utc("2026-03-28T12:00"), utc("2026-03-30T12:00")) == hours(1)
    assert calendar.next_open(utc("2026-03-28T12:00")) == utc("2026-03-29T01:00")
    assert calendar.elapsed(utc("2026-03-21T12:00"), utc("2026-03-23T12:00")) == hours(2)


def test_window_repeated_by_london_fall_back_counts_twice() -> None:
    # 25 Oct 2026: 01:00-02:00 local runs 00:00Z-01:00Z (BST) and 01:00Z-02:00Z (GMT).
    calendar = cal({"timezone": "Europe/London", "hours": {"sun": ["01:00-02:00"]}})
    assert calendar.elapsed(utc("2026-10-24T12:00"), utc("2026-10-26T12:00")) == hours(2)
    assert calendar.add(utc("2026-10-24T12:00"), hours(1.5)) == utc("2026-10-25T01:30")


def test_window_starting_inside_the_gap_opens_at_the_jump() -> None:
    london_cal = cal({"timezone": "Europe/London", "hours": {"sun": ["01:30-04:00"]}})
    assert london_cal.next_open(utc("2026-03-28T12:00")) == utc("2026-03-29T01:00")
    assert london_cal.elapsed(utc("2026-03-28T12:00"), utc("2026-03-30T12:00")) == hours(2)
    ny_cal = cal({"timezone": "America/New_York", "hours": {"sun": ["02:30-05:00"]}})
    assert ny_cal.next_open(utc("2026-03-07T12:00")) == utc("2026-03-08T07:00")
    assert ny_cal.add(utc("2026-03-07T12:00"), hours(2)) == utc("2026-03-08T09:00")


def test_window_ending_inside_the_gap_closes_at_the_jump() -> None:
    calendar = cal({"timezone": "Europe/London", "hours": {"sun": ["00:00-01:30"]}})
    assert calendar.elapsed(utc("2026-03-28T12:00"), utc("2026-03-30T12:00")) == hours(1)


def test_add_spans_london_spring_forward() -> None:
    # Fri 27 Mar 17:00 GMT + 2h: 1h Friday, then Mon 30 Mar 08:00-09:00 BST (07:00Z-08:00Z).
    assert cal(STD_LONDON).add(london(2026, 3, 27, 17, 0), hours(2)) == utc("2026-03-30T08:00")


def test_add_spans_new_york_fall_back() -> None:
    # Fri 30 Oct 18:00 EDT + 3h: 1h Friday, then Mon 2 Nov 07:00-09:00 EST (12:00Z-14:00Z).
    assert cal(US_EAST).add(new_york(2026, 10, 30, 18, 0), hours(3)) == utc("2026-11-02T14:00")


# -- pauses ---------------------------------------------------------------------------------------


def test_pause_across_a_night_subtracts_only_open_time() -> None:
    # Mon 16:00 -> Tue 12:00 is 2h + 4h open; the pause Mon 17:00 -> Tue 10:00 covers 1h + 2h.
    calendar = cal(STD_LONDON)
    pause = (london(2026, 11, 2, 17, 0), london(2026, 11, 3, 10, 0))
    elapsed = calendar.elapsed(london(2026, 11, 2, 16, 0), london(2026, 11, 3, 12, 0), [pause])
    assert elapsed == hours(3)


def test_pause_over_a_weekend_subtracts_the_saturday_half_day() -> None:
    # Fri 16:00 -> Mon 11:00 on uk-office: 2h Fri + 4h Sat + 3h Mon = 9h; paused 1h + 4h + 1h.
    calendar = cal(UK_OFFICE)
    pause = (london(2026, 11, 6, 17, 0), london(2026, 11, 9, 9, 0))
    start, end = london(2026, 11, 6, 16, 0), london(2026, 11, 9, 11, 0)
    assert calendar.elapsed(start, end) == hours(9)
    assert calendar.elapsed(start, end, [pause]) == hours(3)


def test_overlapping_pauses_are_subtracted_once() -> None:
    calendar = cal(STD_LONDON)
    pauses = [
        (london(2026, 11, 2, 10, 0), london(2026, 11, 2, 14, 0)),
        (london(2026, 11, 2, 9, 0), london(2026, 11, 2, 12, 0)),
        (london(2026, 11, 2, 11, 0), london(2026, 11, 2, 11, 30)),
    ]
    elapsed = calendar.elapsed(london(2026, 11, 2, 8, 0), london(2026, 11, 2, 18, 0), pauses)
    assert elapsed == hours(5)


def test_pauses_outside_the_interval_are_clipped() -> None:
    calendar = cal(STD_LONDON)
    start, end = london(2026, 11, 3, 8, 0), london(2026, 11, 3, 18, 0)
    pauses = [
        (london(2026, 11, 2, 12, 0), london(2026, 11, 3, 9, 0)),
        (london(2026, 11, 3, 17, 0), london(2026, 11, 4, 12, 0)),
        (london(2026, 11, 5, 9, 0), london(2026, 11, 5, 12, 0)),
    ]
    assert calendar.elapsed(start, end, pauses) == hours(8)


def test_elapsed_of_an_empty_or_reversed_interval_is_zero() -> None:
    calendar = cal(STD_LONDON)
    instant = london(2026, 11, 3, 10, 0)
    assert calendar.elapsed(instant, instant) == timedelta(0)
    assert calendar.elapsed(instant, instant - hours(1)) == timedelta(0)


# -- business days (DESIGN section 4, S03, S05) ---------------------------------------------------


def test_s03_saturday_ticket_3bd_rule_instant_is_thursday_opening() -> None:
    assert cal(STD_LONDON).add_days(london(2026, 11, 7, 14, 30), 3) == utc("2026-11-12T08:00")


def test_s03_saturday_ticket_3bd_is_due_wednesday_at_closing() -> None:
    calendar = cal(STD_LONDON)
    start = london(2026, 11, 7, 14, 30)
    target = calendar.elapsed(start, calendar.add_days(start, 3))
    assert target == hours(30)
    assert calendar.add(start, target) == utc("2026-11-11T18:00")


def test_3bd_keeps_the_wall_clock_time_when_open() -> None:
    # Tue 12:30 + 4bd on uk-office: Wed, Thu, Fri, Sat; Saturday 12:30 is open.
    assert cal(UK_OFFICE).add_days(london(2026, 11, 3, 12, 30), 4) == utc("2026-11-07T12:30")


def test_3bd_landing_after_a_short_day_closes_takes_its_closing_time() -> None:
    # Wed 15:00 + 3bd: Thu, Fri, Sat; Saturday closes at 13:00 before 15:00.
    assert cal(UK_OFFICE).add_days(london(2026, 11, 4, 15, 0), 3) == utc("2026-11-07T13:00")


def test_3bd_landing_before_a_short_day_opens_takes_its_opening() -> None:
    # Wed 08:30 + 3bd lands on Saturday 08:30, before its 09:00 opening.
    assert cal(UK_OFFICE).add_days(london(2026, 11, 4, 8, 30), 3) == utc("2026-11-07T09:00")


def test_bd_landing_in_a_lunch_break_takes_the_next_opening_that_day() -> None:
    calendar = cal(
        {
            "timezone": "UTC",
            "hours": {
                "mon-thu": ["09:00-12:00", "13:00-17:30"],
                "fri": ["09:00-12:30"],
            },
        }
    )
    # Mon 12:15 is closed: moved to Mon 13:00, so 4bd lands Fri 13:00, after Friday's close.
    assert calendar.add_days(utc("2026-11-02T12:15"), 4) == utc("2026-11-06T12:30")
    # Mon 11:00 + 1bd is Tue 11:00; Tue 12:30 + 1bd (lunch on Wed) is Wed 13:00.
    assert calendar.add_days(utc("2026-11-02T11:00"), 1) == utc("2026-11-03T11:00")
    assert calendar.add_days(utc("2026-11-04T12:15"), 1) == utc("2026-11-05T13:00")


def test_bd_skips_holidays_as_closed_days() -> None:
    # Wed 23 Dec 10:00 + 2bd: Thu 24, then Fri 25 and Mon 28 are holidays -> Tue 29 10:00.
    assert cal(STD_LONDON).add_days(london(2026, 12, 23, 10, 0), 2) == utc("2026-12-29T10:00")


def test_bd_across_spring_forward_keeps_local_wall_time() -> None:
    # Fri 27 Mar 10:00 GMT + 1bd -> Mon 30 Mar 10:00 BST = 09:00Z.
    assert cal(STD_LONDON).add_days(london(2026, 3, 27, 10, 0), 1) == utc("2026-03-30T09:00")


def test_s05_bd_landing_in_london_gap_resolves_like_fold_0() -> None:
    # Sat 01:30 + 1bd -> Sun 29 Mar 01:30, which does not exist; fold=0 reads it with the
    # GMT offset: 01:30Z (02:30 BST).
    calendar = every_day("Europe/London", "00:00-24:00")
    assert calendar.add_days(london(2026, 3, 28, 1, 30), 1) == utc("2026-03-29T01:30")


def test_s05_bd_landing_in_new_york_gap_resolves_like_fold_0() -> None:
    calendar = every_day("America/New_York", "00:00-24:00")
    assert calendar.add_days(new_york(2026, 3, 7, 2, 30), 1) == utc("2026-03-08T07:30")


def test_s05_bd_landing_in_repeated_hour_takes_the_first_occurrence() -> None:
    # Sun 25 Oct 01:30 happens at 00:30Z (BST) and 01:30Z (GMT); fold=0 is the first.
    calendar = every_day("Europe/London", "00:00-24:00")
    assert calendar.add_days(london(2026, 10, 24, 1, 30), 1) == utc("2026-10-25T00:30")


def test_zero_bd_is_the_next_open_instant() -> None:
    assert cal(STD_LONDON).add_days(london(2026, 11, 7, 14, 30), 0) == utc("2026-11-09T08:00")


# -- S19: next business day -----------------------------------------------------------------------


def test_s19_friday_evening_breach_escalates_monday_opening() -> None:
    assert cal(STD_LONDON).next_business_day(london(2026, 11, 6, 19, 0)) == utc("2026-11-09T08:00")


def test_s19_breach_during_hours_escalates_on_a_later_date_not_today() -> None:
    assert cal(STD_LONDON).next_business_day(london(2026, 11, 3, 10, 0)) == utc("2026-11-04T08:00")


def test_s19_over_bank_holiday_monday_escalates_tuesday() -> None:
    # Mon 31 Aug 2026 is the Late Summer Bank Holiday; Tue 08:00 BST is 07:00Z.
    assert cal(STD_LONDON).next_business_day(london(2026, 8, 28, 19, 0)) == utc("2026-09-01T07:00")


def test_s19_half_day_counts_as_a_business_day() -> None:
    assert cal(UK_OFFICE).next_business_day(london(2026, 11, 6, 19, 0)) == utc("2026-11-07T09:00")


def test_s19_uses_the_calendar_local_date_not_utc() -> None:
    # 23:30Z on Mon 1 Jun is already Tue 00:30 BST: the next business day is Wednesday.
    calendar = cal(STD_LONDON)
    assert calendar.next_business_day(utc("2026-06-01T23:30")) == utc("2026-06-03T07:00")


# -- day specs and intervals ----------------------------------------------------------------------


def test_intervals_of_a_day_are_unioned_across_entries_and_day_specs() -> None:
    calendar = cal(
        {
            "timezone": "UTC",
            "hours": {
                "mon-fri": ["08:00-12:00"],
                "mon": ["11:00-14:00", "16:00-17:00"],
                "sat,sun": "10:00-11:00",
            },
        }
    )
    monday = utc("2026-11-02T00:00")
    assert calendar.elapsed(monday, monday + timedelta(days=1)) == hours(7)
    assert calendar.elapsed(monday + timedelta(days=1), monday + timedelta(days=2)) == hours(4)
    assert calendar.elapsed(utc("2026-11-07T00:00"), utc("2026-11-09T00:00")) == hours(2)


def test_interval_with_seconds_and_24_00_end() -> None:
    assert parse_interval("08:30:15-17:45:30") == (30615, 63930)
    assert parse_interval("22:00-24:00") == (79200, 86400)


@pytest.mark.parametrize(
    ("spec", "days"),
    [
        ("mon-fri", [0, 1, 2, 3, 4]),
        ("sat", [5]),
        ("sat,sun", [5, 6]),
        ("fri-mon", [0, 4, 5, 6]),
        ("daily", [0, 1, 2, 3, 4, 5, 6]),
        ("MON", [0]),
    ],
)
def test_day_specs(spec: str, days: list[int]) -> None:
    assert parse_day_spec(spec) == days


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mapping", "path"),
    [
        ({"timezone": "UTC", "hours": {"mon-fri": ["25:00-26:00"]}}, "hours.mon-fri[0]"),
        ({"hours": {"mon-fri": ["08:00-12:00", "22:00-02:00"]}}, "hours.mon-fri[1]"),
        ({"timezone": "UTC", "hours": {"sat": ["09:00-09:00"]}}, "hours.sat[0]"),
        ({"timezone": "UTC", "hours": {"sat": ["09:60-10:00"]}}, "hours.sat[0]"),
        ({"timezone": "UTC", "hours": {"sat": ["24:00-24:00"]}}, "hours.sat[0]"),
        ({"timezone": "UTC", "hours": {"weekdays": ["09:00-10:00"]}}, "hours.weekdays"),
        ({"timezone": "Europe/Londn", "hours": {"mon": ["09:00-10:00"]}}, "timezone"),
        ({"timezone": "UTC", "hours": {"mon-fri": []}}, "hours"),
        ({"timezone": "UTC"}, "hours"),
        ({"timezone": "UTC", "hours": ["09:00-10:00"]}, "hours"),
        ({"tz": "UTC", "hours": {"mon": ["09:00-10:00"]}}, "tz"),
        ({"hours": {"mon": ["09:00-10:00"]}, "holidays": {"country": "XX"}}, "holidays"),
        ({"hours": {"mon": ["09:00"]}, "holidays": {"extra": ["2026-13-01"]}}, "hours.mon[0]"),
        (
            {"hours": {"mon": ["09:00-10:00"]}, "holidays": {"extra": ["2026-13-01"]}},
            "holidays.extra[0]",
        ),
        (
            {"hours": {"mon": ["09:00-10:00"]}, "holidays": {"remove": ["x", "y"]}},
            "holidays.remove[0]",
        ),
    ],
    ids=[
        "hour-25",
        "crosses-midnight",
        "empty-interval",
        "minute-60",
        "starts-at-24",
        "unknown-day",
        "unknown-timezone",
        "never-open",
        "hours-missing",
        "hours-not-mapping",
        "unknown-key",
        "unknown-country",
        "not-an-interval",
        "bad-extra-date",
        "bad-remove-date",
    ],
)
def test_bad_calendar_config_names_the_relative_key_path(
    mapping: dict[str, Any], path: str
) -> None:
    with pytest.raises(ConfigError) as info:
        BusinessCalendar.from_config(mapping)
    assert info.value.path == path
    assert str(info.value).startswith(f"{path}: ")
    assert isinstance(info.value, SlaConnectorError)


def test_crossing_midnight_error_tells_how_to_fix_it() -> None:
    with pytest.raises(ConfigError, match="24:00"):
        BusinessCalendar.from_config({"hours": {"fri": ["22:00-02:00"]}})


def test_naive_datetimes_are_rejected() -> None:
    calendar = cal(STD_LONDON)
    naive = datetime(2026, 11, 3, 10, 0)
    aware = london(2026, 11, 3, 10, 0)
    calls: list[Callable[[], object]] = [
        lambda: calendar.add(naive, hours(1)),
        lambda: calendar.add_days(naive, 1),
        lambda: calendar.elapsed(naive, aware),
        lambda: calendar.elapsed(aware - hours(1), naive),
        lambda: calendar.elapsed(aware - hours(1), aware, [(naive, aware)]),
        lambda: calendar.next_open(naive),
        lambda: calendar.is_open(naive),
        lambda: calendar.next_business_day(naive),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="naive"):
            call()


def test_negative_durations_are_rejected() -> None:
    calendar = cal(STD_LONDON)
    with pytest.raises(ValueError, match="negative"):
        calendar.add(london(2026, 11, 3, 10, 0), -hours(1))
    with pytest.raises(ValueError, match="negative"):
        calendar.add_days(london(2026, 11, 3, 10, 0), -1)


def test_far_future_instants_extend_the_tables() -> None:
    calendar = cal(STD_LONDON)
    assert calendar.add(london(2026, 11, 2, 8, 0), hours(10)) == utc("2026-11-02T18:00")
    # 25 Dec 2035 is a Tuesday and a holiday, 26 Dec too; Thu 27 Dec 08:00 GMT.
    assert calendar.next_open(london(2035, 12, 24, 19, 0)) == utc("2035-12-27T08:00")
    assert calendar.add(london(2019, 12, 24, 17, 0), hours(2)) == utc("2019-12-27T09:00")
