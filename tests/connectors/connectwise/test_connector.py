"""ConnectWise polling: paging, cursor, history into events, first response, rejects, economy."""

from __future__ import annotations

import itertools
import json
import logging
from datetime import datetime, timedelta

import httpx
import pytest

from sla_connector.core.calendars import to_us
from sla_connector.core.clocks import build_runs
from sla_connector.core.policy import StatusSets
from sla_connector.core.ticket import Event, parse_ticket

from .support import T0, FakeConnectWise, iso, load, make_connector, make_ticket, poll

pytestmark = pytest.mark.anyio


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def fill(
    fake: FakeConnectWise,
    count: int,
    *,
    start: int = 1,
    updated: datetime = T0,
    responded: bool = False,
) -> None:
    for i in range(start, start + count):
        when = updated + timedelta(seconds=i)
        fake.add(make_ticket(i, updated=when, responded=when if responded else None))
    fake.feed = list(range(start, start + count))


async def test_incremental_poll_pages_through_three_pages_with_board_and_date_conditions() -> None:
    fake = FakeConnectWise()
    fill(fake, 7)
    connector, _ = make_connector(fake, page_size=3)
    pages = [page async for page in connector.fetch_changed(None)]
    assert [len(p.tickets) for p in pages] == [3, 3, 1]
    assert [t.id for p in pages for t in p.tickets] == [str(i) for i in range(1, 8)]
    feed = fake.calls("GET", "/service/tickets")
    feed = [r for r in feed if r.url.path.endswith("/service/tickets")]
    assert [r.url.params["page"] for r in feed] == ["1", "2", "3"]
    params = feed[0].url.params
    assert params["pageSize"] == "3"
    assert params["orderBy"] == "id asc"
    assert params["conditions"] == (
        'board/name in ("Service Desk") AND (closedFlag = false OR lastUpdated > '
        "[2026-02-23T12:00:00Z])"
    )
    # intermediate pages do not advance the cursor; only the last one does
    assert pages[0].cursor is None and pages[1].cursor is None
    assert pages[2].cursor is not None


async def test_second_poll_uses_returned_cursor_with_overlap_and_skips_seen_rows() -> None:
    fake = FakeConnectWise()
    fill(fake, 2)
    connector, _ = make_connector(fake)
    _, cursor, _ = await poll(connector, None)
    assert cursor is not None
    assert json.loads(cursor)["since"] == iso(T0 + timedelta(seconds=2))
    fake.requests.clear()
    fake.feed = [1, 2]  # the overlap window re-reads both; neither changed
    tickets, cursor2, _ = await poll(connector, cursor)
    assert tickets == []
    feed = fake.requests[0]
    assert feed.url.params["conditions"] == (
        'board/name in ("Service Desk") AND lastUpdated > [2026-03-02T11:58:02Z]'
    )
    assert json.loads(cursor2 or "")["since"] == json.loads(cursor)["since"]


async def test_cursor_survives_a_new_connector_instance() -> None:
    fake = FakeConnectWise()
    fill(fake, 1)
    first, _ = make_connector(fake)
    _, cursor, _ = await poll(first, None)
    fake.tickets[1] = make_ticket(1, updated=T0 + timedelta(minutes=5))
    fake.feed = [1]
    second, _ = make_connector(fake)
    tickets, _, _ = await poll(second, cursor)
    assert [t.id for t in tickets] == ["1"]
    assert "lastUpdated > [2026-03-02T11:58:01Z]" in fake.requests[-3].url.params["conditions"]


