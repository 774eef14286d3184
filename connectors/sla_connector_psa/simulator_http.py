"""The simulator PSA over loopback HTTP (``type: simulator_http``): a client connector.

It talks to ``python -m sla_connector_psa.simulator_server`` through the shared ``PsaHttp``
layer, so the daemon meets what it meets against a real PSA: retries with back-off,
``Retry-After``, timeouts, and writes that may or may not have landed
(``AmbiguousWriteError``), which the runtime settles through its markers. The crash and
fault tests run real ``sla-connector run`` processes against it.

Settings (``connectors.<name>``), besides the simulator's own keys the server reads:

- ``base_url`` (required): ``http://127.0.0.1:<port>``.
- ``timeout`` (real seconds, default 10) and ``connect_timeout`` (default 5).
- ``max_attempts`` per request (default 5), ``requests_per_minute`` (default 6000),
  ``page_size`` (tickets per bulk read, default 100).

Waits (back-off, ``Retry-After``) are in the PSA's time: when the injected clock runs
``speed`` times faster than the wall clock (accelerated virtual time), they are shortened
by that factor, so a simulated day keeps its proportions.

Endpoints (shared with the server): ``GET /api/changes?cursor=`` -> ``{"ids", "cursor"}``;
``GET /api/tickets?ids=a,b`` -> ``{"tickets": [...]}``; ``GET /api/tickets/{id}``;
``POST /api/tickets/{id}/assign|priority|notes|tags``; ``GET /api/status``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from sla_connector.core.errors import ConnectorError, FatalConnectorError, TicketError
from sla_connector.core.ports import CheckResult, Clock, PollPage, WriteResult
from sla_connector.core.ticket import Ticket, parse_ticket
from sla_connector_psa.http import (
    AmbiguousWriteError,
    MalformedResponseError,
    PsaHttp,
    build_client,
)

__all__ = [
    "CHANGES_PATH",
    "STATUS_PATH",
    "TICKETS_PATH",
    "WRITE_PATHS",
    "SimulatorHttpConnector",
    "SimulatorHttpSettings",
    "create",
]

CHANGES_PATH = "/api/changes"
TICKETS_PATH = "/api/tickets"
STATUS_PATH = "/api/status"
# Connector action -> (path suffix under /api/tickets/{id}/, JSON body key).
WRITE_PATHS: Mapping[str, tuple[str, str]] = {
    "assign": ("assign", "to"),
    "set_priority": ("priority", "tier"),
    "add_internal_note": ("notes", "text"),
    "add_tag": ("tags", "tag"),
}
_DECODE_ATTEMPTS = 3  # a truncated read body is read again, a bounded number of times


@dataclass(frozen=True, slots=True)
class SimulatorHttpSettings:
    """The client's knobs, validated from the raw ``connectors.<name>`` mapping."""

    name: str
    base_url: str
    timeout: float = 10.0
    connect_timeout: float = 5.0
    max_attempts: int = 5
    requests_per_minute: int = 6000
    page_size: int = 100

    @classmethod
    def from_settings(cls, name: str, settings: Mapping[str, Any]) -> SimulatorHttpSettings:
        base = f"connectors.{name}"
        url = settings.get("base_url")
        if not isinstance(url, str) or not url:
            raise FatalConnectorError(f"{base}.base_url: the simulator server's URL is required")

        def number(key: str, default: float, *, integer: bool = False) -> Any:
            value = settings.get(key)
            if value is None:
                return default
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise FatalConnectorError(f"{base}.{key}: expected a positive number")
            if integer and not isinstance(value, int):
                raise FatalConnectorError(f"{base}.{key}: expected a positive integer")
            return value

        return cls(
            name=name,
            base_url=url,
            timeout=float(number("timeout", 10.0)),
            connect_timeout=float(number("connect_timeout", 5.0)),
            max_attempts=number("max_attempts", 5, integer=True),
            requests_per_minute=number("requests_per_minute", 6000, integer=True),
            page_size=number("page_size", 100, integer=True),
        )


def scaled_sleep(clock: Clock) -> Callable[[float], Awaitable[None]]:
    """Sleep for PSA-time seconds: divided by the clock's ``speed`` (no wait at infinity)."""
    speed = getattr(clock, "speed", 1.0)
    factor = float(speed) if isinstance(speed, int | float) and speed > 0 else 1.0

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(0 if math.isinf(factor) else max(seconds, 0.0) / factor)

    return sleep


