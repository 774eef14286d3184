"""Incremental polling: export pages, the event stream, audits only when needed, the cursor."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from sla_connector_psa.zendesk import EVENTS_PATH, EXPORT_PATH
from sla_connector_psa.zendesk.connector import PAGE_PART
from sla_connector_psa.zendesk.cursor import ZendeskCursor, decode_cursor, encode_cursor

from sla_connector.core.errors import RetriableConnectorError
from sla_connector.core.ports import BACKGROUND, URGENT, RecalledTicket, request_priority
from sla_connector.core.ticket import Ticket
from tests.connectors.test_http import MemoryLog

from .support import (
    AUTH,
    BASE,
    FULL_READ_START,
    FakeClock,
    events_handler,
    export_handler,
    json_response,
    load,
    make_connector,
    poll,
    poll_parts,
)

pytestmark = pytest.mark.anyio

C1, C2, C3 = "MTc5MzYxMDAwMC4wfHwxMDJ8", "MTc5MzYyNjIwMC4wfHwxMDd8", "MTc5MzYzNzkwMC4wfHwxMDV8"
C4 = "MTc5MzY0NDIwMC4wfHwxMDF8"
E_MID, E_END, E_CHANGE = 1793626200, 1793637900, 1793644200  # 13:30, 16:45, 18:30


def _audits_of(request: httpx.Request) -> httpx.Response:
    """The recorded audits of ticket 102, answered for whichever ticket was asked."""
    tid = int(request.url.path.split("/")[-2])
    audits = load("audits_102_page1.json") | {"next_page": None}
    return json_response(audits | {"audits": [a | {"ticket_id": tid} for a in audits["audits"]]})


def full_read_routes(router: respx.MockRouter, page2: Any | None = None) -> dict[str, Any]:
    return {
        "export": router.get(EXPORT_PATH).mock(
            side_effect=export_handler(
                {
                    f"start_time={FULL_READ_START}": load("export_page1.json"),
                    f"cursor={C1}": page2 if page2 is not None else load("export_page2.json"),
                    f"cursor={C2}": load("export_page3.json"),
                    f"cursor={C3}": load("export_empty.json"),
                    f"cursor={C4}": load("export_empty.json"),
                }
            )
        ),
        "events": router.get(EVENTS_PATH).mock(
            side_effect=events_handler(
                {
                    FULL_READ_START: load("ticket_events_1.json"),
                    E_MID: load("ticket_events_2.json"),
                }
            )
        ),
        "audits": router.get("/api/v2/tickets/102/audits").mock(
            return_value=json_response(load("audits_102_page1.json"))
        ),
        "audits2": router.get("/api/v2/tickets/102/audits.json", params={"page": "2"}).mock(
            return_value=json_response(load("audits_102_page2.json"))
        ),
        "me": router.get("/api/v2/users/me").mock(
            return_value=json_response(load("users_me.json"))
        ),
        "show_many": router.get("/api/v2/users/show_many").mock(
            return_value=json_response(load("users_show_many.json"))
        ),
    }


async def test_full_read_spans_three_export_pages_and_returns_a_resumable_cursor() -> None:
    connector, _ = make_connector()
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes = full_read_routes(router)
        pages = await poll(connector, None)
    assert [[t.id for t in page.tickets] for page in pages] == [["101", "102"], ["103"], ["105"]]
    export_calls = [call.request for call in routes["export"].calls]
    assert [dict(r.url.params) for r in export_calls] == [
        {"include": "users,organizations", "start_time": str(FULL_READ_START)},
        {"include": "users,organizations", "cursor": C1},
        {"include": "users,organizations", "cursor": C2},
    ]
    assert all(r.headers["Authorization"] == AUTH for r in export_calls)
    assert [dict(c.request.url.params) for c in routes["events"].calls] == [
        {"start_time": str(FULL_READ_START), "include": "comment_events"},
        {"start_time": str(E_MID), "include": "comment_events"},
    ]
    # Only ticket 102 (created before the window) needed its audits; only the unknown agent
    # 9003 was looked up; our own id was needed once, for a manual priority change.
    assert routes["audits"].call_count == routes["audits2"].call_count == 1
    assert routes["show_many"].calls.last.request.url.params["ids"] == "9003"
    assert routes["me"].call_count == 1
    assert connector.requests_made == 9
    assert decode_cursor(pages[-1].cursor or "") == ZendeskCursor(events=E_END, export=C3)
    assert [decode_cursor(p.cursor or "").export for p in pages] == [C1, C2, C3]
    by_id = {t.id: t for page in pages for t in page.tickets}
    assert by_id["101"].client == "globex" and by_id["102"].client == "acme"
    assert [e.to for e in by_id["101"].events if e.type == "status"] == [
        "open",
        "pending",
        "open",
        "solved",
    ]
    assert by_id["103"].client == "initech"
    assert connector.unmapped.seen == {("organization", "Initech")}


async def test_second_poll_resumes_from_the_cursor_and_costs_one_request() -> None:
    connector, _ = make_connector()
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes = full_read_routes(router)
        cursor = (await poll(connector, None))[-1].cursor
        before = connector.requests_made
        pages = await poll(connector, cursor)
    assert connector.requests_made - before == 1
    assert dict(routes["export"].calls.last.request.url.params)["cursor"] == C3
    assert [p.tickets for p in pages] == [()]
    assert decode_cursor(pages[0].cursor or "") == ZendeskCursor(events=E_END, export=C3)


async def test_changed_ticket_is_rebuilt_from_the_event_stream_without_audits() -> None:
    clock = FakeClock()
    connector, _ = make_connector(clock)
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes = full_read_routes(router)
        cursor = (await poll(connector, None))[-1].cursor
        routes["export"].side_effect = export_handler({f"cursor={C3}": load("export_change.json")})
        routes["events"].side_effect = events_handler({E_END: load("ticket_events_change.json")})
        before = connector.requests_made
        pages = await poll(connector, cursor)
    assert connector.requests_made - before == 2  # the export page and one event page
    (ticket,) = pages[0].tickets
    assert ticket.id == "101" and ticket.status == "open"
    assert [(e.type, e.to or e.by) for e in ticket.events][-4:] == [
        ("public_reply", "agent"),
        ("status", "solved"),
        ("public_reply", "customer"),
        ("status", "open"),
    ]
    assert len(ticket.events) == 14  # the whole history, not just the new update
    assert decode_cursor(pages[-1].cursor or "") == ZendeskCursor(events=E_CHANGE, export=C4)


async def test_a_stream_page_that_fails_sends_its_tickets_to_their_audits_at_once() -> None:
    # A stream page's retries wait for export slots and held the whole page up in the
    # 50-kill soak (issue 10): one attempt, then the tickets' audits (account budget).
    clock = FakeClock()
    connector, sleep = make_connector(clock)
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes = full_read_routes(router)
        cursor = (await poll(connector, None))[-1].cursor
        routes["export"].side_effect = export_handler({f"cursor={C3}": load("export_change.json")})
        routes["events"].side_effect = [
            httpx.Response(500, json={"error": "InternalServerError"}),
            *[events_handler({E_END: load("ticket_events_change.json")})] * 3,
        ]
        empty = {"audits": [], "count": 0, "next_page": None, "previous_page": None}
        audits = router.get("/api/v2/tickets/101/audits").mock(return_value=json_response(empty))
        events_before, waits_before = routes["events"].call_count, len(sleep.waits)
        pages = await poll(connector, cursor)
    assert routes["events"].call_count - events_before == 1  # not retried
    assert audits.call_count == 1  # ticket 101 from its audits instead
    assert sleep.waits[waits_before:] == [15.25]  # the poll's pace; no back-off for the stream
    (ticket,) = pages[0].tickets
    assert ticket.id == "101" and pages[-1].failures == ()
    # The stream position did not move past the page that failed.
    assert decode_cursor(pages[-1].cursor or "").events == E_END


async def test_restart_with_a_persisted_cursor_reads_audits_once_per_unknown_ticket() -> None:
    cursor = encode_cursor(ZendeskCursor(events=E_END, export=C3))
    page = load("export_empty.json") | {
        "tickets": [load("export_page1.json")["tickets"][1]],
        "users": load("export_page1.json")["users"],
    }
    empty_events = {
        "ticket_events": [],
        "count": 0,
        "end_time": E_END,
        "end_of_stream": True,
        "next_page": None,
    }
    connector, _ = make_connector()
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes = full_read_routes(router)
        routes["export"].side_effect = export_handler({f"cursor={C3}": page})
        routes["events"].side_effect = events_handler({E_END: empty_events})
        (first,) = await poll(connector, cursor)
        second = await poll(connector, first.cursor)
    assert [t.id for t in first.tickets] == [t.id for t in second[0].tickets] == ["102"]
    assert routes["audits"].call_count == 1  # cached: the second poll read no audits
    assert first.tickets == second[0].tickets


async def test_a_page_of_cold_tickets_comes_in_parts_so_a_killed_poll_keeps_what_it_read() -> None:
    # After a restart no history is in memory: each ticket costs an audits read. The page
    # is yielded in parts as the reads finish (issue 10: lives shorter than one page).
    cursor = encode_cursor(ZendeskCursor(events=E_END, export=C3))
    template = load("export_page1.json")["tickets"][1]  # ticket 102, audits in the fixtures
    ids = list(range(1000, 1000 + PAGE_PART * 2 + 3))
    page = load("export_empty.json") | {
        "tickets": [template | {"id": n} for n in ids],
        "users": load("export_page1.json")["users"],
    }
    no_events = {"ticket_events": [], "count": 0, "end_time": E_END, "end_of_stream": True}

    connector, _ = make_connector()
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes = full_read_routes(router)
        routes["export"].side_effect = export_handler({f"cursor={C3}": page})
        routes["events"].side_effect = events_handler({E_END: no_events})
        read = router.get(path__regex=r"^/api/v2/tickets/\d+/audits$").mock(side_effect=_audits_of)
        parts = await poll_parts(connector, cursor)
        assert read.call_count == len(ids)
        # The warm part (nothing known: empty), then the cold tickets PAGE_PART at a time;
        # only the last part carries the cursor, so a poll ended early resumes the page.
        assert [len(p.tickets) for p in parts] == [0, PAGE_PART, PAGE_PART, 3]
        assert [p.cursor is None for p in parts] == [True, True, True, False]
        assert sorted(int(t.id) for p in parts for t in p.tickets) == ids
        # Killed after the first cold part: what it yielded was read, and nothing more.
        fresh, _ = make_connector()
        reads_before = read.call_count
        stream = fresh.fetch_changed(cursor)
        seen = [await anext(stream), await anext(stream)]
        await stream.aclose()
        assert [t.id for t in seen[1].tickets] == [str(n) for n in ids[:PAGE_PART]]
        assert read.call_count - reads_before == PAGE_PART


class _Memory:
    """The store's snapshots, as ``TicketMemory`` hands them to the connector."""

    def __init__(self, tickets: dict[str, Ticket], seen_at: datetime) -> None:
        self.tickets, self.seen_at = tickets, seen_at

    def recall_tickets(self, source: str, ticket_ids: Sequence[str]) -> dict[str, RecalledTicket]:
        return {
            tid: RecalledTicket(self.tickets[tid], self.seen_at)
            for tid in ticket_ids
            if tid in self.tickets
        }