async def test_audit_trail_becomes_status_priority_and_assignee_events() -> None:
    fake = FakeConnectWise()
    raw = load("ticket.json")
    fake.add(raw, audit=load("audittrail.json"))
    fake.feed = [1001]
    connector, _ = make_connector(fake, first_response="date_responded")
    tickets, _, _ = await poll(connector, None)
    ticket = tickets[0]
    assert ticket.client == "acme"
    assert ticket.channel == "email"
    assert ticket.status == "In Progress"
    assert ticket.created_at == at("2026-03-02T09:14:00Z")
    assert list(ticket.events) == [
        Event(at("2026-03-02T09:14:00Z"), "status", to="New"),
        Event(at("2026-03-02T09:20:00Z"), "status", to="Acknowledged", by="asmith"),
        Event(at("2026-03-02T09:20:00Z"), "public_reply", by="agent"),
        Event(at("2026-03-02T10:02:00Z"), "status", to="Waiting on Customer", by="asmith"),
        Event(at("2026-03-02T10:05:00Z"), "priority", to="P2", by="dlee"),
        Event(at("2026-03-02T10:06:00Z"), "assignee", to="asmith", by="dlee"),
        Event(at("2026-03-02T10:30:00Z"), "status", to="In Progress", by="Email Connector"),
    ]
    # The pause interval the engine will see: Waiting on Customer from 10:02 to 10:30.
    statuses = [(e.at, e.to) for e in ticket.events if e.type == "status"]
    pause = [
        (a, b) for (a, s), (b, _) in itertools.pairwise(statuses) if s == "Waiting on Customer"
    ]
    assert pause == [(at("2026-03-02T10:02:00Z"), at("2026-03-02T10:30:00Z"))]
    # and the canonical JSON round-trips through the core validator
    assert parse_ticket(ticket.to_json(), known_sources={"cw"}) == ticket


async def test_first_response_from_notes_skips_description_auto_ack_and_internal_notes() -> None:
    fake = FakeConnectWise()
    raw = load("ticket.json")
    del raw["dateResponded"]
    fake.add(raw, notes=load("notes.json"))
    fake.feed = [1001]
    connector, _ = make_connector(fake, first_response="notes")
    tickets, _, _ = await poll(connector, None)
    replies = [e for e in tickets[0].events if e.type in ("public_reply", "comment")]
    assert replies == [
        Event(at("2026-03-02T09:15:00Z"), "comment", by="workflow"),
        Event(at("2026-03-02T09:18:00Z"), "comment", by="asmith"),
        Event(at("2026-03-02T09:22:00Z"), "public_reply", by="agent"),
        Event(at("2026-03-02T10:29:00Z"), "public_reply", by="customer"),
    ]


async def test_first_response_from_date_responded_needs_no_notes_request() -> None:
    fake = FakeConnectWise()
    fake.add(load("ticket.json"), notes=load("notes.json"))
    fake.feed = [1001]
    connector, _ = make_connector(fake)  # first_response: both
    tickets, _, _ = await poll(connector, None)
    assert Event(at("2026-03-02T09:20:00Z"), "public_reply", by="agent") in tickets[0].events
    assert fake.calls("GET", "/notes") == []


async def test_unmapped_company_is_lowercased_and_reported_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeConnectWise()
    for i in (1, 2, 3):
        fake.add(make_ticket(i, company="INITECH"))
    fake.feed = [1, 2, 3]
    connector, _ = make_connector(fake)
    with caplog.at_level(logging.WARNING):
        tickets, _, _ = await poll(connector, None)
    assert {t.client for t in tickets} == {"initech"}
    assert [r.getMessage() for r in caplog.records if "unmapped" in r.getMessage()] == [
        "unmapped company INITECH in connector cw"
    ]


async def test_ticket_born_waiting_gets_a_status_event_at_creation() -> None:
    fake = FakeConnectWise()
    fake.add(make_ticket(5, status="Waiting on Customer"))
    fake.feed = [5]
    connector, _ = make_connector(fake, first_response="date_responded")
    tickets, _, _ = await poll(connector, None)
    assert tickets[0].events[0] == Event(tickets[0].created_at, "status", to="Waiting on Customer")


