"""ConnectWise PSA (Manage) connector: incremental polling, history, safe write-back.

Reading. ``GET /service/tickets`` with ``conditions`` on ``lastUpdated`` (dates in square
brackets) and the configured ``boards``, ``orderBy=id asc`` (stable while tickets change during
paging) and ``page``/``pageSize``. Exact status, priority and owner history comes from the audit
trail (``/system/audittrail?type=Ticket&id=``), first response from ``dateResponded`` and the
ticket's service notes (``first_response`` setting: ``notes``, ``date_responded`` or ``both``).

Polling economy. The cursor holds the newest ``_info.lastUpdated`` seen (server time), the ids
at that edge (re-read with an ``overlap`` window and de-duplicated on ``(id, lastUpdated)``),
the time of the last full read and ids whose history fetch failed. A poll in which nothing
changed is exactly one request; changed tickets cost one feed page per ``page_size`` (default
100) and nothing else. ConnectWise has no bulk history endpoint in its spec, so per-ticket
history reads (audit trail, and notes when ``first_response`` needs them) happen only where
their cost is accepted: (a) for a ticket with no cached history in this process (the full read
at start-up, with a cursor of None, and every ``reconcile_interval``, default 24h, which
re-reads every history; also a ticket first seen by an incremental poll, e.g. one created since
the last poll or any changed ticket after a restart with a persisted cursor) and (b) in
``fetch_ticket``, the runtime's verify-before-fire, one ticket at a time.

Between those reads, history is derived from the feed row compared with the cached previous
row: a status that differs from the cached one becomes a ``status`` event, an owner an
``assignee`` event, a priority a ``priority`` event (mapped back through ``priority_map``,
skipped when it is the priority this connector itself wrote), each at the row's
``_info.lastUpdated``. This is an approximation: the audit trail is exact, the feed is at most
one poll late (``lastUpdated`` is the last edit of any field, so a status change followed by a
comment before the next poll is dated at the comment), and a value that moved and came back
between two polls is not seen. The next full read or ``fetch_ticket`` replaces the derived
events with the exact audit trail. First response: ``dateResponded`` from the feed row (modes
``date_responded`` and ``both``); with ``first_response: notes`` the notes are read only in
(a) and (b), so between reconciles the first agent note is picked up by the next full read or
by ``fetch_ticket`` (which the runtime calls before firing any escalation step).

Writing. ``PATCH /service/tickets/{id}`` with JSON-Patch operations: owner by member identifier
(config ``users``, else looked up by ``primaryEmail``), priority by the id of the priority
named in ``priority_map``. Notes: ``POST /service/tickets/{id}/notes`` with
``internalAnalysisFlag: true`` and ``processNotifications: false``.

Tags. ConnectWise tickets have no tags. A tag is written as an internal note whose text is
``[sla-connector] tag: <tag>``: visible to technicians on the Internal tab, never to the
customer, needs no per-tenant custom field, and makes ``add_tag`` idempotent (the notes are
read first and an existing tag line is not written twice). ``integratorTags`` was rejected
because technicians never see it; a custom field because it needs tenant set-up.

After an ambiguous write failure the ticket (or its notes) is re-read: a change that landed is
confirmed, one that provably did not is sent once more.

Modules: ``settings`` (keys, declared and read), ``cursor``, ``normalize`` (JSON -> ticket,
pure), ``history`` (exact reads and their cache), ``write``, and this one, which polls.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from sla_connector.core.errors import RetriableConnectorError, TicketError
from sla_connector.core.ports import CheckResult, Clock, PollPage, WriteResult
from sla_connector.core.ticket import Ticket
from sla_connector_psa.checks import CheckAdvice, verdict
from sla_connector_psa.connectwise.cursor import Cursor, quote, when
from sla_connector_psa.connectwise.history import HistoryReader
from sla_connector_psa.connectwise.normalize import History, Row, cw_time, parse_row, ticket_of
from sla_connector_psa.connectwise.settings import CwSettings, auth_headers, parse_settings
from sla_connector_psa.connectwise.write import CwWriter
from sla_connector_psa.http import NotFoundError, PsaHttp, UnmappedReporter

__all__ = ["ConnectWiseConnector", "build"]

log = logging.getLogger("sla_connector_psa.connectwise")

TICKET_FIELDS = (
    "id,summary,board,status,priority,owner,company,source,dateResponded,closedFlag,_info"
)
MAX_RETRIES = 5
CHECK_ATTEMPTS = 2


class ConnectWiseConnector:
    """The ``connectwise`` connector (see the module docstring for the API contract used)."""

    def __init__(
        self,
        settings: CwSettings,
        clock: Clock,
        *,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        max_attempts: int = 5,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self.clock = clock
        self.http = PsaHttp.of(
            settings, clock, client=client, sleep=sleep, max_attempts=max_attempts
        )
        self._headers = auth_headers(settings)
        self.unmapped = UnmappedReporter(settings.name)
        self.history = HistoryReader(settings, self.http, self._headers)
        self._writer = CwWriter(settings, self.http, self._headers, self.history)

    # -- reading ---------------------------------------------------------------------------

    async def fetch_changed(self, since_cursor: str | None) -> AsyncIterator[PollPage]:
        """Pages of changed tickets; the last page carries the cursor to resume after."""
        cursor = self._load_cursor(since_cursor)
        now = self.clock.now()
        interval = self.settings.reconcile_interval
        full = (
            cursor.since is None
            or cursor.full_at is None
            or (interval is not None and now - cursor.full_at >= interval)
        )
        state = _PollState(old=cursor, full=full)
        if full:
            self.history.clear()
        elif cursor.retry:
            ids = sorted(cursor.retry, key=int)
            for start in range(0, len(ids), 100):
                chunk = ids[start : start + 100]
                rows = await self._ticket_page(f"id in ({','.join(chunk)})", 1, len(chunk))
                tickets, rejected = await self._process(rows, state, force=True)
                yield PollPage(
                    tickets=tuple(tickets), cursor=since_cursor, rejected=tuple(rejected)
                )
        conditions = self._feed_conditions(cursor, full, now)
        page = 1
        while True:
            rows = await self._ticket_page(conditions, page, self.settings.page_size)
            tickets, rejected = await self._process(rows, state, force=full)
            last = len(rows) < self.settings.page_size
            next_cursor = self._next_cursor(state, now).encode() if last else since_cursor
            yield PollPage(tickets=tuple(tickets), cursor=next_cursor, rejected=tuple(rejected))
            if last:
                return
            page += 1

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        """One ticket with freshly read history."""
        if not ticket_id.isdigit():
            raise TicketError(f"ticket {ticket_id!r}: ConnectWise ticket ids are integers")
        raw = await self.http.get_json(f"service/tickets/{ticket_id}", headers=self._headers)
        row = parse_row(raw)
        return self._ticket(row, await self.history.read(row, force=True))

    async def find_note(self, ticket_id: str, text: str) -> bool:
        """Whether a note of the ticket contains ``text``: the runtime's crash reconciliation
        looks for its escalation marker here when the ticket's notes were not read."""
        notes = await self.history.notes(ticket_id)
        return any(isinstance(n, dict) and text in str(n.get("text") or "") for n in notes)

    def _ticket(self, row: Row, history: History) -> Ticket:
        return ticket_of(row, history, self.settings, self.unmapped.report)

    def _load_cursor(self, text: str | None) -> Cursor:
        if text is None:
            return Cursor()
        try:
            return Cursor.decode(text)
        except (ValueError, TicketError) as exc:
            log.warning("connector %s: unreadable cursor (%s); doing a full read", self.name, exc)
            return Cursor()

    def _board_condition(self) -> str | None:
        boards = self.settings.boards
        if not boards:
            return None
        return f"board/name in ({','.join(quote(b) for b in boards)})"

    def _feed_conditions(self, cursor: Cursor, full: bool, now: datetime) -> str:
        if full:
            since = now - self.settings.full_read_lookback
            if cursor.since is not None:
                since = min(since, cursor.since - self.settings.overlap)
            window = f"(closedFlag = false OR lastUpdated > {when(since)})"
        else:
            assert cursor.since is not None
            window = f"lastUpdated > {when(cursor.since - self.settings.overlap)}"
        board = self._board_condition()
        return f"{board} AND {window}" if board else window

    async def _ticket_page(self, conditions: str, page: int, size: int) -> list[Any]:
        params = {
            "conditions": conditions,
            "orderBy": "id asc",
            "fields": TICKET_FIELDS,
            "page": page,
            "pageSize": size,
        }
        rows = await self.http.get_json("service/tickets", params=params, headers=self._headers)
        if not isinstance(rows, list):
            raise RetriableConnectorError(
                f"connector {self.name}: service/tickets answered {type(rows).__name__}, "
                "expected a list"
            )
        return rows

    async def _process(
        self, rows: list[Any], state: _PollState, *, force: bool
    ) -> tuple[list[Ticket], list[tuple[str, str]]]:
        tickets: list[Ticket] = []
        rejected: list[tuple[str, str]] = []
        for raw in rows:
            try:
                row = parse_row(raw)
            except TicketError as exc:
                raw_id = raw.get("id") if isinstance(raw, Mapping) else None
                self._reject(rejected, "?" if raw_id is None else str(raw_id), str(exc))
                continue
            state.note_row(row)
            if not force and state.old.seen.get(row.id) == row.last_updated:
                continue  # re-read inside the overlap window, already delivered
            try:
                history = await self.history.read(row, force=force, born_after=state.old.since)
            except (RetriableConnectorError, NotFoundError, TicketError) as exc:
                if isinstance(exc, RetriableConnectorError):
                    state.failed.add(row.id)
                self._reject(rejected, row.id, f"history not read: {exc}")
                continue
            state.succeeded.add(row.id)
            tickets.append(self._ticket(row, history))
        return tickets, rejected

    def _reject(self, rejected: list[tuple[str, str]], ticket_id: str, reason: str) -> None:
        log.warning("connector %s: ticket %s rejected: %s", self.name, ticket_id, reason)
        rejected.append((ticket_id, reason))

    def _next_cursor(self, state: _PollState, now: datetime) -> Cursor:
        since = state.old.since
        if state.newest is not None and (since is None or state.newest > since):
            since = state.newest
        if since is None:
            since = now - self.settings.overlap
        edge = since - self.settings.overlap
        seen = {} if state.full else dict(state.old.seen)
        seen.update(state.rows)
        seen = {i: lu for i, lu in seen.items() if cw_time(lu, "seen") > edge}
        retry: dict[str, int] = {}
        for ticket_id in state.failed:
            attempts = state.old.retry.get(ticket_id, 0) + 1
            if attempts >= MAX_RETRIES:
                log.error(
                    "connector %s: giving up re-reading ticket %s after %d attempts; "
                    "it is read again when it changes or at the next reconcile",
                    self.name,
                    ticket_id,
                    attempts,
                )
                continue
            retry[ticket_id] = attempts
        for ticket_id, attempts in state.old.retry.items():
            if ticket_id not in state.succeeded and ticket_id not in retry and not state.full:
                retry[ticket_id] = attempts
        full_at = now if state.full else state.old.full_at
        return Cursor(since=since, seen=seen, full_at=full_at, retry=retry)

    # -- writing (write.py) -------------------------------------------------------------------

    async def assign(self, ticket: Ticket, person_or_group: str) -> WriteResult:
        """Make ``person_or_group`` (mapped through ``users``) the ticket's owner."""
        return await self._writer.assign(ticket, person_or_group)

    async def set_priority(self, ticket: Ticket, tier: str) -> WriteResult:
        """Set the PSA priority that ``priority_map`` names for ``tier``; remembered so the
        feed's echo of our own write is not read back as a manual priority change."""
        result = await self._writer.set_priority(ticket, tier)
        name = self.settings.priority_map.get(tier)
        if result.ok and name is not None:
            self.history.wrote_priority(ticket.id, name)
        return result

    async def add_internal_note(self, ticket: Ticket, text: str) -> WriteResult:
        """An internal-analysis note; no notification e-mail is sent."""
        return await self._writer.add_internal_note(ticket, text)

    async def add_tag(self, ticket: Ticket, tag: str) -> WriteResult:
        """A tag as an internal ``[sla-connector] tag: <tag>`` note, written once."""
        return await self._writer.add_tag(ticket, tag)

    # -- check -----------------------------------------------------------------------------

    async def check(self) -> CheckResult:
        """Authenticate, read one page and probe the endpoints the daemon needs."""
        keys = " / ".join(self.settings.key_vars) or "the key variables"
        advice = CheckAdvice(
            credentials=lambda exc: (
                f"credentials rejected (401) by {self.settings.base_url}: check company_id "
                f"{self.settings.company_id!r} and the values of {keys}"
            ),
            permission=lambda exc: (
                f"permission missing (403) on {exc.url}: the API member's security role "
                "must allow reading service tickets, their notes and the audit trail"
            ),
            wrong_url=lambda exc: (
                f"wrong URL: {exc.url} answered 404; base_url should look like "
                "https://api-na.myconnectwise.net/v4_6_release/apis/3.0"
            ),
            unreachable="host unreachable",
            failed="ConnectWise check failed",
        )
        return await verdict(self._check, advice)

    async def _check(self) -> CheckResult:
        attempts = CHECK_ATTEMPTS
        board = self._board_condition()
        open_only = f"{board} AND closedFlag = false" if board else "closedFlag = false"
        rows = await self.http.get_json(
            "service/tickets",
            params={
                "conditions": open_only,
                "fields": "id",
                "orderBy": "id desc",
                "page": 1,
                "pageSize": 1,
            },
            headers=self._headers,
            max_attempts=attempts,
        )
        count = await self.http.get_json(
            "service/tickets/count",
            params={"conditions": open_only},
            headers=self._headers,
            max_attempts=attempts,
        )
        details: dict[str, Any] = {
            "company_id": self.settings.company_id,
            "open_tickets": (count or {}).get("count") if isinstance(count, Mapping) else None,
        }
        if self.settings.boards:
            names_in = ",".join(quote(b) for b in self.settings.boards)
            found = await self.http.get_json(
                "service/boards",
                params={
                    "conditions": f"name in ({names_in})",
                    "fields": "id,name",
                    "pageSize": len(self.settings.boards),
                },
                headers=self._headers,
                max_attempts=attempts,
            )
            names = {
                str(b.get("name", "")).casefold() for b in found or [] if isinstance(b, Mapping)
            }
            missing = [b for b in self.settings.boards if b.casefold() not in names]
            if missing:
                return CheckResult(
                    ok=False,
                    summary=(
                        f"board(s) not found: {', '.join(missing)}; fix "
                        f"connectors.{self.name}.boards"
                    ),
                    details=details,
                )
            details["boards"] = list(self.settings.boards)
        if isinstance(rows, list) and rows and isinstance(rows[0], Mapping):
            probe = int(rows[0].get("id") or 0)
            await self.http.get_json(
                "system/audittrail",
                params={"type": "Ticket", "id": probe, "pageSize": 1},
                headers=self._headers,
                max_attempts=attempts,
            )
            await self.http.get_json(
                f"service/tickets/{probe}/notes",
                params={"pageSize": 1},
                headers=self._headers,
                max_attempts=attempts,
            )
        return CheckResult(
            ok=True,
            summary=(
                f"connected to {self.settings.base_url} as company {self.settings.company_id}: "
                f"{details['open_tickets']} open tickets"
            ),
            details=details,
        )

    async def aclose(self) -> None:
        """Close the HTTP client if this connector created it."""
        await self.http.aclose()


@dataclass(slots=True)
class _PollState:
    """Book-keeping of one ``fetch_changed`` call."""

    old: Cursor
    full: bool
    newest: datetime | None = None
    rows: dict[str, str] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    succeeded: set[str] = field(default_factory=set)

    def note_row(self, row: Row) -> None:
        updated = cw_time(row.last_updated, "lastUpdated")
        if self.newest is None or updated > self.newest:
            self.newest = updated
        self.rows[row.id] = row.last_updated


def build(name: str, settings: Mapping[str, Any], clock: Clock) -> ConnectWiseConnector:
    """The factory behind the entry point: build from the ``connectors.<name>`` mapping."""
    return ConnectWiseConnector(parse_settings(name, settings), clock)
