"""Incremental polling of the simulator: each change once, nothing from the future."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from sla_connector.core.ticket import Ticket

from .sim_support import START, VirtualClock, make, poll, poll_tickets, snapshot


def changed_in(ticket: Ticket, after: datetime, until: datetime) -> bool:
    instants = [ticket.created_at, *(event.at for event in ticket.events)]
    return any(after < at <= until for at in instants)


def test_full_read_then_incremental_polls_return_each_change_exactly_once() -> None:
    clock = VirtualClock(START + timedelta(hours=6))
    connector = make(clock)
    first, cursor = poll_tickets(connector, None)
    poll_times = [clock.now()]
    returned = [{t.id for t in first}]
    while clock.now() < START + timedelta(days=2):
        clock.advance(timedelta(minutes=7))
        tickets, cursor = poll_tickets(connector, cursor)
        ids = [t.id for t in tickets]
        assert len(ids) == len(set(ids)), "a ticket appeared twice in one poll"
        poll_times.append(clock.now())
        returned.append(set(ids))
    history, _ = poll_tickets(connector, None)  # everything up to the last poll
    assert {t.id for t in history} == set().union(*returned)
    assert returned[0] == {t.id for t in history if t.created_at <= poll_times[0]}
    for index in range(1, len(poll_times)):
        after, until = poll_times[index - 1], poll_times[index]
        expected = {t.id for t in history if changed_in(t, after, until)}
        assert returned[index] == expected, f"poll at {until}"


def test_poll_with_nothing_changed_returns_no_tickets() -> None:
    clock = VirtualClock(START + timedelta(days=1, hours=10))
    connector = make(clock)
    tickets, cursor = poll_tickets(connector, None)
    assert tickets
    pages = poll(connector, cursor)
    assert len(pages) == 1
    assert pages[0].tickets == ()
    assert pages[0].cursor == cursor  # same instant, no writes: the same position


def test_events_are_never_after_the_clock() -> None:
    clock = VirtualClock(START)
    connector = make(clock)
    cursor = None
    seen = 0
    for _ in range(60):
        clock.advance(timedelta(minutes=37))
        tickets, cursor = poll_tickets(connector, cursor)
        now = clock.now()
        for ticket in tickets:
            assert ticket.created_at <= now
            assert all(event.at <= now for event in ticket.events)
        seen += len(tickets)
    assert seen > 100


def test_ticket_created_later_is_unknown_until_its_creation() -> None:
    clock = VirtualClock(START + timedelta(days=1))
    connector = make(clock)
    clock.advance(timedelta(days=1))
    later, _ = poll_tickets(connector, None)
    ticket = later[-1]
    early = make(VirtualClock(ticket.created_at - timedelta(seconds=1)))
    assert ticket.id not in {t.id for t in poll_tickets(early, None)[0]}
    exactly = make(VirtualClock(ticket.created_at))
    assert ticket.id in {t.id for t in poll_tickets(exactly, None)[0]}


@pytest.mark.parametrize("every", [timedelta(minutes=3), timedelta(hours=5)])
def test_polling_frequency_does_not_change_the_stream(every: timedelta) -> None:
    end = START + timedelta(days=2, hours=3)
    clock = VirtualClock(START)
    polled = make(clock)
    latest: dict[str, Ticket] = {}
    cursor = None
    while clock.now() < end:
        clock.current = min(end, clock.now() + every)
        tickets, cursor = poll_tickets(polled, cursor)
        latest.update((t.id, t) for t in tickets)
    untouched = make(VirtualClock(end))
    full, _ = poll_tickets(untouched, None)
    assert snapshot(sorted(latest.values(), key=lambda t: t.created_at)) == snapshot(full)


def test_pages_hold_page_size_tickets_and_only_the_last_moves_the_cursor() -> None:
    clock = VirtualClock(START + timedelta(days=1))
    connector = make(clock, page_size=40)
    pages = poll(connector, None)
    assert len(pages) > 3
    assert all(len(page.tickets) == 40 for page in pages[:-1])
    assert 0 < len(pages[-1].tickets) <= 40
    assert [page.cursor for page in pages[:-1]] == [None] * (len(pages) - 1)
    cursor = pages[-1].cursor
    clock.advance(timedelta(hours=8))
    again = poll(connector, cursor)
    assert len(again) > 1
    assert all(page.cursor == cursor for page in again[:-1])
    assert again[-1].cursor != cursor


def test_foreign_cursor_falls_back_to_a_full_read(caplog: pytest.LogCaptureFixture) -> None:
    clock = VirtualClock(START + timedelta(hours=12))
    connector = make(clock)
    full, _ = poll_tickets(connector, None)
    with caplog.at_level(logging.WARNING):
        fallback, cursor = poll_tickets(connector, "2026-11-02T00:00:00Z")
    assert snapshot(fallback) == snapshot(full)
    assert "not a simulator cursor" in caplog.text
    assert cursor.startswith("sim1:")
