"""OAuth on the twins: access tokens that expire every few seconds during polls and writes.

Acceptance of issue 12: a token that keeps expiring causes no missed poll or write and no
401 reaching the caller, and no token or secret reaches a log line. The twins issue tokens
with a 3-second lifetime on the wall clock; the connectors poll, re-read and write for
about ten seconds. (``bench/bench_requests.py --oauth`` is the 5-minute, 60-second variant.)
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from sla_connector.core.ports import Connector
from tests.twins.connectors import jira_connector, zendesk_connector
from tests.twins.jira_sm import JiraTwin
from tests.twins.zendesk import ZendeskTwin

pytestmark = pytest.mark.anyio

LIFETIME = 3.0
RUN = 10.0


class Wall:
    def now(self) -> datetime:
        return datetime.now(UTC)


async def drive(connector: Connector, ticket_id: str, seconds: float) -> tuple[int, int]:
    """Poll, re-read and write once a second; every call must succeed."""
    polls = writes = 0
    cursor: str | None = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pages = [page async for page in connector.fetch_changed(cursor)]
        assert not [p.failures for p in pages if p.failures]
        cursor = pages[-1].cursor
        polls += 1
        ticket = await connector.fetch_ticket(ticket_id)
        result = await connector.add_tag(ticket, f"sla-t{writes}-c1")
        assert result.ok, result.detail
        writes += 1
        await asyncio.sleep(0.7)
    return polls, writes


def assert_no_secret_logged(caplog: pytest.LogCaptureFixture, secrets: list[str]) -> None:
    text = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert all(secret not in text for secret in secrets)


async def test_zendesk_oauth_tokens_expiring_every_3_s_never_reach_the_caller(
    env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    twin = ZendeskTwin(export_lag=1.0, incremental_limit=1000, token_lifetime=LIFETIME)
    twin.auth.api_tokens_enabled = False
    ticket = twin.create_ticket("Mail server down", priority="urgent")
    with twin.serve():
        await asyncio.sleep(1.1)
        connector = zendesk_connector(
            twin, Wall(), oauth=True, environ=env, export_requests_per_minute=1000
        )
        try:
            polls, writes = await drive(connector, str(ticket), RUN)
        finally:
            await connector.aclose()
    assert polls >= 8 and writes == polls
    assert twin.auth.issued >= RUN // LIFETIME  # renewed again and again
    landed = {w.value for w in twin.journal.api_writes() if w.kind == "tag"}
    assert landed == {f"sla-t{n}-c1" for n in range(writes)}  # no write missed
    assert_no_secret_logged(caplog, [*twin.auth.access, twin.auth.clients["twin-sla"].secret])


async def test_jira_oauth_tokens_expiring_every_3_s_never_reach_the_caller(
    env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    twin = JiraTwin(token_lifetime=LIFETIME)
    key = twin.create_issue("Laptop broken", priority="High")
    with twin.serve():
        connector = jira_connector(twin, Wall(), environ=env)
        try:
            polls, writes = await drive(connector, key, RUN)
        finally:
            await connector.aclose()
    assert polls >= 8 and writes == polls
    assert twin.auth.issued >= RUN // LIFETIME
    landed = {w.value for w in twin.journal.api_writes() if w.kind == "tag" and w.changed}
    assert landed == {f"sla-t{n}-c1" for n in range(writes)}
    assert_no_secret_logged(caplog, [*twin.auth.tokens, twin.account.client_secret])
