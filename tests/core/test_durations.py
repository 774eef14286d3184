"""Config durations (``15m``, ``1h30m``, ``3bd``), percentages and human-readable seconds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sla_connector.core.durations import (
    BusinessDays,
    describe_duration,
    format_seconds,
    parse_duration,
    parse_percent,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("15m", 900),
        ("4h", 14400),
        ("90s", 90),
        ("1h30m", 5400),
        ("2d", 172800),
        ("1d2h3m4s", 93784),
        (" 1h 30m ", 5400),
        ("4H", 14400),
        ("0m", 0),
    ],
)
def test_clock_durations_parse_to_timedelta(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_business_days_parse_to_their_own_type() -> None:
    parsed = parse_duration("3bd")
    assert parsed == BusinessDays(3)
    assert not isinstance(parsed, timedelta)
    assert str(parsed) == "3bd"
    assert parse_duration("10BD") == BusinessDays(10)


def test_business_days_rejected_where_not_allowed() -> None:
    with pytest.raises(ValueError, match="not allowed"):
        parse_duration("3bd", allow_business_days=False)
    assert parse_duration("2h", allow_business_days=False) == timedelta(hours=2)


@pytest.mark.parametrize(
    "text", ["", "  ", "0bd", "abc", "15", "1.5h", "30m1h", "-5m", "3 days", "1bd2h"]
)
def test_malformed_durations_raise_with_a_hint(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|business days"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "fraction"),
    [
        ("75%", 0.75),
        ("0.75", 0.75),
        (0.75, 0.75),
        (75, 0.75),
        ("100%", 1.0),
        (1, 1.0),
        ("12.5%", 0.125),
    ],
)
def test_percentages_accept_percent_fraction_and_whole_numbers(
    value: str | float, fraction: float
) -> None:
    assert parse_percent(value) == pytest.approx(fraction)


@pytest.mark.parametrize("value", ["0%", "0", -5, "150%", 250])
def test_percentages_outside_0_to_100_are_rejected(value: str | int) -> None:
    with pytest.raises(ValueError, match="percentage"):
        parse_percent(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45, "45s"),
        (60, "1m"),
        (90, "1m 30s"),
        (3900, "1h 05m"),
        (7200, "2h 00m"),
        (90061, "1d 1h 01m"),
        (-7800, "-2h 10m"),
        (59.6, "1m"),
    ],
)
def test_format_seconds_for_humans(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


def test_finding_8_describe_duration_is_the_config_spelling() -> None:
    assert describe_duration(BusinessDays(3)) == "3 business days"
    assert describe_duration(BusinessDays(1)) == "1 business day"
    assert describe_duration(timedelta(hours=1, minutes=30)) == "1h30m"
    assert describe_duration(timedelta(minutes=15)) == "15m"
