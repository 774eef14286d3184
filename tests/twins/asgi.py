"""The ASGI wrapper every twin shares: journal every request, inject faults around the app.

The wrapped vendor app reads ``scope["state"]["twin.seq"]`` (the journal's request number,
to tie its writes to the request) and may set ``"twin.principal"`` (who authenticated) and
``"twin.exposed"`` (ticket ids an export answer carries). The vendor supplies
``fault_response`` so injected 429/500/503 answers have its error shape.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, Self

from tests.twins.clock import Clock
from tests.twins.faults import FaultKind, FaultPlan
from tests.twins.journal import Journal
from tests.twins.server import TRANSPORT_KEY, TwinServer

__all__ = ["FaultResponse", "ServedTwin", "TwinMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
FaultResponse = Callable[[FaultKind, int], tuple[int, list[tuple[bytes, bytes]], bytes]]

_ANSWERED = {
    FaultKind.RATE_LIMIT,
    FaultKind.SERVER_ERROR,
    FaultKind.UNAVAILABLE,
    FaultKind.CONFLICT,
}


def _abort(scope: Scope, *, reset: bool) -> None:
    transport = scope.get("state", {}).get(TRANSPORT_KEY)
    if transport is None:
        return
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER 0: close() sends a TCP RST instead of a FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class TwinMiddleware:
    """Wraps a vendor ASGI app with the journal and the fault plan."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        journal: Journal,
        faults: FaultPlan,
        clock: Clock,
        identify: Callable[[Scope], str],
        fault_response: FaultResponse,
    ) -> None:
        self.app = app
        self.journal = journal
        self.faults = faults
        self.clock = clock
        self.identify = identify
        self.fault_response = fault_response
        # Called with (method, path) after each answer: how a test makes something happen
        # between two requests of one poll (a ticket deleted while it is being read).
        self.after: list[Callable[[str, str], None]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        path: str = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        state = scope.setdefault("state", {})
        seq = self.journal.open_request(self.clock(), method, path, query, self.identify(scope))
        state["twin.seq"] = seq
        fault = self.faults.pick(method, path)
        status: list[int | None] = [None]
        close = self._closer(seq, state, fault, status)
        try:
            if fault in _ANSWERED:
                assert fault is not None
                code, headers, body = self.fault_response(fault, self.faults.retry_after)
                status[0] = code
                await _respond(send, code, headers, body, before_last=close)
            elif fault is FaultKind.RESET:
                _abort(scope, reset=True)
                await asyncio.sleep(0.01)
            elif fault is FaultKind.STALL:
                await self._hold()
                _abort(scope, reset=False)
                await asyncio.sleep(0.01)
            elif fault is FaultKind.TRUNCATED:
                captured = await _capture(self.app, scope, receive)
                status[0] = captured.status
                await captured.replay(send, truncate=True, before_last=close)
            elif fault is FaultKind.STALL_AFTER_WRITE:
                await _capture(self.app, scope, receive)
                self.faults.note_held()
                await self._hold()
                _abort(scope, reset=False)
                await asyncio.sleep(0.01)
            else:

                async def watch(message: Message) -> None:
                    if message["type"] == "http.response.start":
                        status[0] = int(message["status"])
                        if status[0] in (204, 304):  # no body: the headers end the answer
                            close(delivered=True)
                    elif message["type"] == "http.response.body" and not message.get("more_body"):
                        close(delivered=True)
                    await send(message)

                await self.app(scope, receive, watch)
        finally:
            close()
            for hook in list(self.after):
                hook(method, path)

    async def _hold(self) -> None:
        """Hold an answer for ``stall_seconds``, or until the twin releases held answers."""
        deadline = time.monotonic() + self.faults.stall_seconds
        while not self.faults.released.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    def _closer(
        self,
        seq: int,
        state: MutableMapping[str, Any],
        fault: FaultKind | None,
        status: list[int | None],
    ) -> Callable[..., None]:
        """Close the journal record just before the last byte goes out, so a client that
        has its answer always finds the request in the journal (idempotent)."""

        def close(*, delivered: bool = False) -> None:
            self.journal.close_request(
                seq,
                now=self.clock(),
                status=status[0],
                fault=fault.value if fault else None,
                principal=state.get("twin.principal"),
                exposed=state.get("twin.exposed", ()) if delivered else (),
            )

        return close


async def _respond(
    send: Send,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    *,
    before_last: Callable[[], None] | None = None,
) -> None:
    all_headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    if before_last is not None:
        before_last()
    await send({"type": "http.response.body", "body": body})


class _Captured:
    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""

    async def replay(self, send: Send, *, truncate: bool, before_last: Callable[[], None]) -> None:
        body = self.body[: len(self.body) // 2] if truncate else self.body
        headers = [(k, v) for k, v in self.headers if k.lower() != b"content-length"]
        await _respond(send, self.status, headers, body, before_last=before_last)


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> _Captured:
    captured = _Captured()
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        if message["type"] == "http.response.start":
            captured.status = int(message["status"])
            captured.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    captured.body = b"".join(chunks)
    return captured


class ServedTwin:
    """What every vendor twin shares: its ASGI app served on loopback, bounded start/stop.

    A subclass sets ``asgi`` (the ``TwinMiddleware`` around its vendor app), ``faults`` and
    ``vendor`` (a name for error messages); ``base_url`` is the server's root, which a twin
    may extend with its API's base path.
    """

    asgi: Any
    faults: FaultPlan
    journal: Journal
    vendor = "twin"
    _server: TwinServer | None = None

    def wrap(
        self,
        app: ASGIApp,
        *,
        clock: Clock,
        identify: Callable[[Scope], str],
        fault_response: FaultResponse,
    ) -> TwinMiddleware:
        """The vendor app inside the journal and the fault plan; kept as ``asgi``."""
        self.asgi = TwinMiddleware(
            app,
            journal=self.journal,
            faults=self.faults,
            clock=clock,
            identify=identify,
            fault_response=fault_response,
        )
        return self.asgi

    def start(self) -> Self:
        self.faults.released.clear()
        self._server = TwinServer(self.asgi).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self.faults.release_held()
            self._server.stop()
            self._server = None

    @contextmanager
    def serve(self) -> Iterator[Self]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    @property
    def root_url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"the {self.vendor} twin is not serving")
        return self._server.base_url