async def test_malformed_rows_are_rejected_with_reasons_and_the_page_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeConnectWise()
    fill(fake, 4)
    fake.tickets[2]["_info"]["dateEntered"] = "yesterday"
    del fake.tickets[3]["company"]
    fake.feed = [1, 2, 3, 4]
    connector, _ = make_connector(fake)
    with caplog.at_level(logging.WARNING):
        tickets, _, rejected = await poll(connector, None)
    assert [t.id for t in tickets] == ["1", "4"]
    assert rejected == [
        ("2", "ticket 2: _info.dateEntered: 'yesterday' is not an ISO 8601 time"),
        ("3", "ticket 3: company.identifier: missing"),
    ]
    assert "ticket 2 rejected" in caplog.text


async def test_a_truncated_audit_body_is_retried_within_the_request() -> None:
    """Issue 10 item 4: a truncated body is as transient as a 500 (retried in place)."""
    fake = FakeConnectWise()
    fill(fake, 3)
    fake.script("audit", httpx.Response(200, json=[]), httpx.Response(200, content=b"[{not"))
    connector, _ = make_connector(fake)
    tickets, _, rejected = await poll(connector, None)
    assert [t.id for t in tickets] == ["1", "2", "3"] and rejected == []


async def test_malformed_audit_json_rejects_that_ticket_and_retries_it_next_poll() -> None:
    fake = FakeConnectWise()
    fill(fake, 3)
    bad = [httpx.Response(200, content=b"[{not json") for _ in range(5)]  # every attempt
    fake.script("audit", httpx.Response(200, json=[]), *bad)
    connector, sleep = make_connector(fake)
    pages = [page async for page in connector.fetch_changed(None)]
    tickets = [t for page in pages for t in page.tickets]
    rejected = [r for page in pages for r in page.rejected]
    cursor = pages[-1].cursor
    assert [t.id for t in tickets] == ["1", "3"]
    assert rejected[0][0] == "2" and "malformed JSON" in rejected[0][1]
    failures = [f for page in pages for f in page.failures]
    assert [(f.kind, f.object_id, f.attempts) for f in failures] == [("ticket", "2", 1)]
    assert connector.health().failures == tuple(failures)
    assert json.loads(cursor or "")["retry"] == {"2": 1}
    fake.requests.clear()
    fake.feed = []
    sleep.clock.at += timedelta(minutes=1)  # its back-off has passed
    tickets, cursor, _ = await poll(connector, cursor)
    assert [t.id for t in tickets] == ["2"]
    assert fake.requests[0].url.params["conditions"] == "id in (2)"
    assert "retry" not in json.loads(cursor or "")


async def test_unchanged_poll_over_10000_open_tickets_costs_one_request() -> None:
    fake = FakeConnectWise()
    connector, _ = make_connector(fake)
    cursor = json.dumps(
        {"v": 1, "since": "2026-03-02T11:59:00Z", "full_at": "2026-03-02T11:00:00Z"}
    )
    template = make_ticket(1, updated=T0 - timedelta(days=1))
    for i in range(1, 10_001):  # open tickets, none updated since the cursor
        fake.add({**template, "id": i})
    fake.feed = []  # nothing changed since the cursor
    before = connector.http.requests_made
    tickets, _, _ = await poll(connector, cursor)
    assert tickets == []
    assert connector.http.requests_made - before == 1


async def test_changed_tickets_without_status_moves_cost_one_feed_page_per_100() -> None:
    fake = FakeConnectWise()
    fill(fake, 250, responded=True)
    connector, _ = make_connector(fake)
    _, cursor, _ = await poll(connector, None)  # start-up: full read with histories
    later = T0 + timedelta(minutes=10)
    for i in range(1, 251):  # a comment or field edit on each: status/priority/owner unchanged
        fake.tickets[i]["_info"]["lastUpdated"] = iso(later + timedelta(seconds=i))
    before = connector.http.requests_made
    tickets, _, _ = await poll(connector, cursor)
    assert len(tickets) == 250
    assert connector.http.requests_made - before == 3  # pages of 100, 100, 50


