"""Fixtures for the simulator tests: one generated month shared by the mix tests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sla_connector.core.ticket import Ticket

from .sim_support import VirtualClock, make, poll_tickets


@pytest.fixture(scope="session")
def month() -> list[Ticket]:
    """Thirty days at 400 tickets a day (seed 7), read in one full poll at the end."""
    clock = VirtualClock()
    connector = make(clock)
    clock.advance(timedelta(days=30))
    tickets, _ = poll_tickets(connector, None)
    return tickets
