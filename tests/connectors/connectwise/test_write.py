"""ConnectWise write-back: the exact requests, idempotent tags, ambiguous failures re-read."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sla_connector_psa.connectwise import TAG_PREFIX
from sla_connector_psa.http import AmbiguousWriteError

from sla_connector.core.ticket import Ticket

from .support import T0, FakeConnectWise, load, make_connector

pytestmark = pytest.mark.anyio

TICKET = Ticket(id="1001", source="cw", client="acme", created_at=T0)
AUTH = "Basic bXNwY28rcHViS0VZOnByaXZLRVk="


def setup() -> FakeConnectWise:
    fake = FakeConnectWise()
    fake.add(load("ticket.json"))
    return fake


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def assert_write_headers(request: httpx.Request) -> None:
    assert request.headers["Authorization"] == AUTH
    assert request.headers["clientId"] == "guid-1234"
    assert request.headers["Content-Type"] == "application/json"


async def test_assign_patches_owner_by_member_identifier_from_users() -> None:
    fake = setup()
    connector, _ = make_connector(fake)
    result = await connector.assign(TICKET, "alex@msp.example")
    assert result.ok and result.detail == "owner set to asmith"
    (request,) = fake.requests
    assert request.method == "PATCH"
    assert request.url.path == "/v4_6_release/apis/3.0/service/tickets/1001"
    assert body(request) == [{"op": "replace", "path": "owner", "value": {"identifier": "asmith"}}]
    assert_write_headers(request)


async def test_assign_looks_up_an_unmapped_email_once() -> None:
    fake = setup()
    connector, _ = make_connector(fake)
    await connector.assign(TICKET, "terry@msp.example")
    await connector.assign(TICKET, "terry@msp.example")
    lookups = fake.calls("GET", "/system/members")
    assert len(lookups) == 1
    assert lookups[0].url.params["conditions"] == 'primaryEmail = "terry@msp.example"'
    assert body(fake.calls("PATCH", "/1001")[0])[0]["value"] == {"identifier": "tlead"}


async def test_set_priority_resolves_the_mapped_name_to_an_id_and_patches_it() -> None:
    fake = setup()
    connector, _ = make_connector(fake)
    result = await connector.set_priority(TICKET, "P1")
    await connector.set_priority(TICKET, "P1")
    assert result.ok and result.detail == "priority set to Priority 1 - Critical"
    lookups = fake.calls("GET", "/service/priorities")
    assert [r.url.params["conditions"] for r in lookups] == ['name = "Priority 1 - Critical"']
    patches = fake.calls("PATCH", "/service/tickets/1001")
    assert body(patches[0]) == [{"op": "replace", "path": "priority/id", "value": 7}]
    assert_write_headers(patches[0])


async def test_set_priority_for_an_unmapped_tier_writes_nothing() -> None:
    fake = setup()
    connector, _ = make_connector(fake)
    result = await connector.set_priority(TICKET, "P9")
    assert not result.ok
    assert result.detail == "tier P9 has no priority in connectors.cw.priority_map"
    assert fake.requests == []


async def test_internal_note_posts_internal_analysis_without_notifications() -> None:
    fake = setup()
    connector, _ = make_connector(fake)
    result = await connector.add_internal_note(TICKET, "SLA breached; escalated.")
    assert result.ok and result.response["id"] == 6001
    (request,) = fake.requests
    assert request.method == "POST"
    assert request.url.path == "/v4_6_release/apis/3.0/service/tickets/1001/notes"
    assert body(request) == {
        "text": "SLA breached; escalated.",
        "detailDescriptionFlag": False,
        "internalAnalysisFlag": True,
        "resolutionFlag": False,
        "processNotifications": False,
    }
    assert_write_headers(request)


async def test_tag_is_an_internal_note_line_written_only_once() -> None:
    fake = setup()
    connector, _ = make_connector(fake)
    first = await connector.add_tag(TICKET, "sla-breached")
    second = await connector.add_tag(TICKET, "sla-breached")
    assert first.ok and second.ok and second.detail == "tag sla-breached already present"
    posts = fake.calls("POST", "/notes")
    assert len(posts) == 1
    assert body(posts[0])["text"] == TAG_PREFIX + "sla-breached"
    assert TAG_PREFIX == "[sla-connector] tag: "
    assert body(posts[0])["internalAnalysisFlag"] is True


async def test_patch_timeout_that_did_not_land_is_re_read_then_sent_once_more() -> None:
    fake = setup()
    fake.script("PATCH", httpx.ReadTimeout("no answer"))
    connector, _ = make_connector(fake)
    result = await connector.assign(TICKET, "dana@msp.example")
    assert result.ok and result.detail == "owner set to dlee"
    kinds = [(r.method, r.url.path.rsplit("/", 1)[-1]) for r in fake.requests]
    assert kinds == [("PATCH", "1001"), ("GET", "1001"), ("PATCH", "1001")]


async def test_patch_timeout_that_landed_is_confirmed_without_a_second_write() -> None:
    fake = setup()

    def lands_then_times_out(request: httpx.Request) -> httpx.Response:
        fake.tickets[1001]["owner"] = {"identifier": "dlee"}
        raise httpx.ReadTimeout("answer lost", request=request)

    fake.script("PATCH", lands_then_times_out)
    connector, _ = make_connector(fake)
    result = await connector.assign(TICKET, "dana@msp.example")
    assert result.ok and result.detail == "confirmed after ambiguous failure"
    assert len(fake.calls("PATCH", "/1001")) == 1


async def test_note_timeout_that_landed_is_confirmed_by_reading_the_notes() -> None:
    fake = setup()

    def lands_then_times_out(request: httpx.Request) -> httpx.Response:
        fake.notes[1001].append({**load("note_created.json"), "text": "escalated"})
        raise httpx.ReadTimeout("answer lost", request=request)

    fake.script("POST note", lands_then_times_out)
    connector, _ = make_connector(fake)
    result = await connector.add_internal_note(TICKET, "escalated")
    assert result.detail == "confirmed after ambiguous failure"
    assert len(fake.calls("POST", "/notes")) == 1
    assert len(fake.notes[1001]) == 1


async def test_two_ambiguous_failures_that_did_not_land_raise() -> None:
    fake = setup()
    fake.script("POST note", httpx.ReadTimeout("1"), httpx.ReadTimeout("2"))
    connector, _ = make_connector(fake)
    with pytest.raises(AmbiguousWriteError):
        await connector.add_internal_note(TICKET, "escalated")
    assert len(fake.calls("POST", "/notes")) == 2


async def test_write_rejected_by_validation_returns_a_failed_result() -> None:
    fake = setup()
    fake.script(
        "PATCH", httpx.Response(400, json={"code": "InvalidObject", "message": "owner not found"})
    )
    connector, _ = make_connector(fake)
    result = await connector.assign(TICKET, "nobody")
    assert not result.ok
    assert "owner not found" in result.detail
    assert len(fake.calls("PATCH", "/1001")) == 1