def status_entry(old: str, new: str, when: datetime, by: str = "asmith") -> dict[str, str]:
    return {
        "text": f'Status changed from "{old}" to "{new}"',
        "enteredDate": iso(when),
        "enteredBy": by,
        "auditType": "Ticket",
        "auditSubType": "Status",
        "auditSource": "Manage",
    }


async def test_changed_tickets_with_status_moves_cost_one_feed_page_per_100() -> None:
    fake = FakeConnectWise()
    fill(fake, 250, responded=True)
    connector, sleep = make_connector(fake)
    _, cursor, _ = await poll(connector, None)  # start-up: full read with histories
    paused_at = T0 + timedelta(minutes=10)
    resumed_at = T0 + timedelta(minutes=40)
    for i in range(1, 251):  # every ticket moves to a paused status
        fake.tickets[i]["status"]["name"] = "Waiting on Customer"
        fake.tickets[i]["_info"]["lastUpdated"] = iso(paused_at + timedelta(seconds=i))
    sleep.clock.at = paused_at + timedelta(minutes=5)
    fake.requests.clear()
    tickets, cursor, _ = await poll(connector, cursor)
    assert len(tickets) == 250
    assert [r.url.path.rsplit("/", 1)[-1] for r in fake.requests] == ["tickets"] * 3
    assert [r.url.params["page"] for r in fake.requests] == ["1", "2", "3"]
    assert fake.calls("GET", "/system/audittrail") == []
    first = tickets[0]
    assert first.events[-1] == Event(
        paused_at + timedelta(seconds=1), "status", to="Waiting on Customer"
    )
    for i in range(1, 251):  # ... and back to work
        fake.tickets[i]["status"]["name"] = "In Progress"
        fake.tickets[i]["_info"]["lastUpdated"] = iso(resumed_at + timedelta(seconds=i))
    sleep.clock.at = resumed_at + timedelta(minutes=5)
    fake.requests.clear()
    tickets, _, _ = await poll(connector, cursor)
    assert len(fake.requests) == 3 and fake.calls("GET", "/system/audittrail") == []
    ticket = tickets[0]
    assert [(e.at, e.to) for e in ticket.events if e.type == "status"] == [
        (ticket.created_at, "In Progress"),
        (paused_at + timedelta(seconds=1), "Waiting on Customer"),
        (resumed_at + timedelta(seconds=1), "In Progress"),
    ]
    sets = StatusSets.of(paused=("Waiting on Customer",), resolved=("Resolved", "Closed"))
    _, cycles = build_runs(ticket, sets, "resume", to_us(T0 + timedelta(hours=1)))
    assert cycles[0].running == [
        (to_us(ticket.created_at), to_us(paused_at + timedelta(seconds=1))),
        (to_us(resumed_at + timedelta(seconds=1)), to_us(T0 + timedelta(hours=1))),
    ]


async def test_status_change_after_full_read_is_derived_from_the_feed_row() -> None:
    fake = FakeConnectWise()
    fill(fake, 3, responded=True)
    connector, _ = make_connector(fake)
    _, cursor, _ = await poll(connector, None)
    later = T0 + timedelta(minutes=10)
    fake.tickets[2].update(make_ticket(2, status="Resolved", updated=later, responded=later))
    fake.audits[2] = [status_entry("In Progress", "Resolved", later - timedelta(seconds=30))]
    fake.feed = [2]
    fake.requests.clear()
    tickets, _, _ = await poll(connector, cursor)
    assert [r.url.path.rsplit("/", 1)[-1] for r in fake.requests] == ["tickets"]
    assert [e for e in tickets[0].events if e.type == "status"][-1] == Event(
        later, "status", to="Resolved"
    )
    # fetch_ticket (verify-before-fire) reads the exact audit trail
    fake.requests.clear()
    exact = await connector.fetch_ticket("2")
    assert [r.url.path.rsplit("/", 1)[-1] for r in fake.requests] == ["2", "audittrail"]
    assert [e for e in exact.events if e.type == "status"][-1] == Event(
        later - timedelta(seconds=30), "status", to="Resolved", by="asmith"
    )


