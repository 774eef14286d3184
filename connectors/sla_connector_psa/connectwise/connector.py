"""ConnectWise PSA (Manage) connector: incremental polling, history, safe write-back.

Reading. ``GET /service/tickets`` with ``conditions`` on ``lastUpdated`` (dates in square
brackets) and the configured ``boards``, ``orderBy=id asc`` (stable while tickets change during
paging) and ``page``/``pageSize``. Exact status, priority and owner history comes from the audit
trail (``/system/audittrail?type=Ticket&id=``), first response from ``dateResponded`` and the
ticket's notes (``first_response`` setting: ``notes``, ``date_responded`` or ``both``), read
through ``allNotes`` so replies logged as time entries count (``count_time_entries``).

Polling economy. The cursor holds the newest ``_info.lastUpdated`` seen (server time), the ids
at that edge (re-read with an ``overlap`` window and de-duplicated on ``(id, lastUpdated)``),
the time of the last full read and ids whose history fetch failed. A poll in which nothing
changed is exactly one request; changed tickets cost one feed page per ``page_size`` (default
100) and nothing else: between exact reads, history is derived from the feed row compared with
the cached previous row (a status, owner or priority that differs becomes an event at the
row's ``lastUpdated``, skipped for a priority this connector itself wrote). This is an
approximation the next exact read replaces.

A full read (start-up, and every ``reconcile_interval``, by default 24 h: the connector's
declared default) is economical. The first one in a process reads every open ticket and its
history. Later ones first list the ids and ``lastUpdated`` stamps of the open tickets (1,000 a
request), read the rows and exact histories only of tickets whose stamp moved since their
last exact read, and look up tickets that left the list: each is then withdrawn as
``deleted`` (gone), ``merged`` (``mergedParentTicket`` set) or ``out_of_scope`` (moved to a
board not polled). ``fetch_ticket`` (the runtime's verify-before-fire) always reads exactly,
and raises ``TicketGoneError`` for the same three reasons.

Isolation. A ticket whose history read keeps failing after the HTTP layer's retries is
recorded against that ticket (``PollPage.failures``, ``health()``), kept in the cursor and
retried with back-off; a feed page that fails after the first one ends the poll with the
cursor of the last complete page.

Writing. ``PATCH /service/tickets/{id}`` with JSON-Patch operations: owner by member identifier
(config ``users``, else looked up by ``primaryEmail``), priority by the id of the priority
named in ``priority_map``. Notes: ``POST /service/tickets/{id}/notes`` with
``internalAnalysisFlag: true`` and ``processNotifications: false``. The audit trail shows this
connector's own PATCH as a change by the API member: it is never read back as a person's
manual priority change (``history``). A 409 raises ``WriteConflictError``, a 404
``TicketGoneError``.

Tags. ConnectWise tickets have no tags. A tag is written as an internal note whose text is
``[sla-connector] tag: <tag>``: visible to technicians on the Internal tab, never to the
customer, needs no per-tenant custom field, and makes ``add_tag`` idempotent (the notes are
read first and an existing tag line is not written twice). ``integratorTags`` was rejected
because technicians never see it; a custom field because it needs tenant set-up.

After an ambiguous write failure the ticket (or its notes) is re-read: a change that landed is
confirmed, one that provably did not is sent once more.

Modules: ``settings`` (keys, declared and read), ``cursor``, ``normalize`` (JSON -> ticket,
pure), ``history`` (exact reads and their cache), ``write``, ``check``, and this one, which
polls.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from sla_connector.core.errors import (
    ConnectorError,
    RetriableConnectorError,
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
from sla_connector.core.ticket import Ticket
from sla_connector_psa.connectwise.check import check
from sla_connector_psa.connectwise.cursor import Cursor, quote, when
from sla_connector_psa.connectwise.history import HistoryReader
from sla_connector_psa.connectwise.normalize import History, Row, cw_time, parse_row, ticket_of
from sla_connector_psa.connectwise.settings import (
    CwSettings,
    auth_headers,
    credentials,
    parse_settings,
)
from sla_connector_psa.connectwise.write import CwWriter
from sla_connector_psa.health import HealthBook
from sla_connector_psa.http import HttpBacked, NotFoundError, PsaHttp
from sla_connector_psa.pages import PageBatch
from sla_connector_psa.values import UnmappedReporter

__all__ = ["ConnectWiseConnector", "build"]

log = logging.getLogger("sla_connector_psa.connectwise")

TICKET_FIELDS = (
    "id,summary,board,status,priority,owner,company,source,dateResponded,closedFlag,"
    "mergedParentTicket,_info"
)
STAMP_PAGE = 1000  # a reconcile reads rows 1,000 a request (ConnectWise's maximum)
ID_CHUNK = 100
MAX_RETRIES = 5


class ConnectWiseConnector(HttpBacked):
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
            settings,
            clock,
            client=client,
            sleep=sleep,
            max_attempts=max_attempts,
            credentials=credentials(settings),
        )
        self.headers = auth_headers(settings)
        self.unmapped = UnmappedReporter(settings.name)
        self.book = HealthBook(clock)
        self.history = HistoryReader(settings, self.http, self.headers, self.book)
        self._writer = CwWriter(settings, self.http, self.headers, self.history)

    def health(self) -> ConnectorHealth:
        """Failing tickets and pages, unreadable audit trails, retries, withdrawals."""
        return self.book.snapshot(
            {"requests": self.http.requests_made, "retries": self.http.retries}
        )

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
        if cursor.retry:
            async for retried in self._retry(cursor, state, since_cursor):
                yield retried
        if full and self.history.cache:
            async for reconciled in self._reconcile(state, now, since_cursor):
                yield reconciled
            return
        conditions = self._feed_conditions(cursor, full, now)
        page = 1
        while True:
            try:
                rows = await self._ticket_page(conditions, page, self.settings.page_size)
            except RetriableConnectorError as exc:
                if page == 1:
                    raise
                yield self._page_failed(since_cursor, exc)
                return
            batch = await self._process(rows, state, force=full)
            last = len(rows) < self.settings.page_size
            next_cursor = self._next_cursor(state, now).encode() if last else since_cursor
            yield batch.page(next_cursor)
            if last:
                return
            page += 1

    async def _retry(
        self, cursor: Cursor, state: _PollState, since_cursor: str | None
    ) -> AsyncIterator[PollPage]:
        """Re-read, past their back-off, the tickets whose history failed before."""
        due = sorted((i for i in cursor.retry if self.book.quarantine.due("ticket", i)), key=int)
        for start in range(0, len(due), ID_CHUNK):
            chunk = due[start : start + ID_CHUNK]
            rows = await self._ticket_page(f"id in ({','.join(chunk)})", 1, len(chunk))
            batch = await self._process(rows, state, force=True)
            found = {str(r.get("id")) for r in rows if isinstance(r, Mapping)}
            for ticket_id in chunk:
                if ticket_id not in found:  # gone meanwhile: no longer worth retrying
                    state.succeeded.add(ticket_id)
                    batch.withdraw(Withdrawal(ticket_id, "deleted"))
            yield batch.page(since_cursor)

    async def _reconcile(
        self, state: _PollState, now: datetime, since_cursor: str | None
    ) -> AsyncIterator[PollPage]:
        """A full read after the first: every open ticket's row (1,000 a request), the exact
        history only of tickets whose stamp moved, and a look-up of those that left."""
        conditions = self._feed_conditions(state.old, True, now)
        listed: set[str] = set()
        page = 1
        while True:
            rows = await self._ticket_page(conditions, page, STAMP_PAGE)
            listed |= {str(r.get("id")) for r in rows if isinstance(r, Mapping)}
            yield (await self._process(rows, state, force=False, reconcile=True)).page(since_cursor)
            if len(rows) < STAMP_PAGE:
                break
            page += 1
        left = sorted((i for i in self.history.cache if i not in listed), key=int)
        batch = PageBatch()
        for start in range(0, len(left), ID_CHUNK):
            chunk = left[start : start + ID_CHUNK]
            rows = await self._ticket_page(f"id in ({','.join(chunk)})", 1, len(chunk))
            batch.merge(await self._departed(chunk, rows, state))
        yield batch.page(self._next_cursor(state, now).encode())

    async def _departed(self, ids: list[str], rows: list[Any], state: _PollState) -> PageBatch:
        """Tickets a full read no longer lists: gone, merged, moved out, or closed long ago."""
        batch = PageBatch()
        found: dict[str, Row] = {}
        for raw in rows:
            try:
                parsed = parse_row(raw)
            except TicketError:
                continue
            found[parsed.id] = parsed
        for ticket_id in ids:
            row = found.get(ticket_id)
            gone = (
                Withdrawal(ticket_id, "deleted", "no longer there")
                if row is None
                else self._gone(row)
            )
            if gone is not None or row is None:
                self.history.forget(ticket_id)
                batch.withdraw(gone or Withdrawal(ticket_id, "deleted"))
                continue
            state.note_row(row)
            batch.tickets.append(self._ticket(row, await self.history.read(row, force=True)))
            self.history.forget(ticket_id)  # closed before the lookback: not followed further
        self.book.count("withdrawn", len(batch.withdrawn))
        return batch

    def _gone(self, row: Row) -> Withdrawal | None:
        """Merged into another ticket, or moved to a board this connector does not poll."""
        if row.merged_into is not None:
            return Withdrawal(row.id, "merged", f"merged into ticket {row.merged_into}")
        boards = {b.casefold() for b in self.settings.boards}
        if boards and row.board.casefold() not in boards:
            return Withdrawal(row.id, "out_of_scope", f"moved to board {row.board!r}")
        return None

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        """One ticket with freshly read history; ``TicketGoneError`` when it was deleted,
        merged or moved to a board this connector does not poll."""
        if not ticket_id.isdigit():
            raise TicketError(f"ticket {ticket_id!r}: ConnectWise ticket ids are integers")
        try:
            raw = await self.http.get_json(f"service/tickets/{ticket_id}", headers=self.headers)
        except NotFoundError:  # kept in memory: the next full read reports it withdrawn
            raise TicketGoneError(ticket_id, "deleted", "404 from ConnectWise") from None
        row = parse_row(raw)
        gone = self._gone(row)
        if gone is not None:
            raise TicketGoneError(ticket_id, gone.reason, gone.detail)
        return self._ticket(row, await self.history.read(row, force=True))

    async def find_note(self, ticket_id: str, text: str) -> bool:
        """Whether a note of the ticket contains ``text``: the runtime's crash reconciliation
        looks for its escalation marker here when the ticket's notes were not read."""
        notes = await self.history.notes(ticket_id)
        return any(isinstance(n, dict) and text in str(n.get("text") or "") for n in notes)

    def _ticket(self, row: Row, history: History) -> Ticket:
        return ticket_of(row, history, self.settings, self.unmapped.report, self.history.automatic)

    def _load_cursor(self, text: str | None) -> Cursor:
        if text is None:
            return Cursor()
        try:
            return Cursor.decode(text)
        except (ValueError, TicketError) as exc:
            log.warning("connector %s: unreadable cursor (%s); doing a full read", self.name, exc)
            return Cursor()

    def board_condition(self) -> str | None:
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
        board = self.board_condition()
        return f"{board} AND {window}" if board else window

    async def _ticket_page(self, conditions: str, page: int, size: int) -> list[Any]:
        params = {
            "conditions": conditions,
            "orderBy": "id asc",
            "fields": TICKET_FIELDS,
            "page": page,
            "pageSize": size,
        }
        rows = await self.http.get_json("service/tickets", params=params, headers=self.headers)
        if not isinstance(rows, list):
            raise RetriableConnectorError(
                f"connector {self.name}: service/tickets answered {type(rows).__name__}, "
                "expected a list"
            )
        return rows

    def _page_failed(self, cursor: str | None, exc: ConnectorError) -> PollPage:
        failure = self.book.quarantine.failed("page", "service/tickets", str(exc))
        log.warning("connector %s: a feed page failed (%s); the poll ends here", self.name, exc)
        return PollPage((), cursor, failures=(failure,))

    async def _process(
        self, rows: Iterable[Any], state: _PollState, *, force: bool, reconcile: bool = False
    ) -> PageBatch:
        batch = PageBatch()
        for raw in rows:
            try:
                row = parse_row(raw)
            except TicketError as exc:
                raw_id = raw.get("id") if isinstance(raw, Mapping) else None
                self._reject(batch, "?" if raw_id is None else str(raw_id), str(exc))
                continue
            state.note_row(row)
            if not force and not reconcile and state.old.seen.get(row.id) == row.last_updated:
                continue  # re-read inside the overlap window, already delivered
            gone = self._gone(row)
            if gone is not None:
                self.history.forget(row.id)
                state.succeeded.add(row.id)
                batch.withdraw(gone)
                continue
            try:
                exact = force or (reconcile and not self.history.exact(row))
                history = await self.history.read(row, force=exact, born_after=state.old.since)
            except NotFoundError:
                self.history.forget(row.id)
                state.succeeded.add(row.id)
                batch.withdraw(Withdrawal(row.id, "deleted", "404 while it was read"))
                continue
            except (RetriableConnectorError, TicketError) as exc:
                if isinstance(exc, RetriableConnectorError):
                    state.failed.add(row.id)
                    batch.failures.append(
                        self.book.quarantine.failed("ticket", row.id, f"history not read: {exc}")
                    )
                self._reject(batch, row.id, f"history not read: {exc}")
                continue
            self.book.quarantine.succeeded("ticket", row.id)
            state.succeeded.add(row.id)
            batch.tickets.append(self._ticket(row, history))
        self.book.count("withdrawn", len(batch.withdrawn))
        return batch

    def _reject(self, batch: PageBatch, ticket_id: str, reason: str) -> None:
        log.warning("connector %s: ticket %s rejected: %s", self.name, ticket_id, reason)
        batch.rejected.append((ticket_id, reason))

    def _next_cursor(self, state: _PollState, now: datetime) -> Cursor:
        since = state.old.since
        if state.newest is not None and (since is None or state.newest > since):
            since = state.newest
        if since is None:
            since = now - self.settings.overlap
        edge = since - self.settings.overlap
        seen = {} if state.full else dict(state.old.seen)
        seen.update(state.rows)
        seen = {i: lu for i, lu in seen.items() if lu and cw_time(lu, "seen") > edge}
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
            if ticket_id not in state.succeeded and ticket_id not in retry:
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
        return await check(self)


@dataclass(slots=True)
class _PollState:
    """Book-keeping of one ``fetch_changed`` call."""

    old: Cursor
    full: bool
    newest: datetime | None = None
    rows: dict[str, str] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    succeeded: set[str] = field(default_factory=set)

    def note_stamp(self, stamp: str) -> None:
        if not stamp:
            return
        updated = cw_time(stamp, "lastUpdated")
        if self.newest is None or updated > self.newest:
            self.newest = updated

    def note_row(self, row: Row) -> None:
        self.note_stamp(row.last_updated)
        self.rows[row.id] = row.last_updated


def build(name: str, settings: Mapping[str, Any], clock: Clock) -> ConnectWiseConnector:
    """The factory behind the entry point: build from the ``connectors.<name>`` mapping."""
    return ConnectWiseConnector(parse_settings(name, settings), clock)
