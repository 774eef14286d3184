"""Contract test: check(), one poll and one write-back against Prism serving zendesk.yaml.

Passes only when Prism reports no request-validation error: every path, parameter, header and
body the adapter sends is one the published Zendesk OpenAPI document accepts.
"""

from __future__ import annotations

import httpx
import pytest
from sla_connector_psa.zendesk import ZendeskConnector
from sla_connector_psa.zendesk.settings import parse_settings

from sla_connector.core.ticket import Ticket
from tests.connectors.prism import PrismServer, prism_fixture

from .support import ENV, SETTINGS, FakeClock, VirtualSleep, poll

pytestmark = pytest.mark.anyio
prism = prism_fixture("zendesk.yaml")


def adapter(base_url: str) -> ZendeskConnector:
    clock = FakeClock()
    settings = parse_settings("zd", {**SETTINGS, "base_url": base_url}, environ=ENV)
    return ZendeskConnector(
        settings,
        clock,
        client=httpx.AsyncClient(timeout=30),
        sleep=VirtualSleep(clock),
        max_attempts=1,
    )


async def test_check_poll_and_write_pass_request_validation(prism: PrismServer) -> None:
    prism.mark()
    connector = adapter(prism.base_url)
    try:
        verdict = await connector.check()
        pages = await poll(connector, None)
        ticket = pages[0].tickets[0]
        written = await connector.apply(
            ticket,
            [
                ("reassign", "9001"),
                ("set_priority", "P1"),
                ("note", "SLA breach"),
                ("tag", "sla_breach"),
            ],
        )
        again = await poll(connector, pages[-1].cursor)
    finally:
        await connector.aclose()
    assert prism.request_errors() == []
    assert verdict.ok, verdict.summary
    assert [t.id for t in pages[0].tickets] == ["35436"]  # the spec's example ticket
    assert written.ok, written.detail
    assert again
    assert isinstance(ticket, Ticket)
