"""The twin framework: loopback server, journal, fault injection (shown on the Zendesk twin)."""

from __future__ import annotations

import contextlib
import threading
import time

import httpx
import pytest

from tests.twins.clock import ManualClock
from tests.twins.faults import FaultKind, FaultPlan
from tests.twins.journal import StepKey, step_of
from tests.twins.server import TwinServer
from tests.twins.zendesk import ZendeskTwin


def test_server_binds_loopback_on_a_free_port_and_stops(zendesk: ZendeskTwin) -> None:
    async def hello(scope: object, receive: object, send: object) -> None:  # a bare ASGI app
        await send({"type": "http.response.start", "status": 204, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

    with TwinServer(hello) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert httpx.get(server.base_url, timeout=5).status_code == 204
        url = server.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)
    assert zendesk.base_url != url


def test_manual_clock_never_goes_backwards() -> None:
    clock = ManualClock(100.0)
    assert clock.advance(5) == 105.0
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_journal_records_every_request_with_its_principal_and_status(
    zendesk: ZendeskTwin, api: httpx.Client
) -> None:
    api.get("/api/v2/users/me")
    httpx.get(f"{zendesk.base_url}/api/v2/tickets/1", timeout=5)
    first, second = zendesk.journal.requests()
    assert (first.method, first.path, first.status, first.principal) == (
        "GET",
        "/api/v2/users/me",
        200,
        "token:sla-bot@msp.example",
    )
    assert (second.status, second.principal) == (401, "anonymous")


def test_journal_ties_each_write_to_its_step_marker_or_tag(
    zendesk: ZendeskTwin, api: httpx.Client
) -> None:
    ticket = zendesk.create_ticket("Marked")
    api.put(
        f"/api/v2/tickets/{ticket}",
        json={"ticket": {"additional_tags": ["sla-lead-c2"], "priority": "high"}},
    )
    zendesk.agent_comment(ticket, "human reply")
    by_api, by_person = (
        zendesk.journal.api_writes(),
        [w for w in zendesk.journal.writes() if w.request is None],
    )
    assert {(w.kind, w.step_key()) for w in by_api} == {
        ("tag", StepKey(str(ticket), "lead", 2)),
        ("priority", StepKey(str(ticket), "lead", 2)),
    }
    assert [(w.kind, w.principal, w.step) for w in by_person] == [
        ("public_comment", "person:sam@msp.example", "")
    ]
    assert step_of("7", "zd:7:p1-director:1") == StepKey("7", "p1-director", 1)
    assert step_of("7", "sla-escalated") is None


@pytest.mark.parametrize(
    ("kind", "status", "retry_after"),
    [
        (FaultKind.RATE_LIMIT, 429, "2"),
        (FaultKind.SERVER_ERROR, 500, None),
        (FaultKind.UNAVAILABLE, 503, "2"),
    ],
)
def test_answered_faults_apply_nothing(
    zendesk: ZendeskTwin, api: httpx.Client, kind: FaultKind, status: int, retry_after: str | None
) -> None:
    ticket = zendesk.create_ticket("Faulty")
    zendesk.faults.inject(kind, method="PUT")
    answer = api.put(f"/api/v2/tickets/{ticket}", json={"ticket": {"priority": "low"}})
    assert answer.status_code == status and answer.headers.get("Retry-After") == retry_after
    assert zendesk.ticket(ticket)["priority"] is None
    assert zendesk.journal.requests()[-1].fault == kind.value


def test_stall_outlasts_the_client_timeout_and_applies_nothing(zendesk: ZendeskTwin) -> None:
    ticket = zendesk.create_ticket("Slow")
    zendesk.faults.inject(FaultKind.STALL, method="PUT")
    with pytest.raises(httpx.ReadTimeout):
        httpx.put(
            f"{zendesk.base_url}/api/v2/tickets/{ticket}",
            json={"ticket": {"priority": "low"}},
            auth=zendesk.basic_auth(),
            timeout=0.5,
        )
    assert zendesk.journal.wait_for(lambda view: len(view.requests) == 1, 5)
    record = zendesk.journal.requests()[0]
    assert (
        record.status is None
        and record.duration >= 0
        and zendesk.ticket(ticket)["priority"] is None
    )


def test_truncated_body_is_a_complete_answer_that_does_not_parse(
    zendesk: ZendeskTwin, api: httpx.Client
) -> None:
    ticket = zendesk.create_ticket("Cut")
    zendesk.faults.inject(FaultKind.TRUNCATED, method="PUT")
    answer = api.put(f"/api/v2/tickets/{ticket}", json={"ticket": {"priority": "low"}})
    assert answer.status_code == 200
    with pytest.raises(ValueError):
        answer.json()
    assert zendesk.ticket(ticket)["priority"] == "low"  # the write landed


def test_reset_drops_the_connection_before_any_answer(
    zendesk: ZendeskTwin, api: httpx.Client
) -> None:
    zendesk.faults.inject(FaultKind.RESET, path=r"/users/me$")
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        api.get("/api/v2/users/me")
    assert api.get("/api/v2/users/me").status_code == 200  # one request only


def test_stall_after_write_lands_the_write_and_never_answers(zendesk: ZendeskTwin) -> None:
    ticket = zendesk.create_ticket("Lost answer")
    zendesk.faults.inject(FaultKind.STALL_AFTER_WRITE)
    seen = zendesk.faults.held_count
    errors: list[BaseException] = []

    def write() -> None:
        try:
            httpx.put(
                f"{zendesk.base_url}/api/v2/tickets/{ticket}",
                json={"ticket": {"comment": {"body": "note", "public": False}}},
                auth=zendesk.basic_auth(),
                timeout=1.0,
            )
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    assert zendesk.faults.wait_held(seen, 5)  # the moment a soak kills the daemon
    assert [w.kind for w in zendesk.journal.api_writes()] == ["private_comment"]
    thread.join(10)
    assert len(errors) == 1 and isinstance(errors[0], httpx.ReadTimeout)


def test_stall_after_write_leaves_reads_alone(zendesk: ZendeskTwin, api: httpx.Client) -> None:
    zendesk.faults.inject(FaultKind.STALL_AFTER_WRITE)
    assert api.get("/api/v2/users/me").status_code == 200
    assert zendesk.faults.injected[FaultKind.STALL_AFTER_WRITE] == 0


def test_faults_at_a_rate_are_seeded_and_bounded() -> None:
    def draw(seed: int) -> list[FaultKind | None]:
        plan = FaultPlan(seed=seed)
        plan.set_rate(0.3)
        return [plan.pick("GET", "/api/v2/tickets/1") for _ in range(1000)]

    picks = draw(7)
    assert picks == draw(7)
    share = sum(p is not None for p in picks) / len(picks)
    assert 0.25 < share < 0.35
    assert FaultKind.STALL_AFTER_WRITE not in picks  # reads never get it
    plan = FaultPlan()
    plan.set_rate(1.0)
    assert plan.pick("GET", "/oauth/tokens") is None  # outside the rate's path


def test_stopping_a_server_with_a_held_request_is_bounded(clock: ManualClock) -> None:
    twin = ZendeskTwin(clock=clock)
    twin.faults.stall_seconds = 60
    twin.faults.inject(FaultKind.STALL)
    with twin.serve():

        def call() -> None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{twin.base_url}/api/v2/users/me", timeout=30)

        thread = threading.Thread(target=call, daemon=True)
        thread.start()
        time.sleep(0.3)
        started = time.monotonic()
    assert time.monotonic() - started < 10