async def test_a_ticket_the_store_never_saw_is_read_first_and_urgently() -> None:
    # A changed ticket's steps are armed from its snapshot and verified when due; a new
    # one's can fire only once it is read, and the export shows it 60 s late (issue 10).
    template = load("export_page1.json")["tickets"][1]
    ids = list(range(1000, 1000 + PAGE_PART + 2))
    cursor = encode_cursor(ZendeskCursor(events=E_END, export=C3))
    audits = load("audits_102_page1.json") | {"next_page": None}
    priority: dict[int, str] = {}

    def audits_of(request: httpx.Request) -> httpx.Response:
        tid = int(request.url.path.split("/")[-2])
        priority[tid] = request_priority.get()
        return json_response(
            audits | {"audits": [a | {"ticket_id": tid} for a in audits["audits"]]}
        )

    def page_at(updated: str) -> dict[str, Any]:
        raws = [template | {"id": n, "updated_at": updated} for n in ids]
        return load("export_empty.json") | {
            "tickets": raws,
            "users": load("export_page1.json")["users"],
        }

    no_events = {"ticket_events": [], "count": 0, "end_time": E_END, "end_of_stream": True}
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes = full_read_routes(router)
        routes["events"].side_effect = events_handler({E_END: no_events})
        router.get(path__regex=r"^/api/v2/tickets/\d+/audits$").mock(side_effect=audits_of)
        routes["export"].side_effect = export_handler(
            {f"cursor={C3}": page_at("2026-11-02T17:00:00Z")}
        )
        first, _ = make_connector()
        (seen,) = await poll(first, cursor)
        # The store has all but the last ticket; each of them changed since.
        memory = _Memory({t.id: t for t in seen.tickets if t.id != str(ids[-1])}, datetime.now(UTC))
        routes["export"].side_effect = export_handler(
            {f"cursor={C3}": page_at("2026-11-02T17:30:00Z")}
        )
        restarted, _ = make_connector()
        restarted.recall_with(memory)
        priority.clear()
        parts = await poll_parts(restarted, cursor)
    cold = [[t.id for t in p.tickets] for p in parts[1:]]
    assert cold[0][0] == str(ids[-1])  # last on the export page, first to be read
    assert sorted(int(t) for part in cold for t in part) == ids
    assert priority[ids[-1]] == URGENT
    assert {priority[n] for n in ids[:-1]} == {BACKGROUND}


