"""The simulator PSA over loopback HTTP (``type: simulator_http``): a client connector.

It talks to ``python -m sla_connector_psa.simulator.server`` through the shared ``PsaHttp``
layer, so the daemon meets what it meets against a real PSA: retries with back-off,
``Retry-After``, timeouts, and writes that may or may not have landed
(``AmbiguousWriteError``), which the runtime settles through its markers. The crash and
fault tests run real ``sla-connector run`` processes against it.

Settings (``connectors.<name>``, ``settings.SimulatorHttpSettings``), besides the
simulator's own keys the server reads: ``base_url`` (required, ``http://127.0.0.1:<port>``),
``timeout`` and ``connect_timeout`` (real seconds), ``max_attempts`` per request,
``requests_per_minute`` and ``page_size`` (tickets per bulk read).

Waits (back-off, ``Retry-After``) are in the PSA's time: when the injected clock runs
``speed`` times faster than the wall clock (accelerated virtual time), they are shortened
by that factor, so a simulated day keeps its proportions.

Endpoints (shared with the server): ``GET /api/changes?cursor=`` -> ``{"ids", "cursor"}``;
``GET /api/tickets?ids=a,b`` -> ``{"tickets": [...]}``; ``GET /api/tickets/{id}``;
``POST /api/tickets/{id}/assign|priority|notes|tags``; ``GET /api/status``.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import httpx

from sla_connector.core.errors import (
    WITHDRAWN_REASONS,
    ConnectorError,
    FatalConnectorError,
    TicketError,
    TicketGoneError,
)
from sla_connector.core.ports import (
    CheckResult,
    Clock,
    ConnectorHealth,
    PollPage,
    Withdrawal,
    WriteResult,
)
from sla_connector.core.ticket import Ticket, parse_ticket
from sla_connector_psa.checks import CheckAdvice, verdict
from sla_connector_psa.http import (
    AmbiguousWriteError,
    HttpBacked,
    MalformedResponseError,
    NotFoundError,
    PsaHttp,
)
from sla_connector_psa.simulator.connector import WritesByName
from sla_connector_psa.simulator.settings import SimulatorHttpSettings

__all__ = [
    "CHANGES_PATH",
    "STATUS_PATH",
    "TICKETS_PATH",
    "WRITE_PATHS",
    "SimulatorHttpConnector",
    "build",
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


def scaled_sleep(clock: Clock) -> Callable[[float], Awaitable[None]]:
    """Sleep for PSA-time seconds: divided by the clock's ``speed`` (no wait at infinity)."""
    speed = getattr(clock, "speed", 1.0)
    factor = float(speed) if isinstance(speed, int | float) and speed > 0 else 1.0

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(0 if math.isinf(factor) else max(seconds, 0.0) / factor)

    return sleep


class SimulatorHttpConnector(HttpBacked, WritesByName):
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
        self.http = PsaHttp.of(
            settings,
            clock,
            client=client,
            sleep=sleep or scaled_sleep(clock),
            max_attempts=settings.max_attempts,
            timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
        )

    async def _get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """A GET's JSON; a truncated body is read again by the HTTP layer, like a 500."""
        return await self.http.get_json(path, params=params)

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
            withdrawn = tuple(
                Withdrawal(str(w["id"]), str(w["reason"]), str(w.get("detail") or ""))
                for w in data.get("withdrawn", ())
                if isinstance(w, Mapping) and w.get("reason") in WITHDRAWN_REASONS
            )
            last = offset + size >= len(ids)
            yield PollPage(
                tickets=tuple(tickets),
                cursor=cursor if last else since_cursor,
                rejected=tuple(rejected),
                withdrawn=withdrawn,
            )

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        """The ticket as the PSA shows it now, with its ``tags`` and ``notes``;
        ``TicketGoneError`` when the server says it was withdrawn."""
        try:
            data = await self._get_json(f"{TICKETS_PATH}/{ticket_id}")
        except NotFoundError as error:
            raise self._gone(ticket_id, error) from None
        try:
            return self._ticket(data)
        except TicketError as error:
            raise FatalConnectorError(f"connector {self.name}: {error}") from None

    def _gone(self, ticket_id: str, error: NotFoundError) -> ConnectorError:
        """A 404 whose body names a withdrawal reason is the ticket gone; else not found."""
        try:
            body = json.loads(error.body) if error.body else {}
        except ValueError:
            body = {}
        reason = body.get("withdrawn") if isinstance(body, Mapping) else None
        if reason in WITHDRAWN_REASONS:
            return TicketGoneError(ticket_id, str(reason), str(body.get("detail") or ""))
        return error

    async def write(self, ticket: Ticket, action: str, value: str) -> WriteResult:
        """One write-back as ``POST /api/tickets/{id}/<action>``."""
        suffix, key = WRITE_PATHS[action]
        path = f"{TICKETS_PATH}/{ticket.id}/{suffix}"
        try:
            response = await self.http.send("POST", path, json={key: value})
        except NotFoundError as error:
            raise self._gone(ticket.id, error) from None
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

    def health(self) -> ConnectorHealth:
        """Nothing of the simulated PSA fails object by object; the counters only."""
        return ConnectorHealth(
            counters={"requests": self.http.requests_made, "retries": self.http.retries}
        )

    async def check(self) -> CheckResult:
        """One quick read of the server's status."""
        where = f"simulator server {self.name}"
        advice = CheckAdvice(
            credentials=lambda exc: f"{where}: {exc}",
            permission=lambda exc: f"{where}: {exc}",
            wrong_url=lambda exc: f"{where}: {exc}",
            unreachable=where,
            failed=where,
        )
        return await verdict(self._check, advice)

    async def _check(self) -> CheckResult:
        status = await self.http.get_json(STATUS_PATH, max_attempts=2)
        details = dict(status) if isinstance(status, Mapping) else {}
        return CheckResult(
            ok=True,
            summary=(
                f"simulator server {self.name}: {details.get('tickets', '?')} tickets, "
                f"{details.get('writes', '?')} write-backs"
            ),
            details=details,
        )


def build(name: str, settings: Mapping[str, Any], clock: Clock) -> SimulatorHttpConnector:
    """The factory behind the entry point ``simulator_http``: build from the raw mapping."""
    return SimulatorHttpConnector(SimulatorHttpSettings.from_settings(name, settings), clock)
