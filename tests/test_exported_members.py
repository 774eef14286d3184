"""The package's public surface is pinned: a change to it is a deliberate, reviewed change."""

from __future__ import annotations

from datetime import datetime, timedelta

import sla_connector


def test_public_names_are_exactly_these() -> None:
    assert sorted(sla_connector.__all__) == [
        "BusinessCalendar",
        "ConfigError",
        "ConnectorError",
        "Event",
        "FatalConnectorError",
        "Policy",
        "RetriableConnectorError",
        "SlaConnectorError",
        "StoreError",
        "Ticket",
        "TicketError",
        "TicketEvaluation",
        "__version__",
        "evaluate",
        "parse_ticket",
    ]
    for name in sla_connector.__all__:
        assert hasattr(sla_connector, name), name


def test_business_calendar_is_exported_with_its_documented_contract() -> None:
    calendar = sla_connector.BusinessCalendar.from_config(
        {"timezone": "Europe/London", "hours": {"mon-fri": ["08:00-18:00"]}}
    )
    start = datetime.fromisoformat("2026-11-06T17:00:00+00:00")  # Friday 17:00
    due = calendar.add(start, timedelta(hours=2))
    assert due == datetime.fromisoformat("2026-11-09T09:00:00+00:00")
    assert due.utcoffset() == timedelta(0)
    assert calendar.elapsed(start, due) == timedelta(hours=2)
    assert calendar.next_open(start) == start
    assert calendar.add_days(start, 1) == datetime.fromisoformat("2026-11-09T17:00:00+00:00")