async def test_a_never_seen_ticket_is_handed_over_as_soon_as_it_is_read() -> None:
    # A life killed while a slow neighbour's read is retried must have planned the tickets
    # it did read (issue 10, the 50-kill soak: a new ticket read in one life waited in its
    # part, the life was killed, and its step fell due before a later life read it again).
    template = load("export_page1.json")["tickets"][1]
    quick, slow = 1000, 1001
    cursor = encode_cursor(ZendeskCursor(events=E_END, export=C3))
    audits = load("audits_102_page1.json") | {"next_page": None}
    release = asyncio.Event()

    async def audits_of(request: httpx.Request) -> httpx.Response:
        tid = int(request.url.path.split("/")[-2])
        if tid == slow:
            await release.wait()
        return json_response(
            audits | {"audits": [a | {"ticket_id": tid} for a in audits["audits"]]}
        )

    page = load("export_empty.json") | {
        "tickets": [template | {"id": n} for n in (slow, quick)],
        "users": load("export_page1.json")["users"],
    }
    no_events = {"ticket_events": [], "count": 0, "end_time": E_END, "end_of_stream": True}
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes = full_read_routes(router)
        routes["events"].side_effect = events_handler({E_END: no_events})
        router.get(path__regex=r"^/api/v2/tickets/\d+/audits$").mock(side_effect=audits_of)
        routes["export"].side_effect = export_handler({f"cursor={C3}": page})
        connector, _ = make_connector()
        connector.recall_with(_Memory({}, datetime.now(UTC)))  # a store that saw neither
        stream = connector.fetch_changed(cursor)
        warm = await asyncio.wait_for(anext(stream), 5)
        first = await asyncio.wait_for(anext(stream), 5)  # before the slow read is answered
        release.set()
        rest = [part async for part in stream]
    assert (warm.tickets, warm.cursor) == ((), None)
    assert ([t.id for t in first.tickets], first.cursor) == ([str(quick)], None)
    assert [t.id for p in rest for t in p.tickets] == [str(slow)]
    assert rest[-1].cursor is not None