async def test_owner_and_priority_moves_are_derived_from_the_feed_but_not_our_own_write() -> None:
    fake = FakeConnectWise()
    fill(fake, 2, responded=True)
    connector, _ = make_connector(fake)
    _, cursor, _ = await poll(connector, None)
    ours = await connector.fetch_ticket("1")
    assert (await connector.set_priority(ours, "P1")).ok
    later = T0 + timedelta(minutes=10)
    fake.tickets[1]["_info"]["lastUpdated"] = iso(later)  # our PATCH set Priority 1
    fake.tickets[2].update(
        make_ticket(2, priority="Priority 3 - Normal", owner="dlee", updated=later, responded=later)
    )
    fake.feed = [1, 2]
    fake.requests.clear()
    tickets, _, _ = await poll(connector, cursor)
    assert len(fake.requests) == 1
    by_id = {t.id: t for t in tickets}
    assert [e for e in by_id["1"].events if e.type in ("priority", "assignee")] == []
    assert by_id["1"].source_priority == "Priority 1 - Critical"
    assert [e for e in by_id["2"].events if e.type in ("priority", "assignee")] == [
        Event(later, "assignee", to="dlee"),
        Event(later, "priority", to="P3"),
    ]


async def test_notes_mode_reads_notes_only_at_full_reads_and_in_fetch_ticket() -> None:
    fake = FakeConnectWise()
    fill(fake, 1)
    connector, _ = make_connector(fake, first_response="notes")
    _, cursor, _ = await poll(connector, None)
    assert len(fake.calls("GET", "/allNotes")) == 1
    later = T0 + timedelta(minutes=10)
    reply = {
        **load("note_created.json"),
        "ticketId": 1,
        "text": "On it",
        "detailDescriptionFlag": True,
        "internalAnalysisFlag": False,
        "dateCreated": iso(later),
        "member": {"id": 3, "identifier": "asmith"},
    }
    reply.pop("contact", None)
    fake.notes[1] = [reply]
    fake.tickets[1]["_info"]["lastUpdated"] = iso(later)
    fake.requests.clear()
    tickets, _, _ = await poll(connector, cursor)
    assert len(fake.requests) == 1
    assert [e for e in tickets[0].events if e.type == "public_reply"] == []
    ticket = await connector.fetch_ticket("1")
    assert Event(later, "public_reply", by="agent") in ticket.events


async def test_ticket_created_since_the_last_poll_costs_no_history_request() -> None:
    fake = FakeConnectWise()
    fill(fake, 1, responded=True)
    connector, _ = make_connector(fake)
    _, cursor, _ = await poll(connector, None)
    later = T0 + timedelta(minutes=10)
    fake.add(
        make_ticket(
            9,
            status="Acknowledged",
            updated=later,
            entered=later - timedelta(minutes=5),
            responded=later,
        ),
        audit=[status_entry("New", "Acknowledged", later)],
    )
    fake.feed = [9]
    fake.requests.clear()
    tickets, _, _ = await poll(connector, cursor)
    assert [r.url.path.rsplit("/", 1)[-1] for r in fake.requests] == ["tickets"]
    # Its feed row is its whole past: the status is dated at lastUpdated, never earlier.
    assert [(e.at, e.to) for e in tickets[0].events if e.type == "status"] == [
        (later, "Acknowledged")
    ]


