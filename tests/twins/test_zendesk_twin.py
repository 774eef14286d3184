"""The Zendesk twin behaves as Zendesk's documentation says, shown with plain httpx calls.

Each test names the behaviour and the twin module that cites its source. The last test is
a smoke test that today's Zendesk connector, built only through the public registry,
polls the twin and writes a step.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sla_connector.registry import load_connector_factory
from tests.twins.clock import ManualClock
from tests.twins.zendesk import ZendeskTwin
from tests.twins.zendesk.model import iso

CURSOR = "/api/v2/incremental/tickets/cursor"
TIME = "/api/v2/incremental/tickets"
EVENTS = "/api/v2/incremental/ticket_events"


def hour_ago(clock: ManualClock) -> int:
    return int(clock()) - 3600


def exported_ids(api: httpx.Client, clock: ManualClock, **params: Any) -> list[int]:
    body = api.get(CURSOR, params={"start_time": hour_ago(clock), **params}).json()
    return [t["id"] for t in body["tickets"]]


# -- incremental exports --------------------------------------------------------------


def test_cursor_export_leaves_out_the_last_60_seconds_of_changes(
    zendesk: ZendeskTwin, api: httpx.Client, clock: ManualClock
) -> None:
    ticket = zendesk.create_ticket("Mail server down", priority="urgent")
    clock.advance(59)
    assert exported_ids(api, clock) == []
    clock.advance(1)
    assert exported_ids(api, clock) == [ticket]


def test_export_shows_a_ticket_only_once_its_latest_change_is_a_minute_old(
    zendesk: ZendeskTwin, api: httpx.Client, clock: ManualClock
) -> None:
    ticket = zendesk.create_ticket("VPN flaky")
    clock.advance(30)
    zendesk.customer_comment(ticket, "Still broken")
    clock.advance(45)  # created 75 s ago, changed 45 s ago: compared by generated_timestamp
    assert exported_ids(api, clock) == []
    clock.advance(15)
    body = api.get(CURSOR, params={"start_time": hour_ago(clock)}).json()
    assert [t["id"] for t in body["tickets"]] == [ticket]
    assert body["tickets"][0]["generated_timestamp"] == int(clock()) - 60


@pytest.mark.parametrize("path", [CURSOR, TIME, EVENTS])
def test_incremental_endpoints_refuse_a_start_time_less_than_60_seconds_old(
    api: httpx.Client, clock: ManualClock, path: str
) -> None:
    response = api.get(path, params={"start_time": int(clock()) - 59})
    assert response.status_code == 422
    assert response.json() == {
        "error": "InvalidValue",
        "description": "Too recent start_time. Use a start_time older than 1 minute",
    }
    assert api.get(path, params={"start_time": int(clock()) - 60}).status_code == 200


def test_cursor_export_pages_and_resumes_from_after_cursor(
    zendesk: ZendeskTwin, api: httpx.Client, clock: ManualClock
) -> None:
    first = [zendesk.create_ticket(f"Ticket {n}") for n in range(3)]
    clock.advance(61)
    page = api.get(CURSOR, params={"start_time": hour_ago(clock), "per_page": 2}).json()
    assert [t["id"] for t in page["tickets"]] == first[:2] and page["end_of_stream"] is False
    assert page["before_cursor"] is None and page["after_url"].endswith(page["after_cursor"])
    page = api.get(CURSOR, params={"cursor": page["after_cursor"], "per_page": 2}).json()
    assert [t["id"] for t in page["tickets"]] == first[2:] and page["end_of_stream"] is True
    later = zendesk.create_ticket("Later")
    zendesk.customer_comment(first[0], "any news?")
    resumed = page["after_cursor"]
    assert api.get(CURSOR, params={"cursor": resumed}).json()["tickets"] == []
    clock.advance(60)
    again = api.get(CURSOR, params={"cursor": resumed}).json()
    assert [t["id"] for t in again["tickets"]] == sorted([later, first[0]])  # same instant: by id


def test_time_based_export_answers_end_time_and_next_page(
    zendesk: ZendeskTwin, api: httpx.Client, clock: ManualClock
) -> None:
    tickets = [zendesk.create_ticket(f"Ticket {n}") for n in range(2)]
    clock.advance(100)
    start = hour_ago(clock)
    page = api.get(TIME, params={"start_time": start, "per_page": 1}).json()
    assert page["count"] == 1 and page["end_of_stream"] is False
    assert page["next_page"].endswith(f"start_time={page['end_time']}")
    # The page ends on a timestamp: both tickets share it, so the first comes again.
    rest = api.get(TIME, params={"start_time": page["end_time"]}).json()
    assert [t["id"] for t in rest["tickets"]] == tickets and rest["end_of_stream"] is True
    assert rest["end_time"] == int(clock()) - 60


def test_deleted_tickets_are_exported_as_deleted_unless_excluded(
    zendesk: ZendeskTwin, api: httpx.Client, clock: ManualClock
) -> None:
    ticket = zendesk.create_ticket("Spam")
    zendesk.delete_ticket(ticket)
    clock.advance(61)
    body = api.get(CURSOR, params={"start_time": hour_ago(clock)}).json()
    assert [(t["id"], t["status"]) for t in body["tickets"]] == [(ticket, "deleted")]
    assert exported_ids(api, clock, exclude_deleted="true") == []


def test_ticket_events_stream_lags_a_minute_and_names_each_change(
    zendesk: ZendeskTwin, api: httpx.Client, clock: ManualClock
) -> None:
    ticket = zendesk.create_ticket("Printer", priority="normal")
    clock.advance(10)
    zendesk.set_status(ticket, "pending")
    zendesk.agent_comment(ticket, "Looking into it")
    clock.advance(55)  # the creation is 65 s old, the later changes 55 s
    events = api.get(EVENTS, params={"start_time": hour_ago(clock)}).json()
    assert [e["ticket_id"] for e in events["ticket_events"]] == [ticket]
    clock.advance(5)
    events = api.get(EVENTS, params={"start_time": hour_ago(clock)}).json()
    assert events["count"] == 3 and events["end_of_stream"] is True
    change = events["ticket_events"][1]
    assert (
        change["event_type"] == "Audit"
        and change["updater_id"] == zendesk.account.agents["sam@msp.example"]
    )
    status = next(c for c in change["child_events"] if "status" in c)
    assert status == {
        "id": status["id"],
        "via": "Web form",
        "via_reference_id": None,
        "status": "pending",
        "previous_value": "new",
        "event_type": "Change",
    }
    reply = events["ticket_events"][2]["child_events"][0]
    assert (
        reply["comment_present"] is True and reply["comment_public"] is True and "body" not in reply
    )
    with_comments = api.get(
        EVENTS, params={"start_time": hour_ago(clock), "include": "comment_events"}
    )
    comment = with_comments.json()["ticket_events"][2]["child_events"][0]
    assert comment["event_type"] == "Comment" and comment["body"] == "Looking into it"


# -- rate limits ----------------------------------------------------------------------


def test_incremental_endpoints_share_10_requests_a_minute(
    api: httpx.Client, clock: ManualClock
) -> None:
    start = {"start_time": hour_ago(clock)}
    for n in range(10):
        assert api.get(CURSOR if n % 2 else EVENTS, params=start).status_code == 200
    clock.advance(20)
    refused = api.get(CURSOR, params=start)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "40"
    assert refused.json()["errors"][0]["code"] == "RateLimitExceeded"
    assert api.get("/api/v2/users/me").status_code == 200  # other endpoints are not affected
    clock.advance(40)
    assert api.get(CURSOR, params=start).status_code == 200


def test_account_limit_answers_429_with_retry_after() -> None:
    clock = ManualClock()
    twin = ZendeskTwin(clock=clock, account_limit=3)
    with (
        twin.serve(),
        httpx.Client(base_url=twin.base_url, auth=twin.basic_auth(), timeout=5) as api,
    ):
        answers = [api.get("/api/v2/users/me") for _ in range(3)]
        assert [r.headers["X-Rate-Limit-Remaining"] for r in answers] == ["2", "1", "0"]
        assert all(r.headers["X-Rate-Limit"] == "3" for r in answers)
        refused = api.get("/api/v2/custom_statuses")
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
        assert refused.headers["content-type"].startswith("text/plain")
        assert refused.text == "Number of allowed API requests per minute exceeded"
        clock.advance(60)
        assert api.get("/api/v2/custom_statuses").status_code == 200


def test_thirty_updates_per_ten_minutes_per_user_per_ticket(
    zendesk: ZendeskTwin, api: httpx.Client, clock: ManualClock
) -> None:
    ticket = zendesk.create_ticket("Chatty")
    for n in range(30):
        body = {"ticket": {"comment": {"body": f"note {n}", "public": False}}}
        assert api.put(f"/api/v2/tickets/{ticket}", json=body).status_code == 200
    refused = api.put(f"/api/v2/tickets/{ticket}", json={"ticket": {"priority": "low"}})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    clock.advance(600)
    assert (
        api.put(f"/api/v2/tickets/{ticket}", json={"ticket": {"priority": "low"}}).status_code
        == 200
    )


# -- reads ----------------------------------------------------------------------------


def test_get_ticket_with_sideloads_and_404_for_an_unknown_one(
    zendesk: ZendeskTwin, api: httpx.Client
) -> None:
    ticket = zendesk.create_ticket("Laptop", priority="high")
    body = api.get(
        f"/api/v2/tickets/{ticket}.json", params={"include": "users,organizations"}
    ).json()
    assert body["ticket"]["priority"] == "high" and body["ticket"]["status"] == "new"
    assert "generated_timestamp" not in body["ticket"]
    assert body["organizations"][0]["name"] == "Globex"
    assert {u["role"] for u in body["users"]} == {"end-user"}
    missing = api.get("/api/v2/tickets/999")
    assert missing.status_code == 404 and missing.json() == {
        "error": "RecordNotFound",
        "description": "Not found",
    }


def test_show_many_tickets_answers_the_live_ones_with_sideloads(
    zendesk: ZendeskTwin, api: httpx.Client
) -> None:
    kept, other, gone = (zendesk.create_ticket(s) for s in ("Laptop", "Printer", "Gone"))
    zendesk.delete_ticket(gone)
    body = api.get(
        "/api/v2/tickets/show_many.json",
        params={"ids": f"{kept},{gone},999,{other}", "include": "users,organizations"},
    ).json()
    assert [t["id"] for t in body["tickets"]] == [kept, other]  # deleted and unknown left out
    assert body["organizations"][0]["name"] == "Globex"
    assert api.get("/api/v2/tickets/show_many", params={"ids": "x"}).status_code == 400


def test_audits_page_by_cursor_and_by_offset(zendesk: ZendeskTwin, api: httpx.Client) -> None:
    ticket = zendesk.create_ticket("Disk full")
    for status in ("open", "pending", "open"):
        zendesk.set_status(ticket, status)
    path = f"/api/v2/tickets/{ticket}/audits"
    first = api.get(path, params={"page[size]": 3}).json()
    assert len(first["audits"]) == 3 and first["meta"]["has_more"] is True
    rest = api.get(first["links"]["next"]).json()
    assert (
        len(rest["audits"]) == 1
        and rest["meta"]["has_more"] is False
        and rest["links"]["next"] is None
    )
    offset = api.get(path, params={"per_page": 2, "page": 2}).json()
    assert offset["count"] == 4 and offset["next_page"] is None and offset["previous_page"]
    assert [a["id"] for a in offset["audits"]] == [
        a["id"] for a in first["audits"][2:] + rest["audits"]
    ][:2]


def test_comments_in_descending_order_with_their_authors(
    zendesk: ZendeskTwin, api: httpx.Client
) -> None:
    ticket = zendesk.create_ticket("Email bounced", "It bounced")
    zendesk.agent_comment(ticket, "Internal: check MX", public=False)
    zendesk.customer_comment(ticket, "Any update?")
    body = api.get(
        f"/api/v2/tickets/{ticket}/comments", params={"sort_order": "desc", "include": "users"}
    ).json()
    assert [(c["body"], c["public"]) for c in body["comments"]] == [
        ("Any update?", True),
        ("Internal: check MX", False),
        ("It bounced", True),
    ]
    assert {u["role"] for u in body["users"]} == {"agent", "end-user"}


def test_users_me_show_many_and_search(zendesk: ZendeskTwin, api: httpx.Client) -> None:
    me = api.get("/api/v2/users/me").json()["user"]
    assert me["email"] == "sla-bot@msp.example" and me["role"] == "admin"
    anonymous = httpx.get(f"{zendesk.base_url}/api/v2/users/me", timeout=5).json()["user"]
    assert anonymous["id"] is None  # "Allowed For: Anonymous users"
    dana = zendesk.account.agents["dana@msp.example"]
    many = api.get(
        "/api/v2/users/show_many", params={"ids": f"{dana},{zendesk.account.api_user}"}
    ).json()
    assert sorted(u["id"] for u in many["users"]) == sorted([dana, zendesk.account.api_user])
    found = api.get("/api/v2/users/search", params={"query": "dana@msp.example"}).json()["users"]
    assert [u["id"] for u in found] == [dana]


def test_unknown_endpoint_answers_404(api: httpx.Client) -> None:
    assert api.get("/api/v2/not_a_thing").status_code == 404


# -- writes ---------------------------------------------------------------------------


def put(api: httpx.Client, ticket: int, **fields: Any) -> httpx.Response:
    return api.put(f"/api/v2/tickets/{ticket}", json={"ticket": fields})


def test_one_update_carries_everything_and_makes_one_audit_by_the_api_user(
    zendesk: ZendeskTwin, api: httpx.Client
) -> None:
    ticket = zendesk.create_ticket("Outage", priority="high")
    dana = zendesk.account.agents["dana@msp.example"]
    answer = put(
        api,
        ticket,
        comment={"body": "Escalated\n[sla-connector zd:1:p1-director:1]", "public": False},
        additional_tags=["sla-p1-director-c1"],
        assignee_id=dana,
        priority="urgent",
        status="open",
    ).json()
    audit = answer["audit"]
    assert audit["author_id"] == zendesk.account.api_user and audit["via"]["channel"] == "api"
    assert [e["type"] for e in audit["events"]] == ["Comment"] + ["Change"] * 5
    changed = {e["field_name"]: (e["previous_value"], e["value"]) for e in audit["events"][1:]}
    assert changed["assignee_id"] == (None, dana) and changed["priority"] == ("high", "urgent")
    assert changed["status"] == ("new", "open") and changed["tags"] == ([], ["sla-p1-director-c1"])
    assert audit["events"][0]["public"] is False
    audits = api.get(f"/api/v2/tickets/{ticket}/audits").json()["audits"]
    assert [a["author_id"] for a in audits] == [
        zendesk.account.customers[0],
        zendesk.account.api_user,
    ]
    writes = zendesk.journal.api_writes()
    assert {w.kind for w in writes} == {
        "private_comment",
        "tag",
        "assignee",
        "priority",
        "status",
        "custom_status",
    }
    assert {w.step for w in writes} == {f"{ticket}:p1-director:c1"}


def test_public_comment_and_the_ticket_visibility_default(
    zendesk: ZendeskTwin, api: httpx.Client
) -> None:
    ticket = zendesk.create_ticket("Question")
    put(api, ticket, comment={"body": "We are on it"})
    assert api.get(f"/api/v2/tickets/{ticket}/comments").json()["comments"][-1]["public"] is True
    assert [w.kind for w in zendesk.journal.api_writes()] == ["public_comment"]


def test_additional_tags_add_remove_tags_remove_and_tags_replace(
    zendesk: ZendeskTwin, api: httpx.Client
) -> None:
    ticket = zendesk.create_ticket("Tags", tags=["vip"])
    assert put(api, ticket, additional_tags=["sla-x-c1"]).json()["ticket"]["tags"] == [
        "vip",
        "sla-x-c1",
    ]
    again = put(api, ticket, additional_tags=["sla-x-c1"]).json()
    assert "audit" not in again  # nothing changed: no audit
    assert [w.changed for w in zendesk.journal.api_writes() if w.kind == "tag"] == [True, False]
    assert put(api, ticket, remove_tags=["vip"]).json()["ticket"]["tags"] == ["sla-x-c1"]
    assert put(api, ticket, tags=["only"]).json()["ticket"]["tags"] == ["only"]


def test_safe_update_with_a_stale_stamp_answers_409(
    zendesk: ZendeskTwin, api: httpx.Client, clock: ManualClock
) -> None:
    ticket = zendesk.create_ticket("Race")
    stamp = api.get(f"/api/v2/tickets/{ticket}").json()["ticket"]["updated_at"]
    clock.advance(5)
    zendesk.agent_comment(ticket, "A person got there first")
    stale = put(api, ticket, priority="urgent", safe_update=True, updated_stamp=stamp)
    assert stale.status_code == 409 and stale.json()["error"] == "UpdateConflict"
    assert zendesk.ticket(ticket)["priority"] is None
    fresh = api.get(f"/api/v2/tickets/{ticket}").json()["ticket"]["updated_at"]
    assert (
        put(api, ticket, priority="urgent", safe_update=True, updated_stamp=fresh).status_code
        == 200
    )
    assert fresh == iso(clock())


def test_invalid_update_changes_nothing(zendesk: ZendeskTwin, api: httpx.Client) -> None:
    ticket = zendesk.create_ticket("Atomic")
    customer = zendesk.account.customers[1]
    answer = put(api, ticket, priority="urgent", assignee_id=customer)
    assert answer.status_code == 422 and answer.json()["error"] == "RecordInvalid"
    assert zendesk.ticket(ticket)["priority"] is None and zendesk.journal.api_writes() == []


def test_custom_statuses_and_custom_status_id(zendesk: ZendeskTwin, api: httpx.Client) -> None:
    vendor = zendesk.state.add_custom_status("pending", "Pending - vendor")
    listed = api.get("/api/v2/custom_statuses", params={"status_categories": "pending"}).json()
    assert {s["agent_label"] for s in listed["custom_statuses"]} == {"Pending", "Pending - vendor"}
    assert (
        api.get(f"/api/v2/custom_statuses/{vendor}").json()["custom_status"]["status_category"]
        == "pending"
    )
    ticket = zendesk.create_ticket("Waiting")
    moved = put(api, ticket, custom_status_id=vendor).json()["ticket"]
    assert (moved["status"], moved["custom_status_id"]) == ("pending", vendor)
    back = put(api, ticket, status="open").json()["ticket"]
    assert back["custom_status_id"] == zendesk.state.default_status("open")
    assert put(api, ticket, status="new").status_code == 422  # never back to new


def test_a_ticket_deleted_while_being_read_answers_404(
    zendesk: ZendeskTwin, api: httpx.Client
) -> None:
    ticket = zendesk.create_ticket("Going away")
    zendesk.set_status(ticket, "open")
    first = api.get(f"/api/v2/tickets/{ticket}/audits", params={"page[size]": 1}).json()
    zendesk.delete_ticket(ticket)
    assert api.get(first["links"]["next"]).status_code == 404
    assert api.get(f"/api/v2/tickets/{ticket}").status_code == 404
    assert put(api, ticket, priority="low").status_code == 404


def test_a_merged_ticket_is_closed_with_a_note_and_refuses_updates(
    zendesk: ZendeskTwin, api: httpx.Client
) -> None:
    target, source = zendesk.create_ticket("Original"), zendesk.create_ticket("Duplicate")
    job = api.post(f"/api/v2/tickets/{target}/merge", json={"ids": [source]}).json()
    assert job["job_status"]["status"] == "completed"
    merged = api.get(f"/api/v2/tickets/{source}").json()["ticket"]
    assert merged["status"] == "closed" and "closed_by_merge" in merged["tags"]
    notes = api.get(f"/api/v2/tickets/{source}/comments").json()["comments"]
    assert notes[-1]["public"] is False and f"merged into request #{target}" in notes[-1]["body"]
    target_notes = api.get(f"/api/v2/tickets/{target}/comments").json()["comments"]
    assert f"Request #{source}" in target_notes[-1]["body"]
    refused = put(api, source, comment={"body": "late", "public": False})
    assert refused.status_code == 422
    assert (
        refused.json()["details"]["status"][0]["description"]
        == "Status: closed prevents ticket update"
    )


# -- the current connector, through the public registry ---------------------------------


class _WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def test_zendesk_connector_from_the_registry_polls_the_twin_and_writes_a_step(
    zendesk: ZendeskTwin, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = zendesk.create_ticket("Exchange down", priority="urgent")
    clock.advance(61)
    monkeypatch.setenv("TWIN_ZD_EMAIL", zendesk.account.api_email)
    monkeypatch.setenv("TWIN_ZD_TOKEN", zendesk.account.api_token)
    settings = {
        "type": "zendesk",
        "base_url": zendesk.base_url,
        "email_env": "TWIN_ZD_EMAIL",
        "token_env": "TWIN_ZD_TOKEN",
        "resolved_statuses": ["solved", "closed"],
        "priority_map": {"P1": "urgent"},
        "client_map": {"Globex": "globex"},
    }
    connector = load_connector_factory("zendesk", "zd")("zd", settings, _WallClock())
    marker = f"[sla-connector zd:{ticket}:p1-director:1]"

    async def poll_and_write() -> None:
        try:
            pages = [page async for page in connector.fetch_changed(None)]
            seen = [t for page in pages for t in page.tickets]
            assert [t.id for t in seen] == [str(ticket)]
            note = f"SLA breach: escalated\n{marker}"
            # The port's note method; a connector that only offers ``apply`` gets one action.
            add_note = getattr(connector, "add_internal_note", None)
            if add_note is not None:
                result = await add_note(seen[0], note)
            else:
                result = await connector.apply(seen[0], [("note", note)])
            assert result.ok, result.detail
        finally:
            await connector.aclose()

    asyncio.run(asyncio.wait_for(poll_and_write(), 60))
    writes = zendesk.journal.api_writes()
    assert [(w.kind, w.step, w.principal) for w in writes] == [
        ("private_comment", f"{ticket}:p1-director:c1", "token:sla-bot@msp.example")
    ]
    assert os.environ["TWIN_ZD_EMAIL"] == zendesk.account.api_email
