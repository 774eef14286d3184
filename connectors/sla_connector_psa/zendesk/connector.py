"""Zendesk Support adapter: incremental polling, history, write-back and ``check``.

Polling (steady state: one request). ``GET /api/v2/incremental/tickets/cursor`` (``start_time``
on a full read, then the persisted ``after_cursor``; ``include=users,organizations`` so author
roles and organization names come with the page) says which tickets changed. Only when some
did, ``GET /api/v2/incremental/ticket_events?include=comment_events`` is read from where the
last read stopped: one page holds 1,000 updates of *all* changed tickets, against one audits
read per ticket. Histories are kept per ticket (``history``); a ticket whose earlier
history this process never saw (after a restart, or created before a full read's window)
costs one ``GET /api/v2/tickets/{id}/audits`` once. Both incremental endpoints share
Zendesk's 10 requests/min limit, so they get their own request budget.

Tickets that go away are withdrawn, never delivered as tickets: a deleted ticket
(``status: "deleted"`` in the export, 404 when read), one marked as spam (deleted, its
requester suspended: support.zendesk.com article 4408842999066) and one merged into another
(closed with the ``closed_by_merge`` tag). One ticket that cannot be read (its audits keep
failing after the HTTP layer's retries) is recorded against that ticket, kept in the cursor
and retried with back-off; the rest of the poll goes on, and a 404 on a ticket deleted
mid-poll withdraws it instead of aborting the poll.

Write-back: one ``PUT /api/v2/tickets/{id}`` per action set (``apply``), carrying
``assignee_id`` or ``group_id``, ``priority``, a private ``comment`` and ``additional_tags``
(which adds without replacing the tag set), with ``safe_update`` and the ``updated_stamp``
the runtime verified, so a person's simultaneous change answers 409
(``WriteConflictError``) instead of being overwritten. A write that may or may not have
landed is re-read (the ticket, and for a note its latest comments) before it is sent again,
once.

Credentials (``check``): an OAuth client's access tokens, fetched and renewed by the shared
token source, or a legacy API token until 2027-04-30.

Paths follow the published OpenAPI document (no ``.json`` suffix), which the real API also
serves. Modules: ``settings``, ``cursor``, ``history``, ``normalize`` (pure JSON -> ticket),
``statuses`` (custom ticket statuses), ``feeds`` (the audits and ticket-event readers),
``write`` (the update plan and its sending), ``check`` (credentials and the verdict), and
this one, which polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from sla_connector.core.errors import (
    ConnectorError,
    FatalConnectorError,
    RetriableConnectorError,
    TicketError,
    TicketGoneError,
)
from sla_connector.core.ports import (
    CheckResult,
    Clock,
    ConnectorHealth,
    PollPage,
    TicketMemory,
    Withdrawal,
    WriteResult,
)
from sla_connector.core.ticket import Ticket
from sla_connector_psa.budget import pacing
from sla_connector_psa.health import HealthBook
from sla_connector_psa.http import HttpBacked, NotFoundError, PsaHttp
from sla_connector_psa.values import UnmappedReporter, optional_int
from sla_connector_psa.zendesk.batch import Batch, gone
from sla_connector_psa.zendesk.check import check, credentials_for
from sla_connector_psa.zendesk.cursor import ZendeskCursor, decode_cursor, encode_cursor
from sla_connector_psa.zendesk.directory import Directory
from sla_connector_psa.zendesk.feeds import EVENTS_PATH, drain_events, read_audits, stream_pays
from sla_connector_psa.zendesk.history import HistoryCache
from sla_connector_psa.zendesk.history_reads import HISTORY_READS, HistoryReads
from sla_connector_psa.zendesk.normalize import (
    Audit,
    build_ticket,
    ticket_id_of,
    validate_ticket,
)
from sla_connector_psa.zendesk.recall import Recall
from sla_connector_psa.zendesk.settings import ZendeskSettings, parse_settings
from sla_connector_psa.zendesk.write import UpdatePlan, WriteBack

__all__ = ["EVENTS_PATH", "EXPORT_PATH", "ZendeskConnector", "build"]

log = logging.getLogger("sla_connector_psa.zendesk")

EXPORT_PATH = "/api/v2/incremental/tickets/cursor"

EXPORT_INCLUDE = "users,organizations"
SHOW_MANY_PATH = "/api/v2/tickets/show_many"
SHOW_MANY_IDS = 100  # "This endpoint will return up to 100 tickets records" (TicketsShowMany)
_MIN_AGE = timedelta(seconds=60)  # incremental start_time must be at least a minute old
PAGE_PART = 2 * HISTORY_READS  # export tickets normalised and yielded together
_REMAINING_HEADERS = ("ratelimit-remaining", "X-Rate-Limit-Remaining")


class ZendeskConnector(HttpBacked):
    """One Zendesk Support instance behind the ``Connector`` protocol."""

    def __init__(
        self,
        settings: ZendeskSettings,
        clock: Clock,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        max_attempts: int = 5,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self.clock = clock
        self._sleep = sleep
        self.http = PsaHttp.of(
            settings, clock, client=client, sleep=sleep, max_attempts=max_attempts
        )
        self.http.credentials = credentials_for(settings, self.http)
        self.http.observers.append(self.note_rate_limit)
        # Zendesk's endpoint limits "override or add to the account limit" (psa-apis.md
        # 3.6): an incremental export request counts in both, as the twin counts it. Paced:
        # a poll every few seconds would spend the minute's ten in its first half.
        self.export_http = self.http.sibling(
            requests_per_minute=settings.export_requests_per_minute,
            within_account=True,
            paced=True,
        )
        self.headers = {"Accept": "application/json"}
        self.unmapped = UnmappedReporter(settings.name)
        self.history = HistoryCache()
        self.book = HealthBook(clock)
        self.reads = HistoryReads(self.name, self.history, self.book, self._read_audits)
        self.directory = Directory(settings, clock, self.get_json, self.unmapped.report)
        self._covered: int | None = None  # the event stream has been read up to this start_time
        # How many cold tickets (history to read) make the event stream worth a read: a page
        # of it costs a request of the export budget (8 a minute), an audits read one of the
        # account's (100), so it pays once it saves that many audits reads. Read after every
        # change, it took half the export budget and left polls without slots (issue 10).
        self.events_worth = math.ceil(
            settings.requests_per_minute / settings.export_requests_per_minute
        )
        self._resume_at: datetime | None = None
        self.writer = WriteBack(self)
        # Tickets unchanged since the store's snapshot are not read again (zendesk.recall).
        self.recall = Recall(settings.name, settings)

    @property
    def requests_made(self) -> int:
        """Requests sent through both budgets (for the polling-economy tests)."""
        return self.http.requests_made + self.export_http.requests_made

    @property
    def ticket_url(self) -> str:
        """The agent's page of a ticket, ``{id}`` standing for its id: Zendesk's agent
        interface serves ``https://<subdomain>.zendesk.com/agent/tickets/<id>`` (Zendesk
        help, "Linking to a ticket"); the dashboard links each ticket there."""
        return f"{self.settings.base_url.rstrip('/')}/agent/tickets/{{id}}"

    def health(self) -> ConnectorHealth:
        """Failing tickets and pages, retries and withdrawals (``core.ports.HealthReporter``)."""
        return self.book.snapshot(
            {
                "requests": self.requests_made,
                "retries": self.http.retries + self.export_http.retries,
                "credential_renewals": self.http.renewals + self.export_http.renewals,
            }
        )

    # -- HTTP -------------------------------------------------------------------------------

    async def _pause_if_exhausted(self) -> None:
        if self._resume_at is None:
            return
        wait = (self._resume_at - self.clock.now()).total_seconds()
        self._resume_at = None
        if wait > 0:
            log.info("connector %s: Zendesk rate limit exhausted; waiting %.0fs", self.name, wait)
            await (self._sleep or asyncio.sleep)(wait)

    def recall_with(self, memory: TicketMemory) -> None:
        """Answer tickets unchanged since the store's snapshot from it (``TicketRecaller``)."""
        self.recall.memory = memory

    def note_rate_limit(self, response: httpx.Response) -> None:
        """Remember to wait before the next request when the account's allowance is used up."""
        for header in _REMAINING_HEADERS:
            remaining = optional_int(response.headers.get(header))
            if remaining is not None:
                break
        else:
            return
        if remaining > 0:
            return
        reset = response.headers.get("ratelimit-reset")
        try:
            seconds = float(reset) if reset else 60.0
        except ValueError:
            seconds = 60.0
        self._resume_at = self.clock.now() + timedelta(seconds=max(seconds, 0.0))

    async def get_json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        export: bool = False,
        max_attempts: int | None = None,
    ) -> Any:
        """GET through the right budget, honouring the rate-limit headers of earlier answers;
        a truncated or malformed body is retried like a 500."""
        await self._pause_if_exhausted()
        http = self.export_http if export else self.http
        return await http.get_json(path, params, self.headers, max_attempts=max_attempts)

    async def send(self, method: str, path: str, body: Any) -> Any:
        """A write through the general budget; ambiguity surfaces as AmbiguousWriteError,
        a 409 as WriteConflictError; a cut-short 2xx answer landed and reads as ``{}``."""
        await self._pause_if_exhausted()
        return await self.http.send_json(method, path, json=body, headers=self.headers)

    # -- sideloads and users --------------------------------------------------------------------

    def absorb(self, page: Mapping[str, Any]) -> None:
        """Remember what a response sideloads (users, organizations)."""
        self.directory.absorb(page)

    def learn_self_id(self, user_id: int | None) -> None:
        """A write's audit names its author: this connector's user."""
        self.directory.learn_self_id(user_id)

    @property
    def _self_id(self) -> int | None:
        return self.directory.self_id

    async def unmatched_statuses(self) -> list[str]:
        """Configured status names this account has neither as category nor custom status."""
        return await self.directory.unmatched_statuses()

    # -- histories ------------------------------------------------------------------------------

    async def _read_audits(self, ticket_id: int) -> list[Audit]:
        return await read_audits(
            self.get_json, self.absorb, ticket_id, self.settings.automatic_channels
        )

    async def _drain_events(self) -> None:
        """Read the ticket event stream from where the last read stopped to its end, each
        page in one attempt: a page that fails (the failed attempt is logged) leaves the
        tickets whose histories it would have given to their audits reads. Its retries
        wait for slots of the export budget and held the whole page up (the 50-kill soak)."""
        assert self._covered is not None
        with contextlib.suppress(RetriableConnectorError):
            self._covered = await drain_events(
                self.get_json, self.history, self._covered, self.settings, attempts=1
            )

    def _gone(self, raw: Mapping[str, Any]) -> Withdrawal | None:
        return gone(raw, self.directory.suspended)

    async def _normalize(self, raw_tickets: Iterable[Any]) -> Batch:
        """Tickets, rejections, withdrawals and per-ticket failures of one page."""
        whole = Batch()
        async for part, _ in self._normalized_parts(raw_tickets):
            whole.merge(part)
        return whole

    async def _normalized_parts(
        self, raw_tickets: Iterable[Any]
    ) -> AsyncIterator[tuple[Batch, bool]]:
        """A page's tickets, rejections, withdrawals and failures in parts: first those
        built without a request (history known, or unchanged since the store's snapshot)
        with the page's rejections and withdrawals, then ``PAGE_PART`` at a time those
        whose audits must be read, each part as soon as its reads are done. A daemon
        killed while reading a page has then planned what it read (issue 10, the 50-kill
        soak: lives shorter than one page of cold histories). Each part comes with
        whether it is the page's last (at least one part, maybe empty)."""
        batch = Batch()
        latest: dict[int, Mapping[str, Any]] = {}
        for raw in raw_tickets:
            gone = self._gone(raw) if isinstance(raw, Mapping) else None
            if gone is not None:
                if (tid := optional_int(gone.ticket_id)) is not None:
                    self.history.forget(tid)
                    latest.pop(tid, None)
                batch.withdraw(gone)
                continue
            try:
                tid = validate_ticket(raw)[0]
            except TicketError as exc:
                batch.rejected.append((ticket_id_of(raw), str(exc)))
                continue
            latest[tid] = raw  # the export can repeat a ticket: the later copy wins
        for ticket_id, reason in batch.rejected:
            log.warning("connector %s: ticket %s rejected: %s", self.name, ticket_id, reason)
        self.book.count("withdrawn", len(batch.withdrawn))
        unknown, recalled, cold, unseen = self._sort(latest)
        stream = self._covered is not None  # a poll is reading (not a single ticket's read)
        free = self.export_http.free_now()
        if stream and stream_pays(len(cold), self.events_worth, latest, self._covered, free):
            await self._drain_events()
            unknown, recalled, cold, unseen = self._sort(latest)
        self.recall.recalled += len(recalled)
        warm = {tid: raw for tid, raw in latest.items() if tid not in unknown or tid in recalled}
        await self._build(warm, recalled, batch)
        yield batch, not cold
        rest = [tid for tid in cold if tid not in unseen]
        if unseen:  # each as soon as it is read (``HistoryReads.as_read``)
            reading = {tid: latest[tid] for tid in cold if tid in unseen}
            async for histories, notes, last in self.reads.as_read(reading):
                part = Batch()
                part.merge(notes)
                await self._build({tid: reading[tid] for tid in histories}, {}, part, histories)
                yield part, last and not rest
        for start in range(0, len(rest), PAGE_PART):
            part = Batch()
            await self._build(
                {tid: latest[tid] for tid in rest[start : start + PAGE_PART]}, {}, part
            )
            yield part, start + PAGE_PART >= len(rest)

    def _sort(
        self, latest: Mapping[int, Mapping[str, Any]]
    ) -> tuple[dict[int, Mapping[str, Any]], dict[int, Ticket], list[int], set[int]]:
        """A page's tickets whose history is not known (or lags the export), those of them
        unchanged since the store's snapshot, the rest (the cold ones, to be read), and
        those of the cold the store has never seen.

        The never-seen go first, and their reads are urgent: a changed ticket's steps are
        armed from its snapshot and verified when due anyway, but a new ticket's can fire
        only once it is read, and Zendesk's export shows a change no sooner than 60 s after it
        (``start_time`` at least 60 s in the past: psa-apis.md 3.2), when a P1's
        first step may already be due (issue 10, the 50-kill soak: a new page's reads
        waited behind the verifies of due steps while the new tickets' steps fell due).
        """
        unknown = {
            tid: raw
            for tid, raw in latest.items()
            if self.history.history(tid) is None or self.history.lags(tid, raw)
        }
        recalled, unseen = self.recall.partition(unknown)
        cold = sorted(
            (tid for tid in unknown if tid not in recalled), key=lambda t: t not in unseen
        )
        return unknown, recalled, cold, unseen & set(cold)

    async def _build(
        self,
        raws: Mapping[int, Mapping[str, Any]],
        recalled: Mapping[int, Ticket],
        batch: Batch,
        read: Mapping[int, tuple[Audit, ...]] | None = None,
    ) -> None:
        """Build these tickets into ``batch``: the recalled as they are, the rest from their
        histories (``read`` already, or read here when the cache lacks them)."""
        reading = {tid: raw for tid, raw in raws.items() if tid not in recalled}
        histories = await self.reads.of_page(reading, batch) if read is None else read
        await self.directory.load_statuses(raws[tid] for tid in histories)
        await self.directory.prepare(raws, histories)
        context = self.directory.context()
        for tid, raw in raws.items():
            self.directory.requesters[tid] = optional_int(raw.get("requester_id")) or 0
            if tid in recalled:
                batch.tickets.append(recalled[tid])
                continue
            if tid not in histories:
                continue
            try:
                built = build_ticket(raw, histories[tid], context)
            except TicketError as exc:
                batch.rejected.append((str(tid), str(exc)))
                log.warning("connector %s: ticket %s rejected: %s", self.name, tid, exc)
                continue
            batch.tickets.append(self.recall.stamp(built))

    # -- Connector protocol: reads ---------------------------------------------------------

    def _start(self, since_cursor: str | None) -> ZendeskCursor:
        now = self.clock.now()
        if since_cursor is not None:
            try:
                cursor = decode_cursor(since_cursor)
            except ValueError as exc:
                log.warning("connector %s: %s; doing a full read", self.name, exc)
            else:
                if self._covered is None or cursor.events > self._covered:
                    self.history.clear()  # a gap in the stream: no history is known complete
                    self._covered = cursor.events
                return cursor
        start = int((now - max(self.settings.full_read_lookback, _MIN_AGE)).timestamp())
        self.history.prune(now - self.settings.full_read_lookback)
        if self._covered is None:
            self._covered = start
        return ZendeskCursor(events=self._covered, start_time=start)

    async def fetch_changed(self, since_cursor: str | None) -> AsyncIterator[PollPage]:
        """Pages of tickets changed since the cursor; None reads ``full_read_lookback`` back.

        Tickets whose history failed before are re-read first, when their back-off allows.
        A page that fails after the first one ends the poll with that failure recorded
        (the cursor stays at the last complete page); a failing first page raises.
        """
        cursor = self._start(since_cursor)
        retry = set(cursor.retry)
        if retry:
            batch = await self._retry(retry)
            retry = (retry - batch.done) | batch.retry
            cursor = cursor.with_retry(retry)
            yield batch.page(encode_cursor(cursor))
        drained = False
        pages = 0
        while True:
            try:
                page, raws, after = await self._export_page(cursor, drained)
            except ConnectorError as exc:
                if pages == 0 or not isinstance(exc, RetriableConnectorError):
                    raise
                failure = self.book.quarantine.failed("page", EXPORT_PATH, str(exc))
                yield PollPage((), encode_cursor(cursor), failures=(failure,))
                return
            self.book.quarantine.succeeded("page", EXPORT_PATH)
            drained, pages = True, pages + 1
            advanced = isinstance(after, str) and bool(after) and after != cursor.export
            # The page's tickets in parts, each yielded (without a cursor) as soon as its
            # histories are read: a daemon killed while reading a page has planned what it
            # read; the next life resumes from the cursor and finds those tickets in its
            # store's snapshots (issue 10, the 50-kill soak: lives shorter than a page).
            async for last, final in self._normalized_parts(raws):
                retry |= last.retry
                if not final:
                    yield last.page(None)
            assert self._covered is not None
            cursor = ZendeskCursor(
                events=self._covered,
                export=after if advanced else cursor.export,
                start_time=None if (advanced or cursor.export) else cursor.start_time,
                retry=tuple(sorted(retry)),
            )
            yield last.page(encode_cursor(cursor))
            if page.get("end_of_stream") is not False:
                return
            if not advanced:
                log.warning(
                    "connector %s: ticket export did not advance; stopping this poll", self.name
                )
                return

    async def _export_page(
        self, cursor: ZendeskCursor, drained: bool
    ) -> tuple[Mapping[str, Any], list[Any], Any]:
        params: dict[str, Any] = {"include": EXPORT_INCLUDE}
        if cursor.export is not None:
            params["cursor"] = cursor.export
        else:
            params["start_time"] = cursor.start_time
        # A poll's first page is paced (budget.pacing): polls every few seconds would spend
        # the export's ten a minute in its first half; the rest of the poll is not held.
        with contextlib.nullcontext() if drained else pacing():
            page = await self.get_json(EXPORT_PATH, params, export=True)
        if not isinstance(page, Mapping) or not isinstance(page.get("tickets"), list):
            raise RetriableConnectorError(
                f"connector {self.name}: the ticket export answered without a tickets list"
            )
        self.absorb(page)
        raw_tickets: list[Any] = page["tickets"]
        return page, raw_tickets, page.get("after_cursor")

    async def _retry(self, ids: set[int]) -> Batch:
        """Re-read the tickets whose history failed earlier (those past their back-off)."""
        batch = Batch()
        raws: list[Mapping[str, Any]] = []
        for tid in sorted(ids):
            if not self.book.quarantine.due("ticket", str(tid)):
                batch.retry.add(tid)
                continue
            try:
                raws.append(await self.read_ticket(tid))
            except NotFoundError:
                self.book.quarantine.succeeded("ticket", str(tid))
                batch.withdraw(Withdrawal(str(tid), await self.directory.deleted_reason(tid)))
            except RetriableConnectorError as exc:
                batch.failures.append(self.book.quarantine.failed("ticket", str(tid), str(exc)))
                batch.retry.add(tid)
            batch.done.add(tid)
        found = await self._normalize(raws)
        batch.merge(found)
        return batch

    async def read_ticket(self, ticket_id: int | str) -> Mapping[str, Any]:
        """The current ticket object (sideloads absorbed)."""
        tid = optional_int(ticket_id)
        if tid is None:
            raise FatalConnectorError(f"connector {self.name}: {ticket_id!r} is not a ticket id")
        data = await self.get_json(f"/api/v2/tickets/{tid}", {"include": EXPORT_INCLUDE})
        if not isinstance(data, Mapping) or not isinstance(data.get("ticket"), Mapping):
            raise RetriableConnectorError(f"connector {self.name}: ticket {tid}: unexpected answer")
        self.absorb(data)
        ticket: Mapping[str, Any] = data["ticket"]
        return ticket

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        """One ticket, its history from the cache or its audits; ``TicketGoneError`` when it
        was deleted, marked as spam or merged into another."""
        try:
            raw = await self.read_ticket(ticket_id)
        except NotFoundError:
            tid = optional_int(ticket_id)
            if tid is None:
                raise
            self.history.forget(tid)
            raise TicketGoneError(ticket_id, await self.directory.deleted_reason(tid)) from None
        gone = self._gone(raw)
        if gone is not None:
            raise TicketGoneError(ticket_id, gone.reason, gone.detail)
        found = (await self._normalize([raw])).outcome(ticket_id)
        if isinstance(found, Exception):
            raise found
        return found

    async def fetch_tickets(self, ticket_ids: Sequence[str]) -> dict[str, Ticket | Exception]:
        """Several tickets in one Show Multiple Tickets request (spec ``TicketsShowMany``:
        up to 100 ids), each as ``fetch_ticket`` answers it (``core.ports.TicketBatchReader``).
        A ticket the answer leaves out (deleted, or not there) is read alone, which says why."""
        wanted = list(dict.fromkeys(ticket_ids))[:SHOW_MANY_IDS]
        data = await self.get_json(
            SHOW_MANY_PATH, {"ids": ",".join(wanted), "include": EXPORT_INCLUDE}
        )
        raws = data.get("tickets") if isinstance(data, Mapping) else None
        if not isinstance(raws, list):
            raise RetriableConnectorError(
                f"connector {self.name}: {SHOW_MANY_PATH}: unexpected answer"
            )
        self.absorb(data)
        shown = {ticket_id_of(raw): raw for raw in raws if isinstance(raw, Mapping)}
        found: dict[str, Ticket | Exception] = {}
        live = []
        for tid in (tid for tid in wanted if tid in shown):
            gone = self._gone(shown[tid])
            if gone is not None:
                found[tid] = TicketGoneError(tid, gone.reason, gone.detail)
            else:
                live.append(shown[tid])
        batch = await self._normalize(live)
        for tid in wanted:
            if tid in found:
                continue
            try:
                found[tid] = batch.outcome(tid) if tid in shown else await self.fetch_ticket(tid)
            except ConnectorError as exc:
                found[tid] = exc
        return found

    # -- Connector protocol: writes ----------------------------------------------------------

    async def apply(self, ticket: Ticket, actions: Iterable[tuple[str, str]]) -> WriteResult:
        """All actions of one escalation (reassign, set_priority, note, tag) in one PUT, as a
        safe update against the ``updated_at`` the ticket was verified at."""
        return await self.writer.apply(ticket, actions)

    async def assign(self, ticket: Ticket, person_or_group: str) -> WriteResult:
        """Assign to a person (config ``users`` or email lookup) or a group (``group:NAME``)."""
        return await self.apply(ticket, [("reassign", person_or_group)])

    async def set_priority(self, ticket: Ticket, tier: str) -> WriteResult:
        """Set the Zendesk priority mapped from ``tier`` through ``priority_map``."""
        return await self.apply(ticket, [("set_priority", tier)])

    async def add_internal_note(self, ticket: Ticket, text: str) -> WriteResult:
        """A private comment (``public: false``)."""
        return await self.apply(ticket, [("note", text)])

    async def add_tag(self, ticket: Ticket, tag: str) -> WriteResult:
        """Add a tag without replacing the others (``additional_tags``)."""
        return await self.apply(ticket, [("tag", tag)])

    async def plan(self, actions: Iterable[tuple[str, str]]) -> UpdatePlan:
        """The update an action set would send (exposed for dry runs and tests)."""
        return await self.writer.plan(actions)

    # -- check --------------------------------------------------------------------------------

    async def check(self) -> CheckResult:
        """Authenticate, read one export page, resolve status names, describe the
        credentials (method, expiry, scopes); each failure says what to fix."""
        return await check(self)


def build(name: str, settings: Mapping[str, Any], clock: Clock) -> ZendeskConnector:
    """The factory behind the entry point: build the adapter from its config mapping."""
    return ZendeskConnector(parse_settings(name, settings), clock)