async def test_older_ticket_unknown_after_a_restart_gets_its_audit_trail_read() -> None:
    fake = FakeConnectWise()
    start = T0 - timedelta(hours=1)
    fake.add(
        make_ticket(9, status="In Progress", updated=start, entered=start, responded=start),
        audit=[status_entry("New", "In Progress", start)],
    )
    fake.feed = [9]
    connector, _ = make_connector(fake)
    _, cursor, _ = await poll(connector, None)
    restarted, _ = make_connector(fake)  # a new process resuming from the saved cursor
    later = T0 + timedelta(minutes=10)
    fake.tickets[9].update(
        make_ticket(9, status="Acknowledged", updated=later, entered=start, responded=start)
    )
    fake.audits[9].append(status_entry("In Progress", "Acknowledged", later))
    fake.requests.clear()
    tickets, _, _ = await poll(restarted, cursor)
    assert [r.url.path.rsplit("/", 1)[-1] for r in fake.requests] == ["tickets", "audittrail"]
    assert [(e.to, e.by) for e in tickets[0].events if e.type == "status"][-1] == (
        "Acknowledged",
        "asmith",
    )


async def test_audit_trail_lagging_the_row_keeps_the_snapshot_instant_on_later_polls() -> None:
    fake = FakeConnectWise()
    start = T0 - timedelta(hours=1)
    fake.add(
        make_ticket(1, status="Resolved", updated=start, responded=start),
        audit=[status_entry("New", "In Progress", start - timedelta(minutes=30))],
    )
    fake.feed = [1]
    connector, _ = make_connector(fake)
    tickets, cursor, _ = await poll(connector, None)
    assert [e for e in tickets[0].events if e.type == "status"][-1] == Event(
        start, "status", to="Resolved"
    )
    fake.tickets[1]["_info"]["lastUpdated"] = iso(T0 + timedelta(minutes=10))  # a comment
    tickets, _, _ = await poll(connector, cursor)
    assert [e for e in tickets[0].events if e.type == "status"][-1] == Event(
        start, "status", to="Resolved"
    )


async def test_reconcile_interval_forces_a_full_read() -> None:
    fake = FakeConnectWise()
    fill(fake, 1)
    connector, sleep = make_connector(fake, reconcile_interval="1h")
    _, cursor, _ = await poll(connector, None)
    sleep.clock.at += timedelta(minutes=30)
    fake.requests.clear()
    await poll(connector, cursor)
    assert "closedFlag" not in fake.requests[0].url.params["conditions"]
    sleep.clock.at += timedelta(minutes=31)
    fake.requests.clear()
    await poll(connector, cursor)
    assert "closedFlag = false" in fake.requests[0].url.params["conditions"]


async def test_unreadable_cursor_falls_back_to_a_full_read() -> None:
    fake = FakeConnectWise()
    fill(fake, 1)
    connector, _ = make_connector(fake)
    tickets, cursor, _ = await poll(connector, "not-a-cursor")
    assert [t.id for t in tickets] == ["1"]
    assert json.loads(cursor or "")["v"] == 1


async def test_fetch_ticket_reads_ticket_audit_and_maps_it() -> None:
    fake = FakeConnectWise()
    fake.add(load("ticket.json"), audit=load("audittrail.json"))
    connector, _ = make_connector(fake)
    ticket = await connector.fetch_ticket("1001")
    assert ticket.id == "1001" and ticket.source == "cw"
    assert ticket.extra["board"] == "Service Desk"
    # The audit trail shows priority changes: the API members are read once to tell ours.
    paths = [r.url.path.rsplit("/", 1)[-1] for r in fake.requests]
    assert paths == ["1001", "audittrail", "members"]


async def test_every_request_carries_auth_client_id_and_pinned_version() -> None:
    fake = FakeConnectWise()
    fill(fake, 1)
    connector, _ = make_connector(fake, first_response="notes")
    await poll(connector, None)
    assert len(fake.requests) == 3
    for request in fake.requests:
        assert request.headers["Authorization"] == "Basic bXNwY28rcHViS0VZOnByaXZLRVk="
        assert request.headers["clientId"] == "guid-1234"
        assert request.headers["Accept"] == ("application/vnd.connectwise.com+json; version=2026.4")
