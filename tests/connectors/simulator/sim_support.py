"""Helpers shared by the simulator tests: a hand-moved virtual clock and polling shortcuts."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sla_connector_psa.simulator import SimulatorConnector, create

from sla_connector.core.ports import PollPage
from sla_connector.core.ticket import Ticket

# A Monday: the month below holds four whole weeks plus a Monday and a Tuesday.
START = datetime(2026, 11, 2, tzinfo=UTC)


class VirtualClock:
    """A ``Clock`` that moves only when a test moves it."""

    def __init__(self, now: datetime = START) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> datetime:
        self.current += delta
        return self.current


def make(clock: VirtualClock, **settings: Any) -> SimulatorConnector:
    """A simulator named ``sim`` starting at START (seed 7, 400/day unless overridden)."""
    base: dict[str, Any] = {
        "type": "simulator",
        "seed": 7,
        "tickets_per_day": 400,
        "start": START.isoformat(),
    }
    return create("sim", {**base, **settings}, clock)


def poll(connector: SimulatorConnector, cursor: str | None) -> list[PollPage]:
    """Every page of one ``fetch_changed`` call."""

    async def run() -> list[PollPage]:
        return [page async for page in connector.fetch_changed(cursor)]

    return asyncio.run(run())


def poll_tickets(connector: SimulatorConnector, cursor: str | None) -> tuple[list[Ticket], str]:
    """The tickets of one poll and the cursor of its last page."""
    pages = poll(connector, cursor)
    cursor_after = pages[-1].cursor
    assert cursor_after is not None
    return [ticket for page in pages for ticket in page.tickets], cursor_after


def snapshot(tickets: list[Ticket]) -> list[Mapping[str, Any]]:
    return [ticket.to_json() for ticket in tickets]
