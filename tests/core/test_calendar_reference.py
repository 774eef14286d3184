"""The 300-case reference sample: ``add`` and ``elapsed`` against an independent slow reference.

The cases live in the repository (``tests/fixtures/reference/``; see its README.md). Each case's
calendar is mapped to the config shape and built through ``BusinessCalendar.from_config``,
so the config parser is exercised too. Instants are compared in UTC: with aware datetimes
``==`` would also hold for the wrong occurrence of a repeated fall-back hour's wall time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from sla_connector.core.calendars import BusinessCalendar

CASES_FILE = Path(__file__).parents[2] / "tests/fixtures/reference/calendar-cases-sample.jsonl"


def _load_cases() -> list[Any]:
    cases = [json.loads(line) for line in CASES_FILE.read_text().splitlines() if line.strip()]
    return [pytest.param(case, id=f"case-{case['id']}-{case['template']}") for case in cases]


CASES = _load_cases()


def config_of(calendar: dict[str, Any]) -> dict[str, Any]:
    """The sample's calendar in the shape of one ``calendars.<name>`` YAML entry."""
    return {
        "timezone": calendar["tz"],
        "hours": {
            day: [f"{start}-{end}" for start, end in windows]
            for day, windows in calendar["hours"].items()
            if windows
        },
        "holidays": {"extra": list(calendar["holidays"])},
    }


@cache
def _calendar(key: str) -> BusinessCalendar:
    return BusinessCalendar.from_config(config_of(json.loads(key)))


def calendar_for(case: dict[str, Any]) -> BusinessCalendar:
    return _calendar(json.dumps(case["calendar"], sort_keys=True))


def instant(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    assert parsed.tzinfo is not None, f"reference instant {text} is naive"
    return parsed


def test_sample_has_all_300_cases() -> None:
    assert len(CASES) == 300  # the sample is in the checkout: a missing one fails, never skips


@pytest.mark.parametrize("case", CASES)
def test_add_matches_reference_due(case: dict[str, Any]) -> None:
    duration = timedelta(seconds=case["duration_seconds"])
    due = calendar_for(case).add(instant(case["start"]), duration)
    expected = instant(case["expected_due"]).astimezone(UTC)
    assert due.utcoffset() == timedelta(0)
    assert due.astimezone(UTC).isoformat() == expected.isoformat(), case["tags"]


@pytest.mark.parametrize("case", CASES)
def test_elapsed_matches_reference(case: dict[str, Any]) -> None:
    pauses = [(instant(a), instant(b)) for a, b in case["pauses"]]
    elapsed = calendar_for(case).elapsed(instant(case["start"]), instant(case["end"]), pauses)
    assert elapsed == timedelta(seconds=case["expected_elapsed_seconds"]), case["tags"]
