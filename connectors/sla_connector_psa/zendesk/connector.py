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

Write-back: one ``PUT /api/v2/tickets/{id}`` per action set (``apply``), carrying
``assignee_id`` or ``group_id``, ``priority``, a private ``comment`` and ``additional_tags``
(which adds without replacing the tag set). A write that may or may not have landed is
re-read (the ticket, and for a note its latest comments) before it is sent again, once.

Paths follow the published OpenAPI document (no ``.json`` suffix), which the real API also
serves. Modules: ``settings``, ``cursor``, ``history``, ``normalize`` (pure JSON -> ticket),
``write`` (the update plan and its sending), and this one, which polls and checks.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from sla_connector.core.errors import FatalConnectorError, RetriableConnectorError, TicketError
from sla_connector.core.ports import CheckResult, Clock, PollPage, WriteResult
from sla_connector.core.ticket import Ticket, parse_instant
from sla_connector_psa.checks import CheckAdvice, verdict
from sla_connector_psa.http import PsaHttp, UnmappedReporter
from sla_connector_psa.values import optional_int
from sla_connector_psa.zendesk.cursor import ZendeskCursor, decode_cursor, encode_cursor
from sla_connector_psa.zendesk.history import HistoryCache
from sla_connector_psa.zendesk.normalize import (
    SYSTEM_USER_ID,
    Audit,
    NormalizeContext,
    build_ticket,
    parse_audit,
    parse_ticket_event,
    ticket_id_of,
    validate_ticket,
)
from sla_connector_psa.zendesk.settings import ZendeskSettings, parse_settings
from sla_connector_psa.zendesk.write import UpdatePlan, WriteBack

__all__ = ["EVENTS_PATH", "EXPORT_PATH", "ZendeskConnector", "build"]

log = logging.getLogger("sla_connector_psa.zendesk")

EXPORT_PATH = "/api/v2/incremental/tickets/cursor"
EVENTS_PATH = "/api/v2/incremental/ticket_events"
EXPORT_INCLUDE = "users,organizations"
SHOW_MANY_LIMIT = 100
_MIN_AGE = timedelta(seconds=60)  # incremental start_time must be at least a minute old
_REMAINING_HEADERS = ("ratelimit-remaining", "X-Rate-Limit-Remaining")
_STALE_TOLERANCE = timedelta(seconds=5)  # ticket updated_at may trail its audit by a moment


def _relative(url: str) -> tuple[str, dict[str, str]]:
    """A next-page URL as path and params, so it is fetched through our own base URL."""
    parts = urlsplit(url)
    return parts.path, dict(parse_qsl(parts.query))


