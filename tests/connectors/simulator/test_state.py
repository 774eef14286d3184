"""Write-backs to the simulator: accepted, recorded, visible on re-read and in the next poll."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sla_connector_psa.simulator import SimulatorConnector
from sla_connector_psa.simulator.state import PICKED_UP_SOONER

from sla_connector.core.errors import FatalConnectorError
from sla_connector.core.ticket import Event, Ticket, parse_ticket

from .sim_support import START, VirtualClock, make, poll_tickets


def open_ticket(connector: SimulatorConnector) -> Ticket:
    tickets, _ = poll_tickets(connector, None)
    return next(t for t in tickets if t.status == "open" and t.channel != "monitoring")


async def write_all(connector: SimulatorConnector, ticket: Ticket) -> list[bool]:
    results = [
        await connector.assign(ticket, "dana@msp.example"),
        await connector.set_priority(ticket, "P1"),
        await connector.add_internal_note(ticket, "Escalated: response breached [sla:p1]"),
        await connector.add_tag(ticket, "sla-breach"),
    ]
    return [result.ok for result in results]


def test_write_backs_are_recorded_with_ticket_action_payload_and_virtual_time() -> None:
    clock = VirtualClock(START + timedelta(hours=10))
    connector = make(clock)
    ticket = open_ticket(connector)
    assert asyncio.run(write_all(connector, ticket)) == [True] * 4
    assert [(w.seq, w.ticket_id, w.action, dict(w.payload), w.at) for w in connector.writes] == [
        (1, ticket.id, "assign", {"to": "dana@msp.example"}, clock.now()),
        (2, ticket.id, "set_priority", {"tier": "P1"}, clock.now()),
        (
            3,
            ticket.id,
            "add_internal_note",
            {"text": "Escalated: response breached [sla:p1]"},
            clock.now(),
        ),
        (4, ticket.id, "add_tag", {"tag": "sla-breach"}, clock.now()),
    ]


def test_write_backs_show_on_fetch_ticket() -> None:
    clock = VirtualClock(START + timedelta(hours=10))
    connector = make(clock)
    ticket = open_ticket(connector)
    before = asyncio.run(connector.fetch_ticket(ticket.id))
    assert before.tags == () and before.notes == ()
    clock.advance(timedelta(seconds=5))
    asyncio.run(write_all(connector, ticket))
    after = asyncio.run(connector.fetch_ticket(ticket.id))
    now = clock.now()
    assert Event(at=now, type="assignee", to="dana@msp.example") in after.events
    assert Event(at=now, type="priority", to="P1") in after.events
    assert after.tags == ("sla-breach",)  # the canonical fields, not extra
    assert after.notes == ("Escalated: response breached [sla:p1]",)
    assert "tags" not in after.extra and "notes" not in after.extra
    assert parse_ticket(after.to_json()) == after


def test_written_events_merge_in_time_order_with_later_generated_events() -> None:
    clock = VirtualClock(START + timedelta(hours=10))
    connector = make(clock)
    ticket = open_ticket(connector)
    asyncio.run(write_all(connector, ticket))
    clock.advance(timedelta(days=8))
    later = asyncio.run(connector.fetch_ticket(ticket.id))
    assert len(later.events) > len(ticket.events) + 2
    times = [event.at for event in later.events]
    assert times == sorted(times)
    assert parse_ticket(later.to_json()) == later


def test_repeated_tag_is_recorded_but_not_duplicated_on_the_ticket() -> None:
    clock = VirtualClock(START + timedelta(hours=10))
    connector = make(clock)
    ticket = open_ticket(connector)
    asyncio.run(connector.add_tag(ticket, "sla-breach"))
    asyncio.run(connector.add_tag(ticket, "sla-breach"))
    assert [w.action for w in connector.writes] == ["add_tag", "add_tag"]
    assert asyncio.run(connector.fetch_ticket(ticket.id)).tags == ("sla-breach",)


def test_next_poll_returns_a_written_ticket_once() -> None:
    clock = VirtualClock(START + timedelta(hours=10))
    connector = make(clock)
    ticket = open_ticket(connector)
    _, cursor = poll_tickets(connector, None)
    asyncio.run(connector.add_internal_note(ticket, "checked"))
    changed, cursor = poll_tickets(connector, cursor)  # same virtual instant
    assert [t.id for t in changed] == [ticket.id]
    assert changed[0].notes == ("checked",)
    assert poll_tickets(connector, cursor)[0] == []


def test_unknown_ticket_is_fatal_on_read_and_refused_on_write() -> None:
    clock = VirtualClock(START + timedelta(hours=10))
    connector = make(clock)
    with pytest.raises(FatalConnectorError, match="ticket 42 not found in simulator sim"):
        asyncio.run(connector.fetch_ticket("42"))
    ghost = Ticket(id="42", source="sim", client="acme", created_at=START)
    result = asyncio.run(connector.assign(ghost, "dana@msp.example"))
    assert not result.ok
    assert "not found" in result.detail
    assert connector.writes == ()


def test_check_reports_counts_at_the_present() -> None:
    clock = VirtualClock(START + timedelta(days=2))
    connector = make(clock)
    tickets, _ = poll_tickets(connector, None)
    result = asyncio.run(connector.check())
    assert result.ok
    details = result.details
    assert details["tickets"] == len(tickets)
    assert details["open"] + details["paused"] + details["resolved"] == len(tickets)
    assert details["paused"] == sum(1 for t in tickets if t.status in ("pending", "on-hold"))
    assert details["clients"] == ["acme", "globex", "initech"]
    assert f"{len(tickets)} tickets" in result.summary


def test_connector_refuses_use_after_aclose() -> None:
    connector = make(VirtualClock(START + timedelta(hours=1)))
    asyncio.run(connector.aclose())
    with pytest.raises(FatalConnectorError, match="after aclose"):
        asyncio.run(connector.check())


def test_a_reassigned_ticket_is_picked_up_sooner_and_the_rest_keeps_its_order() -> None:
    """The engineers react to escalations: after a reassignment the rest of the ticket's
    life runs PICKED_UP_SOONER times faster (at least a minute after the write)."""
    now = START + timedelta(hours=10)
    clock = VirtualClock(now)
    connector = make(clock)
    ticket = open_ticket(connector)
    # the same ticket's whole life when nobody escalates it (the stream is deterministic)
    untouched = asyncio.run(make(VirtualClock(now + timedelta(days=10))).fetch_ticket(ticket.id))
    asyncio.run(connector.assign(ticket, "sam@msp.example"))
    asyncio.run(connector.assign(ticket, "terry@msp.example"))  # a second one changes nothing
    state = connector.psa._tickets[connector.psa._by_id[ticket.id]]
    later = [e for e in untouched.events if e.at > now]
    moved = [e for e in state.events if e.at > now]
    assert later and len(moved) == len(later)
    for original, sooner in zip(later, moved, strict=True):
        assert (original.type, original.to, original.by) == (sooner.type, sooner.to, sooner.by)
        expected = max(60, int((original.at - now).total_seconds()) // PICKED_UP_SOONER)
        assert (sooner.at - now).total_seconds() == expected
    assert [e.at for e in state.events] == sorted(e.at for e in state.events)
    # the ticket reads at its sooner instants: its last event is there by moved[-1].at
    clock.advance(moved[-1].at - now)
    assert asyncio.run(connector.fetch_ticket(ticket.id)).events[-1] == moved[-1]