async def test_history_lagging_the_export_is_read_from_audits() -> None:
    connector, _ = make_connector()
    raw = load("export_page1.json")["tickets"][0] | {"updated_at": "2026-11-02T17:30:00Z"}
    empty = {
        "ticket_events": [],
        "count": 0,
        "end_time": None,
        "end_of_stream": True,
        "next_page": None,
    }
    audits_101 = {"audits": [], "count": 0, "next_page": None, "previous_page": None}
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes = full_read_routes(router)
        cursor = (await poll(connector, None))[-1].cursor
        routes["export"].side_effect = export_handler(
            {f"cursor={C3}": load("export_empty.json") | {"tickets": [raw]}}
        )
        routes["events"].side_effect = events_handler({E_END: empty})
        read = router.get("/api/v2/tickets/101/audits").mock(return_value=json_response(audits_101))
        await poll(connector, cursor)
    assert read.call_count == 1


async def test_malformed_tickets_are_rejected_with_reasons_and_the_page_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    page2 = load("export_page2.json")
    naive = dict(page2["tickets"][0], id=107, created_at="2026-11-02T12:40:00")
    deleted = dict(page2["tickets"][0], id=106, status="deleted")
    page2["tickets"] += [naive, "garbage", deleted]
    connector, _ = make_connector()
    with (
        caplog.at_level(logging.WARNING),
        respx.mock(base_url=BASE, assert_all_called=False) as router,
    ):
        full_read_routes(router, page2=page2)
        pages = await poll(connector, None)
    assert [t.id for t in pages[1].tickets] == ["103"]
    assert pages[1].rejected == (
        ("104", "ticket 104: created_at: missing"),
        (
            "107",
            "ticket 107: created_at: '2026-11-02T12:40:00' has no UTC offset "
            "(naive times are not accepted)",
        ),
        ("?", "ticket: expected an object, got str"),
    )
    assert "ticket 104 rejected: ticket 104: created_at: missing" in caplog.text
    assert decode_cursor(pages[1].cursor or "").export == C2  # the page still advanced