class SimulatorHttpConnector:
    """The ``Connector`` over the simulator server's HTTP API."""

    def __init__(
        self,
        settings: SimulatorHttpSettings,
        clock: Clock,
        *,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self._owns_client = client is None
        self._client = client or build_client(
            timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout)
        )
        self.http = PsaHttp(
            name=settings.name,
            base_url=settings.base_url,
            client=self._client,
            clock=clock,
            requests_per_minute=settings.requests_per_minute,
            sleep=sleep or scaled_sleep(clock),
            max_attempts=settings.max_attempts,
        )

    async def _get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """A GET's JSON; a truncated body is read again (reads are safe to repeat)."""
        for attempt in range(1, _DECODE_ATTEMPTS + 1):
            try:
                return await self.http.get_json(path, params=params)
            except MalformedResponseError:
                if attempt == _DECODE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _ticket(self, data: Any) -> Ticket:
        ticket = parse_ticket(data)
        if ticket.source != self.name:
            raise TicketError(
                f"ticket {ticket.id}: source {ticket.source!r}, expected {self.name!r} "
                "(does the server serve this connector's entry?)"
            )
        return ticket

    async def fetch_changed(self, since_cursor: str | None) -> AsyncIterator[PollPage]:
        """Changed ids first, then the tickets in pages; only the last page moves the cursor."""
        params = {"cursor": since_cursor} if since_cursor is not None else None
        changes = await self._get_json(CHANGES_PATH, params)
        ids = [str(ticket_id) for ticket_id in changes.get("ids", ())]
        cursor = changes.get("cursor")
        cursor = cursor if isinstance(cursor, str) else None
        if not ids:
            yield PollPage(tickets=(), cursor=cursor)
            return
        size = self.settings.page_size
        for offset in range(0, len(ids), size):
            chunk = ids[offset : offset + size]
            data = await self._get_json(TICKETS_PATH, {"ids": ",".join(chunk)})
            tickets: list[Ticket] = []
            rejected: list[tuple[str, str]] = []
            for raw in data.get("tickets", ()):
                try:
                    tickets.append(self._ticket(raw))
                except TicketError as error:
                    raw_id = raw.get("id", "?") if isinstance(raw, Mapping) else "?"
                    rejected.append((str(raw_id), str(error)))
            last = offset + size >= len(ids)
            yield PollPage(
                tickets=tuple(tickets),
                cursor=cursor if last else since_cursor,
                rejected=tuple(rejected),
            )

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        """The ticket as the PSA shows it now, with ``extra.tags`` and ``extra.notes``."""
        data = await self._get_json(f"{TICKETS_PATH}/{ticket_id}")
        try:
            return self._ticket(data)
        except TicketError as error:
            raise FatalConnectorError(f"connector {self.name}: {error}") from None

    async def _write(self, ticket: Ticket, action: str, value: str) -> WriteResult:
        suffix, key = WRITE_PATHS[action]
        path = f"{TICKETS_PATH}/{ticket.id}/{suffix}"
        response = await self.http.send("POST", path, json={key: value})
        try:
            body = PsaHttp.decode(response)
        except MalformedResponseError as error:
            # The server answered 2xx, so the write most likely landed: never repeat it blind.
            raise AmbiguousWriteError(
                f"{action} on ticket {ticket.id}: unreadable answer ({error})", url=error.url
            ) from error
        answer = body if isinstance(body, Mapping) else {}
        return WriteResult(
            ok=True,
            detail=f"{action} recorded as write {answer.get('seq', '?')}",
            response=dict(answer),
        )

    async def assign(self, ticket: Ticket, person_or_group: str) -> WriteResult:
        return await self._write(ticket, "assign", person_or_group)

    async def set_priority(self, ticket: Ticket, tier: str) -> WriteResult:
        return await self._write(ticket, "set_priority", tier)

    async def add_internal_note(self, ticket: Ticket, text: str) -> WriteResult:
        return await self._write(ticket, "add_internal_note", text)

    async def add_tag(self, ticket: Ticket, tag: str) -> WriteResult:
        return await self._write(ticket, "add_tag", tag)

    async def check(self) -> CheckResult:
        """One quick read of the server's status."""
        try:
            status = await self.http.get_json(STATUS_PATH, max_attempts=2)
        except ConnectorError as error:
            return CheckResult(ok=False, summary=f"simulator server {self.name}: {error}")
        details = dict(status) if isinstance(status, Mapping) else {}
        return CheckResult(
            ok=True,
            summary=(
                f"simulator server {self.name}: {details.get('tickets', '?')} tickets, "
                f"{details.get('writes', '?')} write-backs"
            ),
            details=details,
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def create(name: str, settings: Mapping[str, Any], clock: Clock) -> SimulatorHttpConnector:
    """Entry point ``simulator_http``: build the client from its raw config mapping."""
    return SimulatorHttpConnector(SimulatorHttpSettings.from_settings(name, settings), clock)
