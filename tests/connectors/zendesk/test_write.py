"""Write-back: one PUT per action set, exact requests, and no blind retry after ambiguity."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from sla_connector.core.ticket import Ticket

from . import spec
from .support import AUTH, BASE, SELF_ID, FakeClock, json_response, load, make_connector

pytestmark = pytest.mark.anyio

WRITE_TIME = datetime(2026, 11, 2, 17, 0, tzinfo=UTC)
TICKET = Ticket(
    id="101", source="zd", client="globex", created_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
)
PUT_PATH = "/api/v2/tickets/101"
NOTE = "SLA breach: escalated to Dana."
ESCALATION = [
    ("reassign", "dana@msp.example"),
    ("set_priority", "P1"),
    ("note", NOTE),
    ("tag", "sla_breach"),
]


def requests(router: respx.MockRouter) -> int:
    """Requests answered so far (read inside the mock block: respx drops routes on exit)."""
    return sum(route.call_count for route in router.routes)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def assert_conforms(body: Any) -> None:
    if spec.SPEC_PATH.exists():
        assert spec.errors(body, spec.schema("TicketUpdateRequest")) == []


async def test_escalation_is_one_put_with_every_field() -> None:
    connector, _ = make_connector(FakeClock(WRITE_TIME))
    with respx.mock(base_url=BASE) as router:
        put = router.put(PUT_PATH).mock(
            return_value=json_response(load("ticket_update_response.json"))
        )
        result = await connector.apply(TICKET, ESCALATION)
        sent = requests(router)
    assert sent == 1
    request = put.calls.last.request
    assert (request.method, request.url.path) == ("PUT", PUT_PATH)
    assert request.headers["Authorization"] == AUTH
    assert request.headers["Content-Type"] == "application/json"
    assert body_of(request) == {
        "ticket": {
            "assignee_id": 9002,
            "priority": "urgent",
            "additional_tags": ["sla_breach"],
            "comment": {"body": NOTE, "public": False},
        }
    }
    assert_conforms(body_of(request))
    assert result.ok and result.response == {"ticket_id": 101, "audit_id": 1010}
    assert connector._self_id == SELF_ID  # learnt from the write's audit


@pytest.mark.parametrize(
    ("call", "argument", "fields"),
    [
        ("assign", "dana@msp.example", {"assignee_id": 9002}),
        ("assign", "9001", {"assignee_id": 9001}),
        ("assign", "group:Service Desk", {"group_id": 360001}),
        ("assign", "Service Desk", {"group_id": 360001}),
        ("set_priority", "P2", {"priority": "high"}),
        ("add_internal_note", "Escalated.", {"comment": {"body": "Escalated.", "public": False}}),
        ("add_tag", "SLA Breach", {"additional_tags": ["sla_breach"]}),
    ],
)
async def test_single_action_methods_send_exactly_their_field(
    call: str, argument: str, fields: dict[str, Any]
) -> None:
    connector, _ = make_connector(FakeClock(WRITE_TIME))
    with respx.mock(base_url=BASE) as router:
        put = router.put(PUT_PATH).mock(
            return_value=json_response(load("ticket_update_response.json"))
        )
        result = await getattr(connector, call)(TICKET, argument)
        sent = requests(router)
    assert result.ok
    assert sent == 1
    assert body_of(put.calls.last.request) == {"ticket": fields}
    assert_conforms(body_of(put.calls.last.request))


async def test_person_mapped_to_an_email_is_looked_up_once_among_agents() -> None:
    connector, _ = make_connector(FakeClock(WRITE_TIME))
    with respx.mock(base_url=BASE) as router:
        search = router.get("/api/v2/users/search").mock(
            return_value=json_response(load("users_search.json"))
        )
        put = router.put(PUT_PATH).mock(
            return_value=json_response(load("ticket_update_response.json"))
        )
        first = await connector.assign(TICKET, "sam@msp.example")
        second = await connector.assign(TICKET, "sam@msp.example")
    assert first.ok and second.ok
    assert search.call_count == 1
    assert search.calls.last.request.url.params["query"] == "sam@msp.example"
    assert [body_of(c.request) for c in put.calls] == [{"ticket": {"assignee_id": 9003}}] * 2


async def test_action_set_that_cannot_be_resolved_writes_nothing() -> None:
    connector, _ = make_connector(FakeClock(WRITE_TIME))
    with respx.mock(base_url=BASE) as router:
        result = await connector.apply(
            TICKET, [("reassign", "nobody"), ("set_priority", "P9"), ("note", "x")]
        )
        sent = requests(router)
    assert sent == 0
    assert not result.ok
    assert "no Zendesk user or group for 'nobody'" in result.detail
    assert "no Zendesk priority for tier 'P9'" in result.detail
    assert "connectors.zd.priority_map" in result.detail


async def test_email_of_an_end_user_is_not_an_assignee() -> None:
    connector, _ = make_connector(FakeClock(WRITE_TIME))
    with respx.mock(base_url=BASE) as router:
        router.get("/api/v2/users/search").mock(
            return_value=json_response({"users": [load("users_search.json")["users"][1]]})
        )
        result = await connector.assign(TICKET, "sam@globex.example")
    assert not result.ok and "no Zendesk agent with email" in result.detail


async def test_timeout_after_send_finds_the_note_and_does_not_write_twice() -> None:
    connector, _ = make_connector(FakeClock(WRITE_TIME))
    with respx.mock(base_url=BASE) as router:
        put = router.put(PUT_PATH).mock(side_effect=httpx.ReadTimeout("read timed out"))
        comments = router.get("/api/v2/tickets/101/comments").mock(
            return_value=json_response(load("comments_101_after_write.json"))
        )
        result = await connector.apply(TICKET, ESCALATION)
    assert put.call_count == 1
    assert comments.calls.last.request.url.params["sort_order"] == "desc"
    assert result.ok and result.detail == "confirmed after ambiguous failure"


async def test_timeout_after_send_without_the_note_retries_exactly_once() -> None:
    connector, _ = make_connector(FakeClock(WRITE_TIME))
    older = load("comments_101_after_write.json")
    older["comments"] = older["comments"][1:]  # the note is not there
    with respx.mock(base_url=BASE) as router:
        put = router.put(PUT_PATH).mock(
            side_effect=[
                httpx.ReadTimeout("read timed out"),
                json_response(load("ticket_update_response.json")),
            ]
        )
        router.get("/api/v2/tickets/101/comments").mock(return_value=json_response(older))
        result = await connector.apply(TICKET, ESCALATION)
    assert put.call_count == 2
    assert body_of(put.calls[0].request) == body_of(put.calls[1].request)
    assert result.ok and result.detail.startswith("ticket 101 updated")


async def test_two_ambiguous_failures_give_up_without_a_third_put() -> None:
    connector, _ = make_connector(FakeClock(WRITE_TIME))
    with respx.mock(base_url=BASE) as router:
        put = router.put(PUT_PATH).mock(side_effect=httpx.ReadTimeout("read timed out"))
        router.get("/api/v2/tickets/101/comments").mock(
            return_value=json_response({"comments": []})
        )
        result = await connector.apply(TICKET, ESCALATION)
    assert put.call_count == 2
    assert not result.ok and "not confirmed" in result.detail


async def test_ambiguous_5xx_without_a_note_compares_the_ticket_fields() -> None:
    connector, _ = make_connector(FakeClock(WRITE_TIME))
    with respx.mock(base_url=BASE) as router:
        put = router.put(PUT_PATH).mock(return_value=httpx.Response(502))
        show = router.get(PUT_PATH).mock(
            return_value=json_response(load("ticket_101_after_write.json"))
        )
        result = await connector.apply(
            TICKET,
            [("reassign", "dana@msp.example"), ("set_priority", "P1"), ("tag", "sla_breach")],
        )
    assert put.call_count == 1 and show.call_count == 1
    assert result.ok and result.detail == "confirmed after ambiguous failure"


async def test_validation_error_is_reported_not_retried() -> None:
    connector, _ = make_connector(FakeClock(WRITE_TIME))
    with respx.mock(base_url=BASE) as router:
        put = router.put(PUT_PATH).mock(
            return_value=httpx.Response(
                422,
                json={
                    "error": "RecordInvalid",
                    "details": {
                        "assignee": [{"description": "Assignee is not a member of the group"}]
                    },
                },
            )
        )
        result = await connector.assign(TICKET, "dana@msp.example")
    assert put.call_count == 1
    assert not result.ok and "Assignee is not a member of the group" in result.detail


async def test_rate_limited_write_waits_retry_after_then_lands_once() -> None:
    connector, sleep = make_connector(FakeClock(WRITE_TIME))
    with respx.mock(base_url=BASE) as router:
        put = router.put(PUT_PATH).mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "5"}),
                json_response(load("ticket_update_response.json")),
            ]
        )
        result = await connector.add_tag(TICKET, "sla_breach")
    assert result.ok and put.call_count == 2
    assert sleep.waits == [5.0]
