"""Write-back: the exact requests, account lookup, idempotence, and ambiguous failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from sla_connector.core.errors import RetriableConnectorError, TicketGoneError
from sla_connector.core.ticket import Ticket

from .support import AUTH, BASE, EMMA_ID, SAM_ID, FakeClock, Sleeps, json_response, make_adapter

pytestmark = pytest.mark.anyio

NOTE = "SLA breach: escalated to the Account Director."


def ticket(tags: tuple[str, ...] = (), **extra: Any) -> Ticket:
    return Ticket(
        id="ITSD-2",
        source="jsm",
        client="initech",
        created_at=datetime(2026, 11, 2, 10, 30, tzinfo=UTC),
        source_priority="Medium",
        status="Waiting for customer",
        tags=tags,
        extra={"assignee_account_id": SAM_ID, **extra},
    )


def sent(route: respx.Route, index: int = 0) -> tuple[str, str, Any]:
    request = route.calls[index].request
    assert request.headers["Authorization"] == AUTH
    assert request.headers["Content-Type"] == "application/json"
    return request.method, request.url.path, json.loads(request.content)


def issue_with(field: str, value: Any) -> httpx.Response:
    return httpx.Response(200, json={"id": "10002", "key": "ITSD-2", "fields": {field: value}})


async def test_assign_by_email_looks_the_account_up_once(clock: FakeClock, sleeps: Sleeps) -> None:
    adapter = make_adapter(clock, sleeps)
    async with respx.mock(base_url=BASE) as router:
        lookup = router.get("/rest/api/3/user/search").mock(
            return_value=json_response("user_search_sam.json")
        )
        put = router.put("/rest/api/3/issue/ITSD-2/assignee").mock(return_value=httpx.Response(204))
        first = await adapter.assign(ticket(assignee_account_id=EMMA_ID), "sam@msp.example")
        second = await adapter.assign(ticket(assignee_account_id=None), "sam@msp.example")
    assert first.ok and second.ok
    assert lookup.call_count == 1
    assert lookup.calls[0].request.url.params["query"] == "sam@msp.example"
    assert sent(put) == ("PUT", "/rest/api/3/issue/ITSD-2/assignee", {"accountId": SAM_ID})


async def test_assign_to_a_configured_account_id_needs_no_lookup(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    adapter = make_adapter(clock, sleeps)
    async with respx.mock(base_url=BASE) as router:
        put = router.put("/rest/api/3/issue/ITSD-2/assignee").mock(return_value=httpx.Response(204))
        result = await adapter.assign(ticket(), "emma@msp.example")
    assert result.ok
    assert sent(put)[2] == {"accountId": EMMA_ID}
    assert adapter.http.requests_made == 1


async def test_assign_to_current_assignee_sends_nothing(clock: FakeClock, sleeps: Sleeps) -> None:
    adapter = make_adapter(clock, sleeps)
    result = await adapter.assign(ticket(assignee_account_id=EMMA_ID), "emma@msp.example")
    assert result.ok and "already" in result.detail
    assert adapter.http.requests_made == 0


async def test_assign_to_an_unknown_person_fails_with_the_config_key(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    adapter = make_adapter(clock, sleeps)
    result = await adapter.assign(ticket(), "team_lead")
    assert not result.ok and "connectors.jsm.users" in result.detail
    assert adapter.http.requests_made == 0


async def test_set_priority_puts_the_mapped_priority_name(clock: FakeClock, sleeps: Sleeps) -> None:
    adapter = make_adapter(clock, sleeps)
    async with respx.mock(base_url=BASE) as router:
        put = router.put("/rest/api/3/issue/ITSD-2").mock(return_value=httpx.Response(204))
        result = await adapter.set_priority(ticket(), "P1")
    assert result.ok
    assert sent(put) == (
        "PUT",
        "/rest/api/3/issue/ITSD-2",
        {"fields": {"priority": {"name": "Highest"}}},
    )


async def test_set_priority_rejected_by_jira_is_a_failed_result(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    adapter = make_adapter(clock, sleeps)
    async with respx.mock(base_url=BASE) as router:
        router.put("/rest/api/3/issue/ITSD-2").mock(
            return_value=httpx.Response(
                400, json={"errorMessages": [], "errors": {"priority": "invalid priority"}}
            )
        )
        result = await adapter.set_priority(ticket(), "P1")
    assert not result.ok and "invalid priority" in result.detail


async def test_write_to_a_deleted_issue_raises_the_withdrawal_signal(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    """Issue 12 item 3: a 404 on a write is the ticket gone, not a failed write."""
    adapter = make_adapter(clock, sleeps)
    async with respx.mock(base_url=BASE) as router:
        router.put("/rest/api/3/issue/ITSD-2").mock(return_value=httpx.Response(404))
        with pytest.raises(TicketGoneError) as gone:
            await adapter.add_tag(ticket(), "sla_breached")
    assert (gone.value.ticket_id, gone.value.reason) == ("ITSD-2", "deleted")


async def test_unreadable_echo_of_a_landed_note_is_still_success(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    adapter = make_adapter(clock, sleeps)
    async with respx.mock(base_url=BASE) as router:
        post = router.post("/rest/servicedeskapi/request/ITSD-2/comment").mock(
            return_value=httpx.Response(
                201, content=b"<html>", headers={"Content-Type": "application/json"}
            )
        )
        result = await adapter.add_internal_note(ticket(), NOTE)
    assert result.ok and post.call_count == 1


async def test_internal_note_posts_a_non_public_servicedesk_comment(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    adapter = make_adapter(clock, sleeps)
    async with respx.mock(base_url=BASE) as router:
        post = router.post("/rest/servicedeskapi/request/ITSD-2/comment").mock(
            return_value=json_response("comment_created.json", 201)
        )
        result = await adapter.add_internal_note(ticket(), NOTE)
    assert result.ok and result.response["id"] == "20999"
    assert sent(post) == (
        "POST",
        "/rest/servicedeskapi/request/ITSD-2/comment",
        {"body": NOTE, "public": False},
    )


async def test_tag_adds_a_label_without_replacing_the_others(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    adapter = make_adapter(clock, sleeps)
    async with respx.mock(base_url=BASE) as router:
        put = router.put("/rest/api/3/issue/ITSD-2").mock(return_value=httpx.Response(204))
        result = await adapter.add_tag(ticket(tags=("email",)), "sla breached")
    assert result.ok
    assert sent(put) == (
        "PUT",
        "/rest/api/3/issue/ITSD-2",
        {"update": {"labels": [{"add": "sla_breached"}]}},
    )


async def test_timeout_after_send_rereads_and_confirms_instead_of_resending(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    adapter = make_adapter(clock, sleeps)
    async with respx.mock(base_url=BASE) as router:
        put = router.put("/rest/api/3/issue/ITSD-2/assignee").mock(
            side_effect=httpx.ReadTimeout("read timed out")
        )
        reread = router.get("/rest/api/3/issue/ITSD-2").mock(
            return_value=issue_with("assignee", {"accountId": EMMA_ID})
        )
        result = await adapter.assign(ticket(), "emma@msp.example")
    assert result.ok and result.detail == "confirmed after ambiguous failure"
    assert put.call_count == 1
    assert reread.calls[0].request.url.params.get_list("fields") == ["assignee"]


async def test_timeout_after_send_that_did_not_land_is_written_once_more(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    adapter = make_adapter(clock, sleeps)
    answers: list[httpx.Response | Exception] = [
        httpx.ReadTimeout("read timed out"),
        httpx.Response(204),
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        outcome = answers.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async with respx.mock(base_url=BASE) as router:
        put = router.put("/rest/api/3/issue/ITSD-2").mock(side_effect=answer)
        router.get("/rest/api/3/issue/ITSD-2").mock(
            return_value=issue_with("priority", {"name": "Medium", "id": "3"})
        )
        result = await adapter.set_priority(ticket(), "P1")
    assert result.ok and result.detail == "priority set to Highest"
    assert put.call_count == 2
    assert sent(put, 1)[2] == {"fields": {"priority": {"name": "Highest"}}}


async def test_ambiguous_note_found_on_reread_is_not_posted_twice(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    adapter = make_adapter(clock, sleeps)
    comments = json.loads(json_response("jsm_comments_ITSD-4.json").content)
    comments["values"].append({"id": "20999", "body": NOTE, "public": False})
    async with respx.mock(base_url=BASE) as router:
        post = router.post("/rest/servicedeskapi/request/ITSD-2/comment").mock(
            return_value=httpx.Response(500)
        )
        router.get("/rest/servicedeskapi/request/ITSD-2/comment").mock(
            return_value=httpx.Response(200, json=comments)
        )
        result = await adapter.add_internal_note(ticket(), NOTE)
    assert result.ok and result.detail == "confirmed after ambiguous failure"
    assert post.call_count == 1


async def test_twice_ambiguous_write_that_did_not_land_raises_retriable(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    adapter = make_adapter(clock, sleeps)
    async with respx.mock(base_url=BASE) as router:
        put = router.put("/rest/api/3/issue/ITSD-2").mock(
            side_effect=httpx.ReadTimeout("read timed out")
        )
        router.get("/rest/api/3/issue/ITSD-2").mock(return_value=issue_with("labels", []))
        with pytest.raises(RetriableConnectorError, match="re-read"):
            await adapter.add_tag(ticket(), "sla_breached")
    assert put.call_count == 2


async def test_tag_already_among_the_ticket_tags_is_not_sent_again(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    adapter = make_adapter(clock, sleeps)
    async with respx.mock(base_url=BASE, assert_all_called=False) as router:
        put = router.put("/rest/api/3/issue/ITSD-2").mock(return_value=httpx.Response(204))
        result = await adapter.add_tag(ticket(tags=("email", "sla_breached")), "sla breached")
    assert result.ok and "already present" in result.detail
    assert put.call_count == 0