async def test_malformed_json_page_fails_the_poll_without_advancing() -> None:
    connector, _ = make_connector()
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get(EXPORT_PATH).mock(return_value=httpx.Response(200, text="{not json"))
        with pytest.raises(RetriableConnectorError, match="malformed JSON"):
            await poll(connector, None)


async def test_unreadable_cursor_falls_back_to_a_full_read() -> None:
    connector, _ = make_connector()
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes = full_read_routes(router)
        pages = await poll(connector, "cw:page=7")
    assert dict(routes["export"].calls[0].request.url.params)["start_time"] == str(FULL_READ_START)
    assert len(pages) == 3


def _synthetic(count: int, offset: int, created: str, updated: str) -> tuple[list[Any], list[Any]]:
    """``count`` open tickets and the stream updates that create them (or change them)."""
    template = load("export_page3.json")["tickets"][0]
    event = load("ticket_events_2.json")["ticket_events"][1]  # ticket 105's creation
    tickets, events = [], []
    for n in range(offset, offset + count):
        tickets.append(
            template | {"id": n, "status": "open", "created_at": created, "updated_at": updated}
        )
        events.append(
            event | {"id": 10_000_000 + n, "ticket_id": n, "created_at": updated}
            if created == updated
            else {
                "id": 20_000_000 + n,
                "ticket_id": n,
                "created_at": updated,
                "updater_id": 9001,
                "via": "Web form",
                "event_type": "Audit",
                "child_events": [
                    {
                        "id": 30_000_000 + n,
                        "via": "Web form",
                        "status": "pending",
                        "previous_value": "open",
                        "event_type": "Change",
                    }
                ],
            }
        )
    return tickets, events


async def test_polling_economy_ten_thousand_open_tickets() -> None:
    connector, _ = make_connector()
    created = "2026-11-01T10:00:00Z"
    export_pages: dict[str, Any] = {}
    event_pages: dict[int, Any] = {}
    start = FULL_READ_START
    for page in range(10):
        tickets, events = _synthetic(1000, 1 + page * 1000, created, created)
        key = f"start_time={FULL_READ_START}" if page == 0 else f"cursor=p{page}"
        export_pages[key] = load("export_empty.json") | {
            "tickets": tickets,
            "after_cursor": f"p{page + 1}",
            "end_of_stream": page == 9,
        }
        end = 1793527200 + page  # 2026-11-01T10:00:00Z: pages of same-instant events advance
        event_pages[start] = {
            "ticket_events": events,
            "count": 1000,
            "end_time": end,
            "end_of_stream": page == 9,
            "next_page": None,
        }
        start = end
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        export = router.get(EXPORT_PATH).mock(side_effect=export_handler(export_pages))
        stream = router.get(EVENTS_PATH).mock(side_effect=events_handler(event_pages))
        pages = await poll(connector, None)
        assert sum(len(p.tickets) for p in pages) == 10_000
        cursor = pages[-1].cursor
        # Steady state: nothing changed -> exactly one request.
        export.side_effect = export_handler(
            {"cursor=p10": load("export_empty.json") | {"after_cursor": "p10"}}
        )
        before = connector.requests_made
        (quiet,) = await poll(connector, cursor)
        assert connector.requests_made - before == 1
        assert quiet.tickets == ()
        # 150 tickets changed: one export page plus one event page (<= 1 + one per 100).
        changed, updates = _synthetic(150, 1, created, "2026-11-02T17:00:00Z")
        export.side_effect = export_handler(
            {"cursor=p10": load("export_empty.json") | {"tickets": changed, "after_cursor": "p11"}}
        )
        stream.side_effect = events_handler(
            {
                start: {
                    "ticket_events": updates,
                    "count": 150,
                    "end_time": 1793638800,
                    "end_of_stream": True,
                    "next_page": None,
                }
            }
        )
        before = connector.requests_made
        (busy,) = await poll(connector, quiet.cursor)
    assert connector.requests_made - before == 2 <= 1 + 150 // 100
    assert len(busy.tickets) == 150
    assert all(t.events[-1].to == "pending" for t in busy.tickets)


