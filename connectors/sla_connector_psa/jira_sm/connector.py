"""Jira Service Management (Cloud) adapter: enhanced JQL polling, changelog history, write-back.

Reading. One enhanced search (``GET /rest/api/3/search/jql``) per page of up to 100 changed
issues, ordered by ``updated``, paged with ``nextPageToken``, with ``expand=changelog`` and
the ``comment`` field listed, so status, priority and reply history arrive in the change
feed itself: an idle poll costs one request, a busy one a page per 100 changed issues.
The enhanced search embeds **at most 40 changelog entries** per issue and its ``total``
cannot be trusted to say more exist (psa-apis.md "Corrections"), so whenever an issue shows
40 or more (or a ``total`` above what it holds) the adapter pages
``/rest/api/3/issue/{key}/changelog`` for it, once per ``updated`` stamp (a later read of an
unchanged issue reuses it); truncated comment lists are read from
``/rest/servicedeskapi/request/{key}/comment`` likewise (``history``). The window overlaps
and versions are de-duplicated (``cursor``). The API user's profile (``/rest/api/3/myself``,
read once) gives the time zone JQL dates are read in and the account whose own changes are
not "human" priority changes.

Isolation. A search naming a project Jira no longer knows (archived, deleted, renamed) is
refused as a whole with 400 ("The value 'OPS' does not exist for the field 'project'"). The
adapter then records the failure against that project, searches the other projects without
it, and from then on searches the bad project on its own from where it was (``lagging`` in
the cursor), with back-off, until it answers again. A page that fails after the first ends
the poll with the failure recorded and the cursor of the last complete page.

Tickets that go away. A full read looks up the open issues this process delivered that the
search no longer returns: 404 is ``deleted``, an issue now in a project not polled (or under
another key: moved) is ``out_of_scope``; ``fetch_ticket`` raises ``TicketGoneError`` for the
same reasons.

Writing. One step is at most two requests (``apply``): one ``PUT /issue/{key}`` carrying the
assignee (account id; e-mails resolved through ``/rest/api/3/user/search`` and cached), the
priority and the labels (``update.labels add``), and the internal note through the
servicedeskapi (``public: false``); see ``write``. After an ambiguous failure the adapter
re-reads the issue and writes again only when the change provably did not land; a 409 raises
``WriteConflictError``, a 404 ``TicketGoneError``.

Credentials (``check``): a service account through ``api.atlassian.com/ex/jira/{cloudId}``
(OAuth 2.0 client credentials or a scoped API token), or a person's API token on the site.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    Withdrawal,
    WriteResult,
)
from sla_connector.core.ticket import Ticket
from sla_connector_psa.health import HealthBook
from sla_connector_psa.http import (
    HttpBacked,
    MalformedResponseError,
    NotFoundError,
    PsaHttp,
    RequestRejectedError,
)
from sla_connector_psa.jira_sm.check import check, credentials_for
from sla_connector_psa.jira_sm.cursor import JqlCursor, jql_quote, window_jql
from sla_connector_psa.jira_sm.history import all_histories, all_jsm_comments, issue_path
from sla_connector_psa.jira_sm.normalize import (
    ISSUE_FIELDS,
    NormalizeContext,
    changelog_is_complete,
    comments_are_complete,
    issue_key,
    issue_to_ticket,
    issue_updated,
)
from sla_connector_psa.jira_sm.settings import JiraSettings, parse_settings
from sla_connector_psa.jira_sm.write import JiraWriter
from sla_connector_psa.pages import PageBatch
from sla_connector_psa.values import UnmappedReporter

__all__ = ["JiraServiceManagement", "build"]

log = logging.getLogger("sla_connector_psa.jira_sm")

ORGANIZATIONS_FIELD_TYPE = "com.atlassian.servicedesk:sd-customer-organizations"
_SEARCH = "/rest/api/3/search/jql"
_BAD_PROJECT = re.compile(r"The value '([^']+)' does not exist for the field 'project'")


class JiraServiceManagement(HttpBacked):
    """The ``jira_sm`` connector (implements ``sla_connector.core.ports.Connector``)."""

    def __init__(
        self,
        settings: JiraSettings,
        clock: Clock,
        *,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self.clock = clock
        self.http = PsaHttp.of(settings, clock, client=client, sleep=sleep)
        self.http.credentials = credentials_for(settings, self.http)
        self._headers = {"Accept": "application/json"}
        self.unmapped = UnmappedReporter(settings.name)
        self.book = HealthBook(clock)
        self._myself: Mapping[str, Any] | None = None
        self._client_field: str | None = None
        self._changelogs: dict[str, tuple[str, list[Mapping[str, Any]]]] = {}
        self._known: set[str] = set()  # keys delivered, for the full read's look-ups
        self._writer = JiraWriter(settings, self.get, self.send)

    @property
    def ticket_url(self) -> str | None:
        """An issue's page, ``{id}`` standing for its key: Jira shows an issue at
        ``https://<site>.atlassian.net/browse/<KEY>`` (Atlassian support, "Share an
        issue"). None through the api.atlassian.com gateway (``cloud_id``), whose URL
        is not a page a person opens."""
        if self.settings.cloud_id:
            return None
        return f"{self.settings.base_url.rstrip('/')}/browse/{{id}}"

    def health(self) -> ConnectorHealth:
        """Failing projects and pages, retries, renewed tokens, withdrawals."""
        return self.book.snapshot(
            {
                "requests": self.http.requests_made,
                "retries": self.http.retries,
                "credential_renewals": self.http.renewals,
            }
        )

    # -- identity and field discovery -------------------------------------------------------

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return await self.http.get_json(path, params=params, headers=self._headers)

    async def send(self, method: str, path: str, body: Any) -> httpx.Response:
        return await self.http.send(method, path, json=body, headers=self._headers)

    async def identity(self) -> Mapping[str, Any]:
        """The API user (``/myself``), read once per process."""
        if self._myself is None:
            data = await self.get("/rest/api/3/myself")
            if not isinstance(data, Mapping) or not isinstance(data.get("accountId"), str):
                raise MalformedResponseError(
                    f"connector {self.name}: /rest/api/3/myself did not return a user",
                    url=self.http.url("/rest/api/3/myself"),
                )
            self._myself = data
        return self._myself

    async def _zone(self) -> ZoneInfo:
        """The zone JQL dates are read in: ``jql_timezone``, else the API user's profile."""
        if self.settings.jql_timezone is not None:
            return self.settings.jql_timezone
        name = (await self.identity()).get("timeZone")
        if isinstance(name, str) and name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning(
                    "connector %s: unknown profile time zone %r; using UTC", self.name, name
                )
        return ZoneInfo("UTC")

    async def client_field_id(self) -> str:
        """The field holding the client: a field id, ``project``, or the Organizations field."""
        if self._client_field is not None:
            return self._client_field
        wanted = self.settings.client_field
        if wanted.lower() not in ("organization", "organizations"):
            self._client_field = wanted
        elif self.settings.organization_field:
            self._client_field = self.settings.organization_field
        else:
            fields = await self.get("/rest/api/3/field")
            found = (
                [
                    f["id"]
                    for f in fields
                    if isinstance(f, Mapping)
                    and isinstance(f.get("id"), str)
                    and isinstance(f.get("schema"), Mapping)
                    and f["schema"].get("custom") == ORGANIZATIONS_FIELD_TYPE
                ]
                if isinstance(fields, list)
                else []
            )
            if not found:
                raise FatalConnectorError(
                    f"connectors.{self.name}.client_field: this site has no JSM Organizations "
                    "field; set organization_field to its customfield id, or client_field to "
                    "another field id or 'project'"
                )
            self._client_field = found[0]
        return self._client_field

    async def _context(self) -> NormalizeContext:
        me = await self.identity()
        return NormalizeContext(
            source=self.name,
            client_field=await self.client_field_id(),
            client_map=self.settings.client_map,
            default_client=self.settings.default_client,
            priority_map=self.settings.priority_map,
            users=self.settings.users,
            channel_field=self.settings.channel_field,
            self_account_id=str(me["accountId"]),
            automation_accounts=self.settings.automation_accounts,
            report_unmapped=self.unmapped.report,
        )

    def _fields(self, ctx: NormalizeContext) -> list[str]:
        extra = [ctx.client_field] if ctx.client_field != "project" else []
        if ctx.channel_field:
            extra.append(ctx.channel_field)
        return list(dict.fromkeys([*ISSUE_FIELDS, *extra]))

    # -- reading ------------------------------------------------------------------------------

    async def _histories(self, key: str, issue: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The whole changelog of an issue whose embedded one may be cut short, read once
        per ``updated`` stamp."""
        fields = issue.get("fields")
        stamp = str(fields.get("updated") if isinstance(fields, Mapping) else "")
        cached = self._changelogs.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        found = await all_histories(self.get, key)
        self._changelogs[key] = (stamp, found)
        return found

    async def _normalize(self, issue: Any, ctx: NormalizeContext) -> Ticket:
        """One issue -> ticket, fetching its full history where the feed may have cut it."""
        key = issue_key(issue)
        histories = jsm_comments = None
        if key is not None and isinstance(issue, Mapping):
            if not changelog_is_complete(issue):
                histories = await self._histories(key, issue)
            if not comments_are_complete(issue):
                jsm_comments = await all_jsm_comments(self.get, key)
        ticket = issue_to_ticket(issue, ctx, histories=histories, jsm_comments=jsm_comments)
        self._known.add(ticket.id)
        return ticket

    async def fetch_changed(self, since_cursor: str | None) -> AsyncIterator[PollPage]:
        """Pages of issues updated since the cursor (None: start-up full read).

        Projects the search refused are searched on their own, with back-off, from where
        they were; the others are never held back by them.
        """
        cursor: JqlCursor | None = None
        if since_cursor:
            try:
                cursor = JqlCursor.decode(since_cursor)
            except (ValueError, TypeError) as exc:
                log.warning(
                    "connector %s: unreadable cursor (%s); doing a full read", self.name, exc
                )
        ctx = await self._context()
        state = cursor or JqlCursor()
        full = cursor is None
        lagging = set(state.lagging)
        healthy = [p for p in self.settings.projects if p not in lagging]
        delivered: set[str] = set()
        if healthy:
            start = None if full else state.window_start(self.settings.overlap)
            async for page, after in self._search(healthy, start, state, ctx, delivered):
                state = after
                yield page
        for project in sorted(lagging & set(self.settings.projects)):
            if not self.book.quarantine.due("project", project):
                continue
            lagged = state.caught_up(project)
            found = self._search([project], state.lagging[project], lagged, ctx, delivered)
            async for page, after in found:
                lagged = after
                yield page
            if project not in lagged.lagging:  # it answered: it rejoins the others
                state = lagged
        if full:
            departed = await self._departed(delivered, state)
            if departed.withdrawn:
                yield departed

    async def _search(
        self,
        projects: Sequence[str],
        start: datetime | None,
        state: JqlCursor,
        ctx: NormalizeContext,
        delivered: set[str],
    ) -> AsyncIterator[tuple[PollPage, JqlCursor]]:
        """The pages of one search; a 400 naming projects sets them aside and searches on."""
        zone = await self._zone()
        now = self.clock.now().astimezone(UTC)
        scope = "project in (" + ", ".join(jql_quote(p) for p in projects) + ")"
        jql = window_jql(
            scope, start, zone=zone, now=now, full_read_lookback=self.settings.full_read_lookback
        )
        token: str | None = None
        pages = 0
        while True:
            params: dict[str, Any] = {
                "jql": jql,
                "maxResults": self.settings.page_size,
                "fields": self._fields(ctx),
                "expand": "changelog",
                "nextPageToken": token,
            }
            try:
                data = await self.get(_SEARCH, params)
            except RequestRejectedError as exc:
                bad = [p for p in _BAD_PROJECT.findall(exc.body) if p in projects]
                if exc.status != 400 or not bad:
                    raise
                failures = tuple(
                    self.book.quarantine.failed("project", p, f"search refused: {exc}") for p in bad
                )
                log.warning(
                    "connector %s: Jira refused project(s) %s; searching the others",
                    self.name,
                    ", ".join(bad),
                )
                state = state.lag(bad, start)
                yield PollPage((), state.encode(), failures=failures), state
                rest = [p for p in projects if p not in bad]
                if rest:
                    async for found in self._search(rest, start, state, ctx, delivered):
                        yield found
                return
            except RetriableConnectorError as exc:
                if pages == 0:
                    raise
                failure = self.book.quarantine.failed("page", _SEARCH, str(exc))
                yield PollPage((), state.encode(), failures=(failure,)), state
                return
            pages += 1
            for project in projects:
                self.book.quarantine.succeeded("project", project)
            batch, versions = await self._page(data, state, ctx)
            delivered |= {t.id for t in batch.tickets}
            state = state.advance(versions, self.settings.overlap)
            yield batch.page(state.encode()), state
            next_token = data.get("nextPageToken")
            if data.get("isLast") is True or not isinstance(next_token, str) or not next_token:
                return
            token = next_token

    async def _page(
        self, data: Any, state: JqlCursor, ctx: NormalizeContext
    ) -> tuple[PageBatch, list[tuple[str, datetime]]]:
        if not isinstance(data, Mapping) or not isinstance(data.get("issues", []), list):
            raise MalformedResponseError(
                f"connector {self.name}: search answer has no issues list",
                url=self.http.url(_SEARCH),
            )
        batch = PageBatch()
        versions: list[tuple[str, datetime]] = []
        for issue in data.get("issues", []):
            key = issue_key(issue) or "?"
            try:
                updated = issue_updated(issue)
                if state.delivered(key, updated):
                    continue
                versions.append((key, updated))
                batch.tickets.append(await self._normalize(issue, ctx))
            except NotFoundError:  # deleted since the search
                self._known.discard(key)
                batch.withdraw(Withdrawal(key, "deleted", "404 while its history was read"))
            except TicketError as exc:
                log.warning("connector %s: rejected issue %s: %s", self.name, key, exc)
                batch.rejected.append((key, str(exc)))
        return batch, versions

    async def _departed(self, delivered: set[str], state: JqlCursor) -> PollPage:
        """Issues this process delivered that the full read no longer returned: gone, or
        resolved before the look-back (then no longer followed)."""
        batch = PageBatch()
        for key in sorted(self._known - delivered):
            self._known.discard(key)
            try:
                await self.fetch_ticket(key)
            except TicketGoneError as gone:
                batch.withdraw(Withdrawal(key, gone.reason, gone.detail))
            except ConnectorError as exc:
                log.warning("connector %s: issue %s not looked up: %s", self.name, key, exc)
        self.book.count("withdrawn", len(batch.withdrawn))
        return batch.page(state.encode())

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        """One issue by key, with its full history; ``TicketGoneError`` when it was deleted
        or moved to a project this connector does not poll (or under a new key)."""
        ctx = await self._context()
        try:
            issue = await self.get(
                issue_path(ticket_id), {"fields": self._fields(ctx), "expand": "changelog"}
            )
        except NotFoundError:  # still known: the next full read reports it withdrawn
            raise TicketGoneError(ticket_id, "deleted", "404 from Jira") from None
        key = issue_key(issue)
        fields = issue.get("fields") if isinstance(issue, Mapping) else None
        project = fields.get("project") if isinstance(fields, Mapping) else None
        project_key = project.get("key") if isinstance(project, Mapping) else None
        if key is not None and key != ticket_id.upper():
            raise TicketGoneError(ticket_id, "out_of_scope", f"moved: now {key}")
        if isinstance(project_key, str) and project_key not in self.settings.projects:
            raise TicketGoneError(ticket_id, "out_of_scope", f"now in project {project_key}")
        return await self._normalize(issue, ctx)

    # -- writing (write.py) -------------------------------------------------------------------

    async def apply(self, ticket: Ticket, actions: Iterable[tuple[str, str]]) -> WriteResult:
        """A whole step: one edit of the issue (assignee, priority, labels) and, for a note,
        one internal comment."""
        return await self._writer.apply(ticket, list(actions))

    async def assign(self, ticket: Ticket, person_or_group: str) -> WriteResult:
        """Assign to the person's Jira account (Jira cannot assign an issue to a group)."""
        return await self._writer.assign(ticket, person_or_group)

    async def set_priority(self, ticket: Ticket, tier: str) -> WriteResult:
        """Set the Jira priority mapped from ``tier`` by ``priority_map``."""
        return await self._writer.set_priority(ticket, tier)

    async def add_internal_note(self, ticket: Ticket, text: str) -> WriteResult:
        """An internal (agent-only) JSM comment."""
        return await self._writer.add_internal_note(ticket, text)

    async def add_tag(self, ticket: Ticket, tag: str) -> WriteResult:
        """Add a label (``update.labels add`` keeps the others; ``fields.labels`` would not)."""
        return await self._writer.add_tag(ticket, tag)

    # -- check ------------------------------------------------------------------------------

    async def check(self) -> CheckResult:
        """Authenticate, confirm JSM agent access to the projects, count open issues, and
        describe the credentials (method, expiry, scopes)."""
        return await check(self)


def build(name: str, settings: Mapping[str, Any], clock: Clock) -> JiraServiceManagement:
    """The factory behind the entry point (``type: jira_sm``)."""
    return JiraServiceManagement(parse_settings(name, settings), clock)
