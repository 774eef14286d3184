"""Builders for store records with sensible defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from sla_connector.core.calendars import to_us
from sla_connector.core.ticket import Event, Ticket
from sla_connector.store import PlannedStep, TicketRow

T0 = to_us(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
MINUTE = 60_000_000


def ticket_row(n: int, **overrides: Any) -> TicketRow:
    """Ticket ``n`` of source ``zd``, open, P2, with a real canonical ticket JSON."""
    created = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    ticket = Ticket(
        id=str(n),
        source=overrides.get("source", "zd"),
        client=overrides.get("client", "acme"),
        created_at=created,
        subject=f"ticket {n}",
        status="open",
        events=(Event(at=created, type="status", to="open"),),
    )
    values: dict[str, Any] = {
        "source": "zd",
        "id": str(n),
        "client": "acme",
        "tier": "P2",
        "rule": "default",
        "created_at": T0,
        "updated_at": T0 + n,
        "is_open": True,
        "response_state": "running",
        "response_due_at": T0 + 60 * MINUTE,
        "response_breached_at": None,
        "resolution_state": "running",
        "resolution_due_at": T0 + 480 * MINUTE,
        "resolution_breached_at": None,
        "ticket_json": orjson.dumps(ticket.to_json()).decode(),
    }
    values.update(overrides)
    return TicketRow(**values)


def step(key: str, *, due_at: int = T0, **overrides: Any) -> PlannedStep:
    """A planned step of ticket zd:1 due at ``due_at``."""
    values: dict[str, Any] = {
        "key": key,
        "source": "zd",
        "ticket_id": "1",
        "client": "acme",
        "tier": "P1",
        "step": "notify-lead",
        "cycle": 1,
        "due_at": due_at,
        "recipient": "lead@msp.example",
        "actions": ("note", "assign"),
    }
    values.update(overrides)
    return PlannedStep(**values)
