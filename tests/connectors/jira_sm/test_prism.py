"""Contract test: every request the adapter makes is valid against the official Jira specs.

Stoplight Prism serves ``jira-combined.json`` (platform + servicedeskapi, Basic auth accepted)
in dynamic mode on 127.0.0.1 and validates each request; the test passes only when Prism
refused none of them. The answers are random data, so only the requests are judged.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime

import httpx
import pytest
from sla_connector_psa.jira_sm import JiraServiceManagement
from sla_connector_psa.jira_sm.settings import parse_settings

from sla_connector.core.ticket import Ticket
from tests.connectors.prism import PrismServer, prism_fixture

from .support import ENV, SETTINGS, FakeClock, Sleeps

pytestmark = pytest.mark.anyio

prism = prism_fixture("jira-combined.json", dynamic=True)


def adapter_for(server: PrismServer, **overrides: object) -> JiraServiceManagement:
    settings = parse_settings(
        "jsm", {**SETTINGS, "base_url": server.base_url, **overrides}, environ=ENV
    )
    clock = FakeClock(datetime(2026, 11, 2, 18, 0, tzinfo=UTC))
    return JiraServiceManagement(
        settings, clock, client=httpx.AsyncClient(timeout=30), sleep=Sleeps()
    )


async def test_check_poll_and_writes_pass_prism_request_validation(prism: PrismServer) -> None:
    prism.mark()
    checker = adapter_for(prism)
    result = await checker.check()
    assert not result.summary.startswith(("credentials", "wrong URL", "unreachable"))
    await checker.aclose()

    poller = adapter_for(prism, organization_field="customfield_10002")
    pages = poller.fetch_changed(None)
    assert isinstance(pages, AsyncGenerator)
    page = await anext(pages)
    await pages.aclose()  # one page is enough: Prism's random tokens never end
    assert page.cursor is not None
    ticket = Ticket(
        id="ITSD-2",
        source="jsm",
        client="acme",
        created_at=datetime(2026, 11, 2, 10, 30, tzinfo=UTC),
    )
    assert (await poller.assign(ticket, "emma@msp.example")).ok
    await poller.assign(ticket, "sam@msp.example")  # e-mail lookup first
    assert (await poller.set_priority(ticket, "P1")).ok
    assert (await poller.add_internal_note(ticket, "SLA breach: escalated.")).ok
    assert (await poller.add_tag(ticket, "sla_breached")).ok
    await poller.aclose()
    assert prism.request_errors() == []
    log = prism.log_text()
    for method, path in (
        ("get", "/rest/api/3/myself"),
        ("get", "/rest/servicedeskapi/servicedesk"),
        ("post", "/rest/api/3/search/approximate-count"),
        ("get", "/rest/api/3/field"),
        ("get", "/rest/api/3/search/jql"),
        ("get", "/rest/api/3/user/search"),
        ("put", "/rest/api/3/issue/ITSD-2/assignee"),
        ("put", "/rest/api/3/issue/ITSD-2"),
        ("post", "/rest/servicedeskapi/request/ITSD-2/comment"),
    ):
        assert f"[HTTP SERVER] {method} {path} " in log, f"{method} {path} was never requested"