@pytest.mark.parametrize(("changed", "stream_reads"), [(3, 0), (20, 1)])
async def test_the_event_stream_is_read_only_when_it_saves_more_than_it_costs(
    changed: int, stream_reads: int
) -> None:
    # A stream page costs one of the export's 8 requests a minute, an audits read one of
    # the account's 100: the stream is read for a page with ceil(100 / 8) = 13 or more
    # tickets to read (issue 10: read after every change it starved the polls).
    connector, _ = make_connector(events_worth=None)
    assert connector.events_worth == 13
    new = "2026-11-02T17:00:00Z"  # after the cursor's stream position (16:45)
    tickets, events = _synthetic(changed, 5000, new, new)
    cursor = encode_cursor(ZendeskCursor(events=E_END, export=C3))
    page = load("export_empty.json") | {
        "tickets": tickets,
        "users": load("export_page1.json")["users"],
    }

    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes = full_read_routes(router)
        routes["export"].side_effect = export_handler({f"cursor={C3}": page})
        routes["events"].side_effect = events_handler(
            {
                E_END: {
                    "ticket_events": events,
                    "count": changed,
                    "end_time": E_END + 900,
                    "end_of_stream": True,
                    "next_page": None,
                }
            }
        )
        read = router.get(path__regex=r"^/api/v2/tickets/\d+/audits$").mock(side_effect=_audits_of)
        (found,) = await poll(connector, cursor)
    assert len(found.tickets) == changed
    assert routes["events"].call_count == stream_reads
    assert read.call_count == (0 if stream_reads else changed)


async def test_a_spent_export_budget_sends_the_page_to_audits_instead_of_waiting() -> None:
    # In a crash loop each life's poll takes an export slot; a stream page that waited for
    # a slot held up every ticket of the page, new ones included (issue 10, the 50-kill
    # soak). With the export budget spent, the cold tickets are read from their audits.
    clock = FakeClock()
    connector, sleep = make_connector(clock, events_worth=None)
    rpm = connector.export_http.requests_per_minute
    earlier = clock.now() - timedelta(seconds=20)  # paced long enough ago, still counted
    at_us = int(earlier.timestamp() * 1_000_000)
    connector.keep_budgets(MemoryLog({connector.export_http.bucket: [at_us] * (rpm - 1)}))
    new = "2026-11-02T17:00:00Z"
    changed = connector.events_worth + 2
    tickets, _ = _synthetic(changed, 5000, new, new)
    cursor = encode_cursor(ZendeskCursor(events=E_END, export=C3))
    page = load("export_empty.json") | {
        "tickets": tickets,
        "users": load("export_page1.json")["users"],
    }

    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes = full_read_routes(router)
        routes["export"].side_effect = export_handler({f"cursor={C3}": page})
        read = router.get(path__regex=r"^/api/v2/tickets/\d+/audits$").mock(side_effect=_audits_of)
        (found,) = await poll(connector, cursor)
    assert routes["export"].call_count == 1  # the page took the budget's last slot
    assert routes["events"].call_count == 0
    assert read.call_count == changed and len(found.tickets) == changed
    assert sleep.waits == []  # nothing waited for the export budget


async def test_fetch_ticket_reads_audits_when_cold_and_the_cache_when_warm() -> None:
    connector, _ = make_connector()
    page1 = load("export_page1.json")
    shown_102 = {
        "ticket": page1["tickets"][1],
        "users": page1["users"],
        "organizations": page1["organizations"],
    }
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes = full_read_routes(router)
        router.get("/api/v2/tickets/102").mock(return_value=json_response(shown_102))
        router.get("/api/v2/tickets/101").mock(return_value=json_response(load("ticket_101.json")))
        cold = await connector.fetch_ticket("102")
        assert connector.requests_made == 3  # the ticket and two audit pages
        assert routes["audits"].call_count == 1
        pages = await poll(connector, None)
        before = connector.requests_made
        warm = await connector.fetch_ticket("101")
        assert connector.requests_made - before == 1  # history from the cache
    assert cold.client == "acme" and [e.to for e in cold.events if e.type == "status"] == [
        "open",
        "hold",
        "open",
    ]
    assert warm.events == next(t for p in pages for t in p.tickets if t.id == "101").events
