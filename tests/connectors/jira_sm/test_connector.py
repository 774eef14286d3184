"""Change polling through the enhanced JQL search: paging, cursor, history, errors, economy."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from sla_connector_psa.jira_sm.cursor import JqlCursor

from sla_connector.core.errors import RetriableConnectorError
from sla_connector.core.ticket import Event

from .support import (
    AUTH,
    BASE,
    FakeClock,
    Sleeps,
    collect,
    json_response,
    make_adapter,
    search_pages,
)

pytestmark = pytest.mark.anyio

SEARCH = "/rest/api/3/search/jql"
PAGES = {
    None: "search_page1.json",
    "CAEaAggD": "search_page2.json",
    "CAEaAggG": "search_page3.json",
}


def at(hm: str) -> datetime:
    hour, minute, *rest = (int(p) for p in hm.split(":"))
    return datetime(2026, 11, 2, hour, minute, rest[0] if rest else 0, tzinfo=UTC)


def changelog_pages(request: httpx.Request) -> httpx.Response:
    start = request.url.params.get("startAt", "0")
    return json_response(f"changelog_ITSD-3_start{start}.json")


def mock_site(router: respx.MockRouter, search: Any) -> respx.Route:
    router.get("/rest/api/3/myself").mock(return_value=json_response("myself.json"))
    router.get("/rest/api/3/field").mock(return_value=json_response("fields.json"))
    router.get("/rest/api/3/issue/ITSD-3/changelog").mock(side_effect=changelog_pages)
    router.get("/rest/servicedeskapi/request/ITSD-4/comment").mock(
        return_value=json_response("jsm_comments_ITSD-4.json")
    )
    return router.get(SEARCH).mock(side_effect=search)


async def test_full_read_pages_through_three_search_pages(clock: FakeClock, sleeps: Sleeps) -> None:
    adapter = make_adapter(clock, sleeps)
    async with respx.mock(base_url=BASE, assert_all_called=False) as router:
        search = mock_site(router, search_pages(PAGES))
        pages = await collect(adapter.fetch_changed(None))
    assert [[t.id for t in p.tickets] for p in pages] == [
        ["ITSD-2", "ITSD-4"],
        ["ITSD-3", "ITSD-1"],
        ["ITSD-5"],
    ]
    assert all(p.cursor for p in pages) and not any(p.rejected for p in pages)
    tokens = [call.request.url.params.get("nextPageToken") for call in search.calls]
    assert tokens == [None, "CAEaAggD", "CAEaAggG"]
    first = search.calls[0].request
    assert first.headers["Authorization"] == AUTH
    params = first.url.params
    assert params["expand"] == "changelog" and params["maxResults"] == "100"
    assert {"status", "priority", "comment", "created", "updated", "customfield_10002"} <= set(
        params.get_list("fields")
    )
    assert params["jql"].startswith('project in ("ITSD") AND (statusCategory != Done OR ')
    # myself + field discovery + 3 pages + 2 changelog pages (ITSD-3) + 1 comment page (ITSD-4)
    assert adapter.http.requests_made == 8
    assert JqlCursor.decode(pages[-1].cursor or "").updated == at("17:05:30")


async def test_truncated_history_is_fetched_in_full_for_that_issue_only(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    adapter = make_adapter(clock, sleeps)
    async with respx.mock(base_url=BASE, assert_all_called=False) as router:
        mock_site(router, search_pages(PAGES))
        pages = await collect(adapter.fetch_changed(None))
    tickets = {t.id: t for p in pages for t in p.tickets}
    assert [(e.at, e.to) for e in tickets["ITSD-3"].events if e.type == "status"] == [
        (at("11:00"), "Waiting for support"),
        (at("11:30"), "Waiting for customer"),
        (at("12:00"), "In Progress"),
        (at("14:00:30"), "Resolved"),
    ]
    assert [(e.at, e.by) for e in tickets["ITSD-4"].events if e.type == "public_reply"] == [
        (at("12:05"), "customer"),
        (at("12:40"), "agent"),
    ]


async def test_first_response_and_pause_history_arrive_in_the_feed(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    adapter = make_adapter(clock, sleeps)
    async with respx.mock(base_url=BASE, assert_all_called=False) as router:
        mock_site(router, search_pages(PAGES))
        pages = await collect(adapter.fetch_changed(None))
    ticket = next(t for p in pages for t in p.tickets if t.id == "ITSD-1")
    first_agent = next(e for e in ticket.events if e.type == "public_reply" and e.by == "agent")
    assert first_agent.at == at("09:20")  # not the 09:17 automatic acknowledgement
    assert [e for e in ticket.events if e.type == "status"][1:3] == [
        Event(at("10:02"), "status", to="Waiting for customer"),
        Event(at("13:30"), "status", to="In Progress"),
    ]


async def test_unmapped_organization_is_reported_once_for_many_tickets(
    clock: FakeClock, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = make_adapter(clock, sleeps)
    caplog.set_level(logging.WARNING)
    async with respx.mock(base_url=BASE, assert_all_called=False) as router:
        mock_site(router, search_pages(PAGES))
        pages = await collect(adapter.fetch_changed(None))
    initech = [t for p in pages for t in p.tickets if t.client == "initech"]
    assert len(initech) == 3
    assert caplog.text.count("unmapped organization Initech in connector jsm") == 1


async def test_second_poll_uses_the_cursor_window_and_skips_seen_versions(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    adapter = make_adapter(clock, sleeps)
    async with respx.mock(base_url=BASE, assert_all_called=False) as router:
        mock_site(router, search_pages(PAGES))
        first = await collect(adapter.fetch_changed(None))
    cursor = first[-1].cursor
    before = adapter.http.requests_made
    async with respx.mock(base_url=BASE, assert_all_called=False) as router:
        search = router.get(SEARCH).mock(return_value=json_response("search_second.json"))
        second = await collect(adapter.fetch_changed(cursor))
    # newest update 17:05:30 UTC -> window from 17:03 UTC, written in the profile zone
    assert search.calls[0].request.url.params["jql"] == (
        'project in ("ITSD") AND updated >= "2026-11-03 04:03" ORDER BY updated ASC'
    )
    assert adapter.http.requests_made - before == 1
    (page,) = second
    assert [t.id for t in page.tickets] == ["ITSD-2"]  # ITSD-5 was already delivered
    assert list(page.tickets[0].events) == [
        Event(at("10:30"), "status", to="Waiting for customer"),
        Event(at("17:06"), "public_reply", by="customer"),
        Event(at("17:06:10"), "status", to="Waiting for support"),
    ]
    assert JqlCursor.decode(page.cursor or "").updated == at("17:06:10")


async def test_unreadable_cursor_falls_back_to_a_full_read(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    adapter = make_adapter(clock, sleeps)
    async with respx.mock(base_url=BASE, assert_all_called=False) as router:
        search = mock_site(router, json_response("search_empty.json"))
        pages = await collect(adapter.fetch_changed("not-a-cursor"))
    assert "statusCategory != Done" in search.calls[0].request.url.params["jql"]
    assert [p.tickets for p in pages] == [()]


async def test_malformed_issues_are_rejected_and_the_rest_processed(
    clock: FakeClock, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = make_adapter(clock, sleeps)
    caplog.set_level(logging.WARNING)
    async with respx.mock(base_url=BASE, assert_all_called=False) as router:
        mock_site(router, json_response("search_malformed.json"))
        (page,) = await collect(adapter.fetch_changed(None))
    assert [t.id for t in page.tickets] == ["ITSD-7", "ITSD-12"]
    reasons = dict(page.rejected)
    assert set(reasons) == {"ITSD-8", "?", "ITSD-10", "ITSD-11"}
    assert "fields.created: missing" in reasons["ITSD-8"]
    assert "key missing" in reasons["?"]
    assert "no UTC offset" in reasons["ITSD-10"]
    assert "fields.status missing" in reasons["ITSD-11"]
    assert "rejected issue ITSD-8" in caplog.text
    assert JqlCursor.decode(page.cursor or "").updated == at("18:01")


async def test_malformed_json_page_raises_retriable_and_yields_nothing(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    adapter = make_adapter(clock, sleeps)
    pages = []
    async with respx.mock(base_url=BASE, assert_all_called=False) as router:
        mock_site(
            router,
            httpx.Response(
                200, content=b'{"issues": [', headers={"Content-Type": "application/json"}
            ),
        )
        with pytest.raises(RetriableConnectorError, match="malformed JSON"):
            async for page in adapter.fetch_changed(None):
                pages.append(page)
    assert pages == []


async def test_429_waits_the_retry_after_then_succeeds(clock: FakeClock, sleeps: Sleeps) -> None:
    adapter = make_adapter(clock, sleeps)
    answers = iter(
        [
            httpx.Response(
                429, headers={"Retry-After": "7", "RateLimit-Reason": "jira-burst-based"}
            ),
            json_response("search_empty.json"),
        ]
    )
    async with respx.mock(base_url=BASE, assert_all_called=False) as router:
        search = mock_site(router, lambda request: next(answers))
        pages = await collect(adapter.fetch_changed(None))
    assert sleeps.calls == [7.0]
    assert search.call_count == 2 and len(pages) == 1


async def test_5xx_is_retried_with_backoff(clock: FakeClock, sleeps: Sleeps) -> None:
    adapter = make_adapter(clock, sleeps)
    answers = iter([httpx.Response(502), httpx.Response(503), json_response("search_page3.json")])
    async with respx.mock(base_url=BASE, assert_all_called=False) as router:
        search = mock_site(router, lambda request: next(answers))
        pages = await collect(adapter.fetch_changed(None))
    assert search.call_count == 3 and len(sleeps.calls) == 2
    assert [t.id for t in pages[0].tickets] == ["ITSD-5"]


async def test_fetch_ticket_reads_one_issue_with_its_changelog(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    adapter = make_adapter(clock, sleeps)
    async with respx.mock(base_url=BASE, assert_all_called=False) as router:
        mock_site(router, json_response("search_empty.json"))
        route = router.get("/rest/api/3/issue/ITSD-1").mock(
            return_value=json_response("issue_ITSD-1.json")
        )
        ticket = await adapter.fetch_ticket("ITSD-1")
    assert route.calls[0].request.url.params["expand"] == "changelog"
    assert ticket.id == "ITSD-1" and ticket.client == "acme"
    assert [e.to for e in ticket.events if e.type == "priority"] == ["P2"]


# -- polling economy ------------------------------------------------------------------------

SYDNEY = ZoneInfo("Australia/Sydney")
OLD = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


def jira_time(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class FakeJira:
    """10,000 open issues behind a search that honours ``updated >=`` and token paging."""

    def __init__(self, count: int) -> None:
        self.updated = {f"ITSD-{n}": OLD for n in range(1, count + 1)}

    def touch(self, keys: list[str], start: datetime) -> None:
        for offset, key in enumerate(keys):
            self.updated[key] = start + timedelta(minutes=offset)

    def issue(self, key: str) -> dict[str, Any]:
        return {
            "id": key.split("-")[1],
            "key": key,
            "fields": {
                "summary": "printer",
                "status": {"name": "Waiting for support", "id": "10001"},
                "priority": {"name": "Medium", "id": "3"},
                "created": jira_time(OLD),
                "updated": jira_time(self.updated[key]),
                "labels": [],
                "comment": {"comments": [], "maxResults": 0, "total": 0, "startAt": 0},
                "customfield_10002": [{"id": "1", "name": "Acme Corp"}],
            },
            "changelog": {"startAt": 0, "maxResults": 0, "total": 0, "histories": []},
        }

    def search(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        match = re.search(r'updated >= "([^"]+)"', params["jql"])
        assert match, params["jql"]
        since = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=SYDNEY)
        hits = sorted((u, k) for k, u in self.updated.items() if u >= since)
        offset = int(params.get("nextPageToken") or 0)
        size = int(params["maxResults"])
        chunk = hits[offset : offset + size]
        body: dict[str, Any] = {
            "issues": [self.issue(k) for _, k in chunk],
            "isLast": offset + size >= len(hits),
        }
        if not body["isLast"]:
            body["nextPageToken"] = str(offset + size)
        return httpx.Response(200, json=body)


async def test_idle_poll_over_10000_open_issues_costs_one_request(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    jira = FakeJira(10_000)
    jira.touch(["ITSD-1"], at("09:00"))
    adapter = make_adapter(clock, sleeps)
    steady = JqlCursor().advance([("ITSD-1", at("09:00"))], timedelta(minutes=2)).encode()

    async def poll(cursor: str) -> tuple[int, int, str]:
        before = adapter.http.requests_made
        pages = await collect(adapter.fetch_changed(cursor))
        count = sum(len(p.tickets) for p in pages)
        return adapter.http.requests_made - before, count, pages[-1].cursor or ""

    async with respx.mock(base_url=BASE, assert_all_called=False) as router:
        mock_site(router, jira.search)
        _, _, cursor = await poll(steady)  # warm-up: reads /myself and the field list once
        cost, count, cursor = await poll(cursor)
        assert (cost, count) == (1, 0)
        jira.touch([f"ITSD-{n}" for n in range(100, 350)], at("10:00"))  # 250 changed
        cost, count, cursor = await poll(cursor)
        assert (cost, count) == (3, 250)  # one page per 100 changed issues
        cost, count, cursor = await poll(cursor)
        assert (cost, count) == (1, 0)  # the overlap re-read is de-duplicated
