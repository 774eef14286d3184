"""Rate limits and retries as the Zendesk adapter sees them (virtual time, no real sleeping)."""

from __future__ import annotations

import httpx
import pytest
import respx
from sla_connector_psa.zendesk import EXPORT_PATH
from sla_connector_psa.zendesk.cursor import ZendeskCursor, encode_cursor

from sla_connector.core.errors import RetriableConnectorError

from .support import BASE, json_response, load, make_connector, poll

pytestmark = pytest.mark.anyio

CURSOR = encode_cursor(ZendeskCursor(events=1793637900, export="MTc5MzYzNzkwMC4wfHwxMDV8"))


async def test_429_waits_the_retry_after_seconds_then_reads_the_page() -> None:
    connector, sleep = make_connector()
    with respx.mock(base_url=BASE) as router:
        export = router.get(EXPORT_PATH).mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "42"}),
                json_response(load("export_empty.json")),
            ]
        )
        (page,) = await poll(connector, CURSOR)
    assert export.call_count == 2
    assert sleep.waits == [42.0]
    assert page.tickets == ()


async def test_5xx_is_retried_with_backoff() -> None:
    connector, sleep = make_connector()
    with respx.mock(base_url=BASE) as router:
        export = router.get(EXPORT_PATH).mock(
            side_effect=[
                httpx.Response(503),
                httpx.Response(500),
                json_response(load("export_empty.json")),
            ]
        )
        await poll(connector, CURSOR)
    assert export.call_count == 3
    backoffs, paced = sleep.waits[:2], sleep.waits[2:]
    assert len(backoffs) == 2 and all(0 < wait <= 60 for wait in backoffs)
    # The third attempt may also wait for the export budget's pace (two per 15.25 s).
    assert len(paced) <= 1 and all(0 < wait <= 15.25 for wait in paced)


async def test_persistent_5xx_fails_the_poll_as_retriable() -> None:
    connector, _ = make_connector(max_attempts=3)
    with respx.mock(base_url=BASE) as router:
        export = router.get(EXPORT_PATH).mock(return_value=httpx.Response(500))
        with pytest.raises(RetriableConnectorError):
            await poll(connector, CURSOR)
    assert export.call_count == 3


async def test_exhausted_rate_limit_header_delays_the_next_request() -> None:
    connector, sleep = make_connector()
    page = load("export_empty.json") | {"tickets": load("export_page3.json")["tickets"]}
    with respx.mock(base_url=BASE) as router:
        router.get(EXPORT_PATH).mock(
            return_value=httpx.Response(
                200, json=page, headers={"ratelimit-remaining": "0", "ratelimit-reset": "17"}
            )
        )
        # Ticket 105 changed before the cursor's stream position: its audits are read.
        audits = load("audits_102_page1.json") | {"next_page": None}
        router.get("/api/v2/tickets/105/audits").mock(
            return_value=json_response(
                audits | {"audits": [a | {"ticket_id": 105} for a in audits["audits"]]}
            )
        )
        await poll(connector, CURSOR)
    assert sleep.waits == [17.0]


async def test_incremental_endpoints_keep_their_own_budget() -> None:
    connector, sleep = make_connector(export_requests_per_minute=2)
    with respx.mock(base_url=BASE) as router:
        router.get(EXPORT_PATH).mock(return_value=json_response(load("export_empty.json")))
        for _ in range(3):
            await poll(connector, CURSOR)
    # The account's 100 a minute would hold none of them; the export's 2 a minute, paced at
    # 2 x 61 s / 2, hold each poll after the first for a whole window.
    assert sleep.waits == [61.0, 61.0]
