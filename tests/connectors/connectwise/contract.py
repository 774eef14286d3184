"""The ConnectWise connector under the contract suite: ``FakeConnectWise`` with a real feed.

The support fake serves whatever ids a test scripts; the suite needs a feed that answers
the query the connector sends, so ``FeedConnectWise`` honours the ``conditions`` it reads:
``lastUpdated > [date]`` and ``closedFlag = false OR ...`` (psa-apis.md, ConnectWise,
"conditions": dates in square brackets, ``AND``/``OR``), and keeps ``_info.lastUpdated``
current on every write, as Manage does.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from sla_connector_psa.connectwise import ConnectWiseConnector, parse_settings

from tests.connectors.contract import Case, FailingTransport

from .support import ENV, SETTINGS, FakeClock, FakeConnectWise, VirtualSleep, iso, make_ticket
from .support import T0 as NOW

IDS = (101, 102, 103, 104, 105)
_AFTER = re.compile(r"lastUpdated > \[([^\]]+)\]")


class FeedConnectWise(FakeConnectWise):
    """The support fake, whose ticket feed filters by the request's conditions."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock

    def _feed(self, request: httpx.Request) -> httpx.Response:
        conditions = request.url.params.get("conditions", "")
        if "id in (" in conditions:
            return super()._feed(request)
        after = _AFTER.search(conditions)
        open_too = "closedFlag = false OR" in conditions
        rows = []
        for ticket_id in sorted(self.tickets):
            raw = self.tickets[ticket_id]
            updated = raw["_info"]["lastUpdated"]
            recent = after is None or updated > after.group(1)
            if recent or (open_too and not raw.get("closedFlag")):
                rows.append(raw)
        return httpx.Response(200, json=self._page(rows, request))

    def _patch(self, request: httpx.Request) -> httpx.Response:
        response = super()._patch(request)
        if response.status_code < 300:
            self.tickets[self._id(request)]["_info"]["lastUpdated"] = iso(self.clock.now())
        return response

    def _post_note(self, request: httpx.Request) -> httpx.Response:
        response = super()._post_note(request)
        if response.status_code < 300:
            self.tickets[self._id(request)]["_info"]["lastUpdated"] = iso(self.clock.now())
        return response


def case() -> Case:
    clock = FakeClock(NOW)
    fake = FeedConnectWise(clock)
    for offset, ticket_id in enumerate(IDS):
        fake.add(make_ticket(ticket_id, updated=NOW - timedelta(minutes=50 - offset)))
    transport = FailingTransport(httpx.MockTransport(fake.router.async_handler))
    client = httpx.AsyncClient(transport=transport)
    # first_response: notes, so a re-read ticket carries its internal notes (and tags).
    settings: dict[str, Any] = {**SETTINGS, "page_size": 2, "first_response": "notes"}
    connector = ConnectWiseConnector(
        parse_settings("cw", settings, environ=ENV),
        clock,
        client=client,
        sleep=VirtualSleep(clock),
        max_attempts=2,
    )

    def withdraw(ticket_id: str) -> None:
        del fake.tickets[int(ticket_id)]  # deleted in Manage: 404, out of every list

    def break_one() -> tuple[str, str]:
        broken = str(IDS[2])
        transport.broken = (re.compile(rf"/system/audittrail\?.*\bid={broken}\b"), 500)
        return "ticket", broken

    def touch(ticket_id: str) -> None:
        clock.at += timedelta(minutes=5)
        raw = fake.tickets[int(ticket_id)]
        raw["status"]["name"] = "Waiting on Customer"
        raw["_info"]["lastUpdated"] = iso(clock.at)

    return Case(
        kind="connectwise",
        connector=connector,
        ticket_ids=frozenset(str(i) for i in IDS),
        unknown_id="999",
        person="alex@msp.example",
        tier="P1",
        touch=touch,
        capabilities=("find_note",),
        shows_notes=True,
        transport=transport,
        client=client,
        withdraw=withdraw,
        break_one=break_one,
    )
