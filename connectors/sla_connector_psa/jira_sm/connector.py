"""Jira Service Management (Cloud) adapter: enhanced JQL polling, changelog history, write-back.

Reading. One enhanced search (``GET /rest/api/3/search/jql``) per page of up to 100 changed
issues, ordered by ``updated``, paged with ``nextPageToken``, with ``expand=changelog`` and
the ``comment`` field listed, so status, priority and reply history arrive in the change
feed itself: an idle poll costs one request, a busy one a page per 100 changed issues.
Only when an issue's embedded changelog or comment list is truncated does the adapter page
``/rest/api/3/issue/{key}/changelog`` or ``/rest/servicedeskapi/request/{key}/comment`` for
that issue (``history``). The window overlaps and versions are de-duplicated (``cursor``). The
API user's profile (``/rest/api/3/myself``, read once) gives the time zone JQL dates are
read in and the account whose own changes are not "human" priority changes.

Writing. Assignee by account id (``PUT /issue/{key}/assignee``; e-mails resolved through
``/rest/api/3/user/search`` and cached), priority and labels through ``PUT /issue/{key}``,
internal notes through the servicedeskapi (``public: false``); see ``write``. After an
ambiguous failure the adapter re-reads the issue and writes again only when the change
provably did not land.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from sla_connector.core.errors import FatalConnectorError, TicketError
from sla_connector.core.ports import CheckResult, Clock, PollPage, WriteResult
from sla_connector.core.ticket import Ticket
from sla_connector_psa.checks import CheckAdvice, verdict
from sla_connector_psa.http import (
    MalformedResponseError,
    NotFoundError,
    PsaHttp,
    UnmappedReporter,
)
from sla_connector_psa.jira_sm.cursor import JqlCursor, jql_quote, poll_jql
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

__all__ = ["JiraServiceManagement", "build"]

log = logging.getLogger("sla_connector_psa.jira_sm")

ORGANIZATIONS_FIELD_TYPE = "com.atlassian.servicedesk:sd-customer-organizations"
_SEARCH = "/rest/api/3/search/jql"


class JiraServiceManagement:
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
        token = base64.b64encode(f"{settings.email}:{settings.token}".encode()).decode("ascii")
        self._headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        self.unmapped = UnmappedReporter(settings.name)
        self._myself: Mapping[str, Any] | None = None
        self._client_field: str | None = None
        self._writer = JiraWriter(settings, self._get, self._send)

    # -- identity and field discovery -------------------------------------------------------

    async def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return await self.http.get_json(path, params=params, headers=self._headers)

    async def _send(self, method: str, path: str, body: Any) -> httpx.Response:
        return await self.http.send(method, path, json=body, headers=self._headers)

    async def _identity(self) -> Mapping[str, Any]:
        """The API user (``/myself``), read once per process."""
        if self._myself is None:
            data = await self._get("/rest/api/3/myself")
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
        name = (await self._identity()).get("timeZone")
        if isinstance(name, str) and name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning(
                    "connector %s: unknown profile time zone %r; using UTC", self.name, name
                )
        return ZoneInfo("UTC")

    async def _client_field_id(self) -> str:
        """The field holding the client: a field id, ``project``, or the Organizations field."""
        if self._client_field is not None:
            return self._client_field
        wanted = self.settings.client_field
        if wanted.lower() not in ("organization", "organizations"):
            self._client_field = wanted
        elif self.settings.organization_field:
            self._client_field = self.settings.organization_field
        else:
            fields = await self._get("/rest/api/3/field")
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
        me = await self._identity()
        return NormalizeContext(
            source=self.name,
            client_field=await self._client_field_id(),
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

    async def _normalize(self, issue: Any, ctx: NormalizeContext) -> Ticket:
        """One issue -> ticket, fetching its full history only where the feed truncated it."""
        key = issue_key(issue)
        histories = jsm_comments = None
        if key is not None and isinstance(issue, Mapping):
            try:
                if not changelog_is_complete(issue):
                    histories = await all_histories(self._get, key)
                if not comments_are_complete(issue):
                    jsm_comments = await all_jsm_comments(self._get, key)
            except NotFoundError as exc:  # deleted or moved since the search
                raise TicketError(f"issue {key}: {exc}") from exc
        return issue_to_ticket(issue, ctx, histories=histories, jsm_comments=jsm_comments)

    async def fetch_changed(self, since_cursor: str | None) -> AsyncIterator[PollPage]:
        """Pages of issues updated since the cursor (None: start-up full read)."""
        cursor: JqlCursor | None = None
        if since_cursor:
            try:
                cursor = JqlCursor.decode(since_cursor)
            except (ValueError, TypeError) as exc:
                log.warning(
                    "connector %s: unreadable cursor (%s); doing a full read", self.name, exc
                )
        ctx = await self._context()
        jql = poll_jql(
            self.settings.projects,
            cursor,
            zone=await self._zone(),
            overlap=self.settings.overlap,
            now=self.clock.now().astimezone(UTC),
            full_read_lookback=self.settings.full_read_lookback,
        )
        state = cursor or JqlCursor()
        token: str | None = None
        while True:
            params: dict[str, Any] = {
                "jql": jql,
                "maxResults": self.settings.page_size,
                "fields": self._fields(ctx),
                "expand": "changelog",
                "nextPageToken": token,
            }
            data = await self._get(_SEARCH, params)
            if not isinstance(data, Mapping) or not isinstance(data.get("issues", []), list):
                raise MalformedResponseError(
                    f"connector {self.name}: search answer has no issues list",
                    url=self.http.url(_SEARCH),
                )
            tickets: list[Ticket] = []
            rejected: list[tuple[str, str]] = []
            versions: list[tuple[str, datetime]] = []
            for issue in data.get("issues", []):
                key = issue_key(issue) or "?"
                try:
                    updated = issue_updated(issue)
                    if state.delivered(key, updated):
                        continue
                    versions.append((key, updated))
                    tickets.append(await self._normalize(issue, ctx))
                except TicketError as exc:
                    log.warning("connector %s: rejected issue %s: %s", self.name, key, exc)
                    rejected.append((key, str(exc)))
            state = state.advance(versions, self.settings.overlap)
            yield PollPage(tickets=tuple(tickets), cursor=state.encode(), rejected=tuple(rejected))
            next_token = data.get("nextPageToken")
            if data.get("isLast") is True or not isinstance(next_token, str) or not next_token:
                return
            token = next_token

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        """One issue by key, with its full history."""
        ctx = await self._context()
        issue = await self._get(
            issue_path(ticket_id), {"fields": self._fields(ctx), "expand": "changelog"}
        )
        return await self._normalize(issue, ctx)

    # -- writing (write.py) -------------------------------------------------------------------

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
        """Authenticate, confirm JSM agent access to the projects, count open issues."""
        projects = ", ".join(self.settings.projects)
        advice = CheckAdvice(
            credentials=lambda exc: (
                f"credentials rejected: check the e-mail and API token "
                f"in connectors.{self.name}.email_env/token_env ({exc})"
            ),
            permission=lambda exc: (
                "permission missing: the account must be a Jira Service "
                f"Management agent on {projects} ({exc})"
            ),
            wrong_url=lambda exc: (
                f"wrong URL: {self.http.base_url} does not serve the Jira "
                f"Cloud REST API; check connectors.{self.name}.base_url "
                f"or site ({exc})"
            ),
        )
        return await verdict(self._check, advice)

    async def _check(self) -> CheckResult:
        me = await self._identity()
        desks = await self._get("/rest/servicedeskapi/servicedesk", {"limit": 100})
        keys = (
            {str(d.get("projectKey")) for d in desks.get("values", []) if isinstance(d, Mapping)}
            if isinstance(desks, Mapping)
            else set()
        )
        missing = [p for p in self.settings.projects if p not in keys]
        scope = ", ".join(jql_quote(p) for p in self.settings.projects)
        counted = PsaHttp.decode(
            await self._send(
                "POST",
                "/rest/api/3/search/approximate-count",
                {"jql": f"project in ({scope}) AND statusCategory != Done"},
            )
        )
        client_field = await self._client_field_id()
        details: dict[str, Any] = {
            "account": me.get("displayName") or me.get("accountId"),
            "account_id": me.get("accountId"),
            "service_desks": sorted(keys),
            "client_field": client_field,
        }
        if isinstance(counted, Mapping) and isinstance(counted.get("count"), int):
            details["open_issues"] = counted["count"]
        if missing:
            return CheckResult(
                False,
                (
                    f"projects {', '.join(missing)} are not service desks this account can see "
                    f"(visible: {', '.join(sorted(keys)) or 'none'}); fix connectors.{self.name}"
                    ".projects or the account's agent access"
                ),
                details,
            )
        summary = f"authenticated as {details['account']}; {len(self.settings.projects)} project(s)"
        if "open_issues" in details:
            summary += f", about {details['open_issues']} open issues"
        return CheckResult(True, summary, details)

    async def aclose(self) -> None:
        """Close the HTTP client when this adapter built it."""
        await self.http.aclose()


def build(name: str, settings: Mapping[str, Any], clock: Clock) -> JiraServiceManagement:
    """The factory behind the entry point (``type: jira_sm``)."""
    return JiraServiceManagement(parse_settings(name, settings), clock)
