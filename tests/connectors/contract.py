"""What the connector contract suite (``test_contract.py``) needs from each connector.

In the spirit of the Singer SDK's test factory: one suite, run against every connector. A
connector's test package supplies a ``Case``: the connector built against its recorded or
mock transport (``tests/connectors/<psa>/contract.py``), what its fake PSA holds, and how to
change a ticket there. ``FailingTransport`` wraps any transport so every case can be made to
answer 401, 403, 404, 500 or to be unreachable, the failures ``check()`` must tell apart;
to answer the next write with 409; to cut the next body short; and to fail one path (one
ticket's history) every time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from sla_connector.core.ports import Connector

__all__ = ["FAILURES", "Case", "FailingTransport"]

FAILURES = ("401", "403", "404", "500", "unreachable")


class FailingTransport(httpx.AsyncBaseTransport):
    """Passes requests to ``inner`` until told to fail them all one way (``failing``)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.failing: str | None = None
        self.conflicts = 0  # the next N writes answer 409
        self.truncations = 0  # the next N GETs answer their body cut in half
        self.broken: tuple[re.Pattern[str], int] | None = None  # a URL that always fails

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.failing == "unreachable":
            raise httpx.ConnectError("connection refused", request=request)
        if self.failing is not None:
            return httpx.Response(int(self.failing), json={"error": "failing"}, request=request)
        if self.broken is not None and self.broken[0].search(str(request.url)):
            return httpx.Response(self.broken[1], json={"error": "broken"}, request=request)
        if self.conflicts and request.method != "GET":
            self.conflicts -= 1
            return httpx.Response(409, json={"error": "conflict"}, request=request)
        response = await self.inner.handle_async_request(request)
        if self.truncations and request.method == "GET" and response.status_code == 200:
            self.truncations -= 1
            body = await response.aread()
            return httpx.Response(200, content=body[: len(body) // 2], request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Case:
    """One connector under the contract suite, and the fake PSA behind it.

    ``ticket_ids`` are every ticket a full read must deliver (more than one page of them);
    ``touch(id)`` changes one in the fake PSA (and lets time pass) so the next poll must
    deliver it; ``person`` and ``tier`` are what ``assign`` and ``set_priority`` can resolve;
    ``capabilities`` what ``writeback.capabilities`` must find; ``shows_notes`` whether a
    re-read ticket's ``notes`` show an internal note the connector wrote. ``transport`` and
    ``client`` are None for a connector without HTTP (the embedded simulator).
    ``withdraw(id)`` deletes a ticket in the fake PSA; ``break_one()`` makes one object (a
    ticket's history, a project) fail every time and says which.
    """

    kind: str
    connector: Connector
    ticket_ids: frozenset[str]
    unknown_id: str
    person: str
    tier: str
    touch: Callable[[str], None]
    capabilities: tuple[str, ...] = ()
    shows_notes: bool = False
    transport: FailingTransport | None = None
    client: httpx.AsyncClient | None = None
    withdraw: Callable[[str], None] | None = None  # delete a ticket in the fake PSA
    break_one: Callable[[], tuple[str, str]] | None = None  # (kind, id) of a failing object
    reasons: tuple[str, ...] = field(default_factory=lambda: ("deleted",))

    def fail(self, kind: str) -> None:
        """From now on every request fails as ``kind`` (one of ``FAILURES``)."""
        assert self.transport is not None, f"{self.kind} has no transport to fail"
        self.transport.failing = kind