class ZendeskConnector:
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
        self.export_http = PsaHttp.of(
            settings,
            clock,
            client=self.http.client,
            sleep=sleep,
            max_attempts=max_attempts,
            requests_per_minute=settings.export_requests_per_minute,
        )
        token = base64.b64encode(f"{settings.email}/token:{settings.token}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        self.unmapped = UnmappedReporter(settings.name)
        self.history = HistoryCache()
        self._covered: int | None = None  # the event stream has been read up to this start_time
        self._roles: dict[int, str] = {}
        self._emails: dict[int, str] = {}
        self._org_names: dict[int, str] = {}
        self._self_id: int | None = None
        self._resume_at: datetime | None = None
        tiers: dict[str, str] = {}
        for tier, priority in settings.priority_map.items():
            tiers.setdefault(priority, tier)
        self._priority_tiers = tiers
        self._people = {user: person for person, user in settings.users.items() if user.isdigit()}
        self.writer = WriteBack(self)

    @property
    def requests_made(self) -> int:
        """Requests sent through both budgets (for the polling-economy tests)."""
        return self.http.requests_made + self.export_http.requests_made

    # -- HTTP -------------------------------------------------------------------------------

    async def _pause_if_exhausted(self) -> None:
        if self._resume_at is None:
            return
        wait = (self._resume_at - self.clock.now()).total_seconds()
        self._resume_at = None
        if wait > 0:
            log.info("connector %s: Zendesk rate limit exhausted; waiting %.0fs", self.name, wait)
            await (self._sleep or asyncio.sleep)(wait)

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
        self, path: str, params: Mapping[str, Any] | None = None, *, export: bool = False
    ) -> Any:
        """GET through the right budget, honouring the rate-limit headers of earlier answers."""
        await self._pause_if_exhausted()
        http = self.export_http if export else self.http
        response = await http.get(path, params=params, headers=self.headers)
        self.note_rate_limit(response)
        return PsaHttp.decode(response)

    async def send(self, method: str, path: str, body: Any) -> Any:
        """A write through the general budget; ambiguity surfaces as AmbiguousWriteError."""
        await self._pause_if_exhausted()
        response = await self.http.send(method, path, json=body, headers=self.headers)
        self.note_rate_limit(response)
        return PsaHttp.decode(response)

    # -- sideloads and users --------------------------------------------------------------------

    def absorb(self, page: Mapping[str, Any]) -> None:
        """Remember user roles/emails and organization names from a response's sideloads."""
        for user in page.get("users") or ():
            if isinstance(user, Mapping) and (uid := optional_int(user.get("id"))) is not None:
                if isinstance(user.get("role"), str):
                    self._roles[uid] = user["role"]
                if isinstance(user.get("email"), str):
                    self._emails[uid] = user["email"].lower()
        for org in page.get("organizations") or ():
            if (
                isinstance(org, Mapping)
                and (oid := optional_int(org.get("id"))) is not None
                and isinstance(org.get("name"), str)
            ):
                self._org_names[oid] = org["name"]

    async def self_user_id(self) -> int | None:
        """The API user's id, to tell this connector's own changes from a human's."""
        if self._self_id is None:
            data = await self.get_json("/api/v2/users/me")
            user = data.get("user") if isinstance(data, Mapping) else None
            if isinstance(user, Mapping):
                self._self_id = optional_int(user.get("id"))
        return self._self_id

    def learn_self_id(self, user_id: int | None) -> None:
        """A write's audit names its author: this connector's user."""
        if user_id is not None and self._self_id is None:
            self._self_id = user_id

    async def _load_roles(self, user_ids: Iterable[int]) -> None:
        missing = sorted({u for u in user_ids if u not in self._roles and u != SYSTEM_USER_ID})
        for start in range(0, len(missing), SHOW_MANY_LIMIT):
            chunk = missing[start : start + SHOW_MANY_LIMIT]
            data = await self.get_json(
                "/api/v2/users/show_many", {"ids": ",".join(str(u) for u in chunk)}
            )
            if isinstance(data, Mapping):
                self.absorb(data)
            for uid in chunk:
                self._roles.setdefault(uid, "unknown")  # deleted users: ask only once

    def _context(self) -> NormalizeContext:
        wanted = self.settings.automation_users
        automation = {int(v) for v in wanted if v.lstrip("-").isdigit()}
        automation.update(uid for uid, email in self._emails.items() if email in wanted)
        return NormalizeContext(
            source=self.name,
            client_map=self.settings.client_map,
            default_client=self.settings.default_client,
            priority_tiers=self._priority_tiers,
            people=self._people,
            user_roles=self._roles,
            org_names=self._org_names,
            automation_user_ids=frozenset(automation),
            self_user_id=self._self_id,
            report=self.unmapped.report,
        )

    # -- histories ------------------------------------------------------------------------------

    async def _read_audits(self, ticket_id: int) -> list[Audit]:
        audits: list[Audit] = []
        path, params = f"/api/v2/tickets/{ticket_id}/audits", {"include": "users"}
        seen: set[str] = set()
        while True:
            data = await self.get_json(path, params)
            if not isinstance(data, Mapping) or not isinstance(data.get("audits"), list):
                raise TicketError(f"ticket {ticket_id}: audits: unexpected response")
            self.absorb(data)
            audits.extend(
                parse_audit(raw, self.settings.automatic_channels) for raw in data["audits"]
            )
            next_page = data.get("next_page")
            links = data.get("links")
            if (
                not next_page
                and isinstance(links, Mapping)
                and (isinstance(data.get("meta"), Mapping) and data["meta"].get("has_more"))
            ):
                next_page = links.get("next")
            if not isinstance(next_page, str) or not next_page or next_page in seen:
                return audits
            seen.add(next_page)
            path, params = _relative(next_page)

    async def _drain_events(self) -> None:
        """Read the ticket event stream from where the last read stopped to its end."""
        assert self._covered is not None
        while True:
            start = self._covered
            data = await self.get_json(
                EVENTS_PATH, {"start_time": start, "include": "comment_events"}, export=True
            )
            if not isinstance(data, Mapping):
                raise RetriableConnectorError(
                    f"connector {self.name}: the ticket event export answered without an object"
                )
            items = data.get("ticket_events")
            for item in items if isinstance(items, list) else ():
                try:
                    audit = parse_ticket_event(item, self.settings.automatic_channels)
                except TicketError as exc:
                    log.warning("connector %s: skipped a ticket event: %s", self.name, exc)
                    if (
                        isinstance(item, Mapping)
                        and (tid := optional_int(item.get("ticket_id"))) is not None
                    ):
                        self.history.forget(tid)  # its history now has a hole: re-read audits
                    continue
                if audit is not None:
                    self.history.add_stream(audit)
            end_time = optional_int(data.get("end_time"))
            if end_time is not None and end_time > start:
                self._covered = end_time
            if data.get("end_of_stream") is not False or not items:
                return
            if end_time is None or end_time <= start:
                log.warning(
                    "connector %s: ticket event stream did not advance past %d", self.name, start
                )
                return

    def _stale(self, ticket_id: int, raw: Mapping[str, Any]) -> bool:
        """True when the export shows an update the known history lacks."""
        latest = self.history.latest(ticket_id)
        if latest is None:
            return True
        try:
            updated = parse_instant(raw.get("updated_at"), "updated_at")
        except TicketError:
            return False
        return updated > latest + _STALE_TOLERANCE

    async def _histories(
        self, raws: Mapping[int, Mapping[str, Any]]
    ) -> tuple[dict[int, tuple[Audit, ...]], list[tuple[str, str]]]:
        found: dict[int, tuple[Audit, ...]] = {}
        rejected: list[tuple[str, str]] = []
        for tid, raw in raws.items():
            history = self.history.history(tid)
            if history is None or self._stale(tid, raw):
                try:
                    self.history.set_full(tid, await self._read_audits(tid))
                except TicketError as exc:
                    rejected.append((str(tid), str(exc)))
                    continue
                history = self.history.history(tid) or ()
            found[tid] = history
        return found, rejected

    async def _normalize(
        self, raw_tickets: list[Any]
    ) -> tuple[list[Ticket], list[tuple[str, str]]]:
        latest: dict[int, Mapping[str, Any]] = {}
        rejected: list[tuple[str, str]] = []
        for raw in raw_tickets:
            if isinstance(raw, Mapping) and raw.get("status") == "deleted":
                if (deleted := optional_int(raw.get("id"))) is not None:
                    self.history.forget(deleted)
                    latest.pop(deleted, None)
                continue
            try:
                tid = validate_ticket(raw)[0]
            except TicketError as exc:
                rejected.append((ticket_id_of(raw), str(exc)))
                continue
            latest[tid] = raw  # the export can repeat a ticket: the later copy wins
        histories, failed = await self._histories(latest)
        rejected.extend(failed)
        await self._prepare_context(latest, histories)
        context = self._context()
        tickets: list[Ticket] = []
        for tid, history in histories.items():
            try:
                tickets.append(build_ticket(latest[tid], history, context))
            except TicketError as exc:
                rejected.append((str(tid), str(exc)))
        for ticket_id, reason in rejected:
            log.warning("connector %s: ticket %s rejected: %s", self.name, ticket_id, reason)
        return tickets, rejected

    async def _prepare_context(
        self, raws: Mapping[int, Mapping[str, Any]], histories: Mapping[int, tuple[Audit, ...]]
    ) -> None:
        """Look up what building these tickets needs: comment authors' roles, our own id."""
        authors: set[int] = set()
        human_priority_change = False
        for tid, history in histories.items():
            requester = optional_int(raws[tid].get("requester_id"))
            for audit in history:
                creating = audit.creates  # its comment is the description, never a reply
                for entry in audit.entries:
                    if (
                        entry.kind == "comment"
                        and entry.public
                        and not creating
                        and entry.author_id is not None
                        and entry.author_id != requester
                    ):
                        authors.add(entry.author_id)
                    if entry.kind == "change" and entry.field == "priority" and not entry.automatic:
                        human_priority_change = True
        await self._load_roles(authors)
        if human_priority_change:
            await self.self_user_id()

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
        """Pages of tickets changed since the cursor; None reads ``full_read_lookback`` back."""
        cursor = self._start(since_cursor)
        drained = False
        while True:
            params: dict[str, Any] = {"include": EXPORT_INCLUDE}
            if cursor.export is not None:
                params["cursor"] = cursor.export
            else:
                params["start_time"] = cursor.start_time
            page = await self.get_json(EXPORT_PATH, params, export=True)
            if not isinstance(page, Mapping) or not isinstance(page.get("tickets"), list):
                raise RetriableConnectorError(
                    f"connector {self.name}: the ticket export answered without a tickets list"
                )
            self.absorb(page)
            raw_tickets: list[Any] = page["tickets"]
            if raw_tickets and (not drained or self._behind(raw_tickets)):
                await self._drain_events()
                drained = True
            tickets, rejected = await self._normalize(raw_tickets)
            after = page.get("after_cursor")
            advanced = isinstance(after, str) and bool(after) and after != cursor.export
            assert self._covered is not None
            cursor = ZendeskCursor(
                events=self._covered,
                export=after if advanced else cursor.export,
                start_time=None if (advanced or cursor.export) else cursor.start_time,
            )
            yield PollPage(
                tickets=tuple(tickets), cursor=encode_cursor(cursor), rejected=tuple(rejected)
            )
            if page.get("end_of_stream") is not False:
                return
            if not advanced:
                log.warning(
                    "connector %s: ticket export did not advance; stopping this poll", self.name
                )
                return

    def _behind(self, raw_tickets: list[Any]) -> bool:
        """True when a ticket was updated after the event stream's read position."""
        assert self._covered is not None
        for raw in raw_tickets:
            if not isinstance(raw, Mapping):
                continue
            try:
                updated = parse_instant(raw.get("updated_at"), "updated_at")
            except TicketError:
                continue
            if updated.timestamp() > self._covered:
                return True
        return False

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
        """One ticket, its history from the cache or its audits."""
        raw = await self.read_ticket(ticket_id)
        tid = optional_int(raw.get("id"))
        if tid is None:
            raise TicketError(f"ticket {ticket_id}: answer without a numeric id")
        histories, rejected = await self._histories({tid: raw})
        if rejected:
            raise TicketError(rejected[0][1])
        await self._prepare_context({tid: raw}, histories)
        return build_ticket(raw, histories[tid], self._context())

    # -- Connector protocol: writes ----------------------------------------------------------

    async def apply(self, ticket: Ticket, actions: Iterable[tuple[str, str]]) -> WriteResult:
        """All actions of one escalation (reassign, set_priority, note, tag) in one PUT."""
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
        """Authenticate, then read one export page; each failure says what to fix."""
        s = self.settings
        advice = CheckAdvice(
            credentials=lambda exc: (
                f"credentials rejected (401) by {s.base_url}: check {s.email_env} and "
                f"{s.token_env} (the API token must be active and token access enabled)"
            ),
            permission=lambda exc: (
                f"permission missing (403) on {exc.url}: the incremental export needs a "
                f"Zendesk admin; use an admin's email in {s.email_env}"
            ),
            wrong_url=lambda exc: (
                f"wrong URL (404) for {exc.url}: check subdomain/base_url of connector {self.name}"
            ),
            failed="Zendesk check failed",
        )
        return await verdict(self._check, advice)

    async def _check(self) -> CheckResult:
        s = self.settings
        data = await self.get_json("/api/v2/users/me")
        user = data.get("user") if isinstance(data, Mapping) else None
        if not isinstance(user, Mapping) or optional_int(user.get("id")) is None:
            return CheckResult(
                False,
                (
                    f"credentials rejected: Zendesk at {s.base_url} answered as an anonymous "
                    f"user; check {s.email_env} and {s.token_env} and that API token access "
                    "is enabled"
                ),
            )
        self._self_id = optional_int(user.get("id"))
        since = int((self.clock.now() - timedelta(days=1)).timestamp())
        page = await self.get_json(EXPORT_PATH, {"start_time": since}, export=True)
        tickets = page.get("tickets") if isinstance(page, Mapping) else None
        count = len(tickets) if isinstance(tickets, list) else 0
        role = str(user.get("role") or "unknown")
        account = str(user.get("email") or user.get("name") or user.get("id"))
        summary = (
            f"authenticated as {account} ({role}); incremental export readable: "
            f"{count} ticket(s) changed in the last 24 h on the first page"
        )
        if role not in ("admin", "unknown"):
            summary += "; note: the incremental export normally requires an admin"
        return CheckResult(
            True,
            summary,
            {"account": account, "role": role, "tickets_first_page": count, "base_url": s.base_url},
        )

    async def aclose(self) -> None:
        """Close the HTTP client if this connector created it."""
        await self.http.aclose()


def build(name: str, settings: Mapping[str, Any], clock: Clock) -> ZendeskConnector:
    """The factory behind the entry point: build the adapter from its config mapping."""
    return ZendeskConnector(parse_settings(name, settings), clock)
