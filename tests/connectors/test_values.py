"""``values``: vendor times need an offset, ids are integers, priorities map back to tiers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sla_connector_psa.values import aware_time, optional_int, tier_of

from sla_connector.core.errors import TicketError


def test_aware_time_reads_iso_times_with_an_offset() -> None:
    assert aware_time("2026-11-02T09:14:00Z", "x") == datetime(2026, 11, 2, 9, 14, tzinfo=UTC)
    assert aware_time("2026-11-02T09:14:00.000+0000", "x").utcoffset() is not None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "updated: missing"),
        ("", "updated: missing"),
        ("yesterday", "updated: 'yesterday' is not a timestamp"),
        ("2026-11-02T09:14:00", "updated: '2026-11-02T09:14:00' has no UTC offset"),
    ],
)
def test_aware_time_refuses_what_it_cannot_place_in_time(value: object, message: str) -> None:
    with pytest.raises(TicketError, match=message):
        aware_time(value, "updated", "a timestamp")


def test_optional_int_takes_numbers_and_digit_strings_only() -> None:
    assert [optional_int(v) for v in (7, "42", " -1", True, None, "7a", 1.5)] == [
        7,
        42,
        -1,
        None,
        None,
        None,
        None,
    ]


def test_tier_of_maps_a_psa_priority_back_case_insensitively() -> None:
    priorities = {"P1": "Priority 1 - Critical", "P2": "High"}
    assert tier_of(priorities, "priority 1 - critical") == "P1"
    assert tier_of(priorities, "Low") is None
