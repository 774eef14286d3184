"""Several tickets in one request (``ZendeskConnector.fetch_tickets``, spec ``TicketsShowMany``).

Only Zendesk offers ``core.ports.TicketBatchReader`` so far: due steps verified together
cost one Show Multiple Tickets request instead of one read each (issue 10).
"""

from __future__ import annotations

import pytest

from sla_connector.core.errors import ConnectorError, TicketGoneError
from sla_connector.runtime.writeback import capabilities
from tests.connectors.zendesk.contract import case

pytestmark = pytest.mark.anyio


async def test_tickets_read_together_are_each_what_a_read_alone_gives() -> None:
    zendesk = case()
    reader = capabilities(zendesk.connector).batch_reader
    assert reader is not None and zendesk.withdraw is not None
    first, second, gone = sorted(zendesk.ticket_ids)[:3]
    connector = zendesk.connector
    for tid in (first, second):
        await connector.fetch_ticket(tid)  # histories cached where they can be
    before = connector.requests_made
    alone = [await connector.fetch_ticket(tid) for tid in (first, second)]
    one_by_one = connector.requests_made - before
    before = connector.requests_made
    shown = await reader.fetch_tickets([first, second])
    assert connector.requests_made - before == one_by_one - 1  # one request for both tickets
    assert list(shown.values()) == alone
    zendesk.withdraw(gone)
    together = await reader.fetch_tickets([first, second, gone, "999999"])
    assert list(together) == [first, second, gone, "999999"]
    assert shown == {tid: together[tid] for tid in (first, second)}
    for tid in (first, second):
        assert together[tid] == await zendesk.connector.fetch_ticket(tid)
    assert isinstance(together[gone], TicketGoneError)
    assert isinstance(together["999999"], ConnectorError)
