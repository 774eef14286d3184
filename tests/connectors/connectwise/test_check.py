"""ConnectWise ``check()`` verdicts and HTTP resilience seen through the adapter."""

from __future__ import annotations

import httpx
import pytest
from sla_connector_psa.connectwise import ConnectWiseConnector, create

from sla_connector.core.errors import FatalConnectorError
from sla_connector.core.ports import Connector

from .support import ENV, SETTINGS, FakeClock, FakeConnectWise, load, make_connector, poll

pytestmark = pytest.mark.anyio


def ready() -> FakeConnectWise:
    fake = FakeConnectWise()
    fake.add(load("ticket.json"), audit=load("audittrail.json"), notes=load("notes.json"))
    fake.feed = [1001]
    return fake


async def test_check_reports_open_tickets_after_probing_every_needed_endpoint() -> None:
    fake = ready()
    connector, _ = make_connector(fake)
    result = await connector.check()
    assert result.ok, result.summary
    assert result.summary == (
        "connected to https://api-na.myconnectwise.net/v4_6_release/apis/3.0 as company "
        "mspco: 1 open tickets; auth: API member keys"
    )
    assert result.details["boards"] == ["Service Desk"]
    assert result.details["api_members"] == ["slaconnector"]
    assert result.details["audit_trail_readable"] is True
    assert result.details["auth"]["method"] == "api_member_keys"
    paths = [r.url.path.split("/apis/3.0")[1] for r in fake.requests]
    assert paths == [
        "/service/tickets",
        "/service/tickets/count",
        "/service/boards",
        "/system/members",
        "/system/audittrail",
        "/service/tickets/1001/allNotes",
    ]


@pytest.mark.parametrize(
    ("route", "outcome", "expected"),
    [
        ("feed", httpx.Response(401), "credentials rejected (401)"),
        ("feed", httpx.Response(404), "wrong URL: https://api-na.myconnectwise.net/v4_6_release"),
        (
            "feed",
            httpx.ConnectError("Name or service not known"),
            "host unreachable: cannot reach api-na.myconnectwise.net",
        ),
        ("audit", httpx.Response(403), "permission missing (403) on https://api-na"),
    ],
)
async def test_check_gives_a_distinct_actionable_verdict_per_failure(
    route: str, outcome: object, expected: str
) -> None:
    fake = ready()
    fake.script(route, outcome, outcome)
    connector, _ = make_connector(fake)
    result = await connector.check()
    assert not result.ok
    assert result.summary.startswith(expected), result.summary


async def test_check_verdicts_name_what_to_fix() -> None:
    summaries = {}
    for status in (401, 403, 404):
        fake = ready()
        fake.script("feed", httpx.Response(status))
        connector, _ = make_connector(fake)
        summaries[status] = (await connector.check()).summary
    assert "CW_PUBLIC_KEY / CW_PRIVATE_KEY / CW_CLIENT_ID" in summaries[401]
    assert "security role" in summaries[403]
    assert "base_url should look like" in summaries[404]
    assert len(set(summaries.values())) == 3


async def test_check_flags_a_board_that_does_not_exist() -> None:
    fake = ready()
    connector, _ = make_connector(fake, boards=["Service Desk", "Nope"])
    result = await connector.check()
    assert not result.ok
    assert result.summary == "board(s) not found: Nope; fix connectors.cw.boards"


async def test_poll_honours_retry_after_on_429_in_virtual_time() -> None:
    fake = ready()
    fake.script("feed", httpx.Response(429, headers={"Retry-After": "37"}))
    connector, sleep = make_connector(fake, first_response="date_responded")
    tickets, _, _ = await poll(connector, None)
    assert [t.id for t in tickets] == ["1001"]
    assert sleep.waits == [37.0]


async def test_poll_retries_5xx_on_history_reads() -> None:
    fake = ready()
    fake.script("audit", httpx.Response(502), httpx.Response(503))
    connector, sleep = make_connector(fake, first_response="date_responded")
    tickets, _, rejected = await poll(connector, None)
    assert rejected == []
    assert len(tickets[0].events) > 1
    assert len(fake.calls("GET", "/system/audittrail")) == 3
    assert len(sleep.waits) == 2


async def test_create_reads_secrets_from_the_named_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    connector: Connector = create("cw", SETTINGS, FakeClock())  # mypy checks the protocol
    assert isinstance(connector, ConnectWiseConnector)
    assert isinstance(connector, Connector)
    assert connector.name == "cw"
    await connector.aclose()


def test_create_names_the_unset_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CW_PUBLIC_KEY", "x")
    monkeypatch.setenv("CW_PRIVATE_KEY", "y")
    monkeypatch.delenv("CW_CLIENT_ID", raising=False)
    with pytest.raises(FatalConnectorError, match="environment variable CW_CLIENT_ID is not set"):
        create("cw", SETTINGS, FakeClock())


def test_create_refuses_plain_http_to_a_remote_host(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(FatalConnectorError, match="plain http"):
        create(
            "cw", {**SETTINGS, "base_url": "http://cw.example/v4_6_release/apis/3.0"}, FakeClock()
        )
