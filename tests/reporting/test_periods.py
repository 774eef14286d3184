"""Report periods: previous Monday-to-Monday week and previous calendar month, local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla_connector.reporting import monthly_period, period_for, weekly_period

LONDON = ZoneInfo("Europe/London")


def test_weekly_period_is_the_previous_monday_to_monday_in_the_report_zone() -> None:
    period = weekly_period(datetime(2026, 10, 19, 7, 0, tzinfo=UTC), "Europe/London")
    assert period.start == datetime(2026, 10, 12, tzinfo=LONDON)
    assert period.end == datetime(2026, 10, 19, tzinfo=LONDON)
    assert period.start.astimezone(UTC) == datetime(2026, 10, 11, 23, 0, tzinfo=UTC)


def test_weekly_period_on_a_sunday_night_is_still_the_week_before() -> None:
    sunday = datetime(2026, 10, 18, 23, 59, tzinfo=LONDON)
    assert weekly_period(sunday, "Europe/London").start == datetime(2026, 10, 5, tzinfo=LONDON)


def test_week_spanning_the_autumn_clock_change_lasts_169_hours() -> None:
    period = weekly_period(datetime(2026, 10, 26, 8, 0, tzinfo=LONDON), "Europe/London")
    assert period.start == datetime(2026, 10, 19, tzinfo=LONDON)
    assert period.end - period.start == timedelta(days=7)  # wall clock
    assert period.end_us - period.start_us == 169 * 3600 * 10**6  # real time


def test_monthly_period_in_january_is_the_previous_december() -> None:
    period = monthly_period(datetime(2027, 1, 1, 8, 0, tzinfo=LONDON), "Europe/London")
    assert (period.start, period.end) == (
        datetime(2026, 12, 1, tzinfo=LONDON),
        datetime(2027, 1, 1, tzinfo=LONDON),
    )
    assert period.label == "December 2026" and period.slug == "2026-12"


def test_the_previous_period_of_a_month_and_of_a_week() -> None:
    march = monthly_period(datetime(2026, 4, 1, tzinfo=LONDON), "Europe/London")
    assert march.previous().start == datetime(2026, 2, 1, tzinfo=LONDON)
    assert march.previous().end == march.start
    week = weekly_period(datetime(2026, 11, 2, 8, tzinfo=LONDON), "Europe/London")
    assert week.previous().end == week.start
    assert week.previous().start == datetime(2026, 10, 19, tzinfo=LONDON)


def test_period_for_uses_the_given_zone_not_utc() -> None:
    # 23:30 UTC on Sunday 1 Nov is already Monday 2 Nov in Sydney.
    instant = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)
    sydney = period_for("weekly", instant, "Australia/Sydney")
    assert sydney.end.date().isoformat() == "2026-11-02"
    assert period_for("weekly", instant, "Europe/London").end.date().isoformat() == "2026-10-26"


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        weekly_period(datetime(2026, 10, 19), "UTC")
