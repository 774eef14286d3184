"""The poll cursor: minute-granular overlapping windows, de-duplication, JQL time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sla_connector_psa.jira_sm.cursor import JqlCursor, jql_quote, jql_wall_time, poll_jql

OVERLAP = timedelta(minutes=2)


def utc(hms: str, day: int = 2) -> datetime:
    hour, minute, second = (int(p) for p in hms.split(":"))
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def test_window_starts_overlap_before_the_minute_of_the_newest_update() -> None:
    cursor = JqlCursor().advance([("SD-1", utc("10:41:07"))], OVERLAP)
    assert cursor.window_start(OVERLAP) == utc("10:39:00")


def test_versions_inside_the_window_are_remembered_and_skipped() -> None:
    cursor = JqlCursor().advance([("SD-1", utc("10:40:30")), ("SD-2", utc("10:41:07"))], OVERLAP)
    assert cursor.delivered("SD-1", utc("10:40:30"))
    assert not cursor.delivered("SD-1", utc("10:41:50"))  # a newer version is new
    assert not cursor.delivered("SD-3", utc("10:40:30"))


def test_versions_before_the_next_window_are_pruned() -> None:
    cursor = JqlCursor().advance([("SD-1", utc("10:00:00"))], OVERLAP)
    cursor = cursor.advance([("SD-2", utc("10:30:00"))], OVERLAP)
    assert cursor.seen == frozenset({("SD-2", utc("10:30:00"))})


def test_same_instant_in_another_offset_is_the_same_version() -> None:
    cursor = JqlCursor().advance([("SD-1", utc("10:40:30"))], OVERLAP)
    sydney = utc("10:40:30").astimezone(ZoneInfo("Australia/Sydney"))
    assert cursor.delivered("SD-1", sydney)


def test_cursor_survives_encoding() -> None:
    cursor = JqlCursor().advance([("SD-1", utc("10:40:30")), ("SD-2", utc("10:41:07"))], OVERLAP)
    assert JqlCursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize("text", ["", "[]", '{"v": 99}', '{"v":1,"updated":"2026-11-02T10:00"}'])
def test_foreign_or_naive_cursor_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        JqlCursor.decode(text)


def test_jql_time_is_written_in_the_profile_time_zone() -> None:
    assert jql_wall_time(utc("17:03:00"), ZoneInfo("Australia/Sydney")) == "2026-11-03 04:03"


def test_jql_time_in_a_repeated_hour_steps_back_so_nothing_is_skipped() -> None:
    # 2026-11-01 05:30 UTC is 01:30 EDT, the first of two 01:30s in New York.
    instant = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    text = jql_wall_time(instant, ZoneInfo("America/New_York"))
    assert text == "2026-11-01 00:30"
    local = datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo("America/New_York"))
    assert local.astimezone(UTC) <= instant


def test_poll_jql_after_a_cursor_asks_from_the_window_start() -> None:
    cursor = JqlCursor().advance([("SD-1", utc("17:05:30"))], OVERLAP)
    jql = poll_jql(
        ["ITSD", "OPS"],
        cursor,
        zone=UTC,
        overlap=OVERLAP,
        now=utc("18:00:00"),
        full_read_lookback=timedelta(days=30),
    )
    assert jql == (
        'project in ("ITSD", "OPS") AND updated >= "2026-11-02 17:03" ORDER BY updated ASC'
    )


def test_poll_jql_without_cursor_reads_open_issues_and_recent_ones() -> None:
    jql = poll_jql(
        ["ITSD"],
        None,
        zone=UTC,
        overlap=OVERLAP,
        now=utc("18:00:00"),
        full_read_lookback=timedelta(days=30),
    )
    assert jql == (
        'project in ("ITSD") AND (statusCategory != Done OR updated >= '
        '"2026-10-03 18:00") ORDER BY updated ASC'
    )


def test_jql_strings_are_escaped() -> None:
    assert jql_quote('A "B" \\') == '"A \\"B\\" \\\\"'
