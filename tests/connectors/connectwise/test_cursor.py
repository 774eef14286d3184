"""The ConnectWise poll cursor and condition literals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sla_connector_psa.connectwise.cursor import Cursor, quote, when

T = datetime(2026, 3, 2, 9, 14, tzinfo=UTC)


def test_condition_literals_bracket_dates_and_escape_quotes() -> None:
    assert when(datetime(2026, 3, 2, 9, 0, 0, 500, tzinfo=UTC)) == "[2026-03-02T09:00:00Z]"
    assert quote('Desk "A"') == '"Desk \\"A\\""'


def test_cursor_round_trips_and_rejects_foreign_text() -> None:
    cursor = Cursor(since=T, seen={"7": "2026-03-02T09:14:00Z"}, full_at=T, retry={"9": 2})
    assert Cursor.decode(cursor.encode()) == cursor
    with pytest.raises(ValueError, match="not a ConnectWise cursor"):
        Cursor.decode('{"v": 2}')
