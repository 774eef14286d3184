"""The Jira twin's HTTP surface: site URL and gateway paths, search, issues, comments.

- Two roots (psa-apis.md "Corrections"): the site, ``/rest/...``, for personal API tokens,
  and the gateway ``/ex/jira/{cloudId}/rest/...`` for service accounts (scoped API tokens,
  OAuth access tokens); the token endpoint ``/oauth/token`` stands in for
  ``https://auth.atlassian.com/oauth/token``.
- Enhanced search ``GET``/``POST /rest/api/3/search/jql`` (spec; psa-apis.md "Corrections"):
  ``jql``, ``fields``, ``expand=changelog``, ``maxResults`` (at most 100 issues a page when
  fields are asked for [verify]), ``nextPageToken``/``isLast``; the embedded changelog holds
  **at most 40 histories** per issue, the newest, newest first, and its ``total`` says only
  how many it holds, so it cannot tell a truncated changelog (psa-apis.md: "returns at most 40
  changelog entries per issue ... do not rely on changelog.total" [verify the total]).
- ``GET /rest/api/3/issue/{key}`` (``fields``, ``expand=changelog``: up to 100 histories, the
  real ``total``), ``/changelog`` paged with ``startAt``/``maxResults`` (at most 100), oldest
  first, ``isLast``; ``PUT /rest/api/3/issue/{key}`` (``fields``: priority, assignee, labels;
  ``update.labels [{add}]``) and ``/assignee`` answer 204; ``/rest/servicedeskapi/request/{key}
  /comment`` GET (``start``/``limit``/``isLastPage``) and POST (201); ``/myself``, ``/field``,
  ``/rest/servicedeskapi/servicedesk``, ``POST /search/approximate-count``,
  ``/user/search`` (spec paths of ``jira-combined.json``).
- Rate limits: beyond a budget, 429 with ``Retry-After`` (developer.atlassian.com
  "Rate limiting"; psa-apis.md section 2.6).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.twins.clock import Clock
from tests.twins.faults import FaultKind
from tests.twins.jira_sm.auth import Caller, JiraAuth
from tests.twins.jira_sm.jql import JqlError, parse_jql
from tests.twins.jira_sm.model import (
    CATEGORY_NAMES,
    ORGANIZATIONS_FIELD,
    Issue,
    JiraError,
    JiraState,
    jira_time,
)
from tests.twins.ratelimit import SlidingWindow

__all__ = ["EMBEDDED_CHANGELOG_CAP", "JiraApp", "jira_fault_response"]

EMBEDDED_CHANGELOG_CAP = 40
ISSUE_CHANGELOG_CAP = 100
SEARCH_PAGE = 100
Handler = Callable[[Request, Caller, Mapping[str, str]], Awaitable[Response]]
_GATEWAY = re.compile(r"^/ex/jira/(?P<cloud>[^/]+)(?P<rest>/rest/.*)$")


def jira_fault_response(
    kind: FaultKind, retry_after: int
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    headers = [(b"content-type", b"application/json;charset=UTF-8")]
    status = {FaultKind.RATE_LIMIT: 429, FaultKind.UNAVAILABLE: 503, FaultKind.CONFLICT: 409}
    code = status.get(kind, 500)
    if code in (429, 503):
        headers.append((b"retry-after", str(retry_after).encode()))
    message = {409: "The issue was changed by another user", 429: "Rate limit exceeded"}
    body = {"errorMessages": [message.get(code, "Internal server error")], "errors": {}}
    return code, headers, json.dumps(body).encode()


def _listed(values: list[str]) -> list[str]:
    """``fields`` given repeated or comma-separated (both are accepted by Jira)."""
    return [f.strip() for value in values for f in value.split(",") if f.strip()]


def _millis(instant: float) -> dict[str, Any]:
    return {
        "iso8601": datetime.fromtimestamp(instant, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "jira": jira_time(instant),
        "epochMillis": int(instant * 1000),
    }


class JiraApp:
    """The vendor app the ``TwinMiddleware`` wraps."""

    def __init__(
        self,
        state: JiraState,
        auth: JiraAuth,
        clock: Clock,
        *,
        cloud_id: str,
        requests_per_minute: int,
    ) -> None:
        self.state = state
        self.auth = auth
        self.clock = clock
        self.cloud_id = cloud_id
        self.budget = SlidingWindow(requests_per_minute, clock)
        self.routes: list[tuple[str, re.Pattern[str], str, Handler]] = [
            ("GET", re.compile(r"^/rest/api/3/search/jql$"), "read:jira-work", self.search),
            ("POST", re.compile(r"^/rest/api/3/search/jql$"), "read:jira-work", self.search),
            (
                "POST",
                re.compile(r"^/rest/api/3/search/approximate-count$"),
                "read:jira-work",
                self.count,
            ),
            (
                "GET",
                re.compile(r"^/rest/api/3/issue/(?P<key>[^/]+)$"),
                "read:jira-work",
                self.issue,
            ),
            (
                "PUT",
                re.compile(r"^/rest/api/3/issue/(?P<key>[^/]+)$"),
                "write:jira-work",
                self.edit,
            ),
            (
                "PUT",
                re.compile(r"^/rest/api/3/issue/(?P<key>[^/]+)/assignee$"),
                "write:jira-work",
                self.assignee,
            ),
            (
                "GET",
                re.compile(r"^/rest/api/3/issue/(?P<key>[^/]+)/changelog$"),
                "read:jira-work",
                self.changelog,
            ),
            ("GET", re.compile(r"^/rest/api/3/myself$"), "read:jira-user", self.myself),
            ("GET", re.compile(r"^/rest/api/3/user/search$"), "read:jira-user", self.users),
            ("GET", re.compile(r"^/rest/api/3/field$"), "read:jira-work", self.fields),
            (
                "GET",
                re.compile(r"^/rest/servicedeskapi/servicedesk$"),
                "read:servicedesk-request",
                self.desks,
            ),
            (
                "GET",
                re.compile(r"^/rest/servicedeskapi/request/(?P<key>[^/]+)/comment$"),
                "read:servicedesk-request",
                self.comments,
            ),
            (
                "POST",
                re.compile(r"^/rest/servicedeskapi/request/(?P<key>[^/]+)/comment$"),
                "write:servicedesk-request",
                self.post_comment,
            ),
        ]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        try:
            response = await self.dispatch(request)
        except JiraError as error:
            response = JSONResponse(error.body, error.status, headers=error.headers)
        await response(scope, receive, send)

    async def _body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        if "application/x-www-form-urlencoded" in request.headers.get("content-type", ""):
            return dict(parse_qsl(raw.decode()))
        try:
            found = json.loads(raw)
        except ValueError as exc:
            raise JiraError(400, "Unexpected character in the JSON body") from exc
        return found if isinstance(found, dict) else {}

    async def dispatch(self, request: Request) -> Response:
        path = request.url.path
        if path == "/oauth/token" and request.method == "POST":
            state = request.scope.setdefault("state", {})
            body = await self._body(request)
            state["twin.principal"] = f"oauth-client:{body.get('client_id', '')}"
            return JSONResponse(self.auth.token_endpoint(body))
        gateway = _GATEWAY.match(path)
        if gateway is not None:
            if gateway["cloud"] != self.cloud_id:
                raise JiraError(404, "Site not found")
            path = gateway["rest"]
        caller = self.auth.authenticate(request.headers, gateway=gateway is not None)
        request.scope.setdefault("state", {})["twin.principal"] = caller.label
        if not self.budget.try_acquire():
            raise JiraError(
                429, "Rate limit exceeded", headers={"Retry-After": str(self.budget.retry_after())}
            )
        for verb, pattern, scope, handler in self.routes:
            found = pattern.match(path)
            if found and verb == request.method:
                self.auth.require(caller, scope)
                params = {**dict(request.query_params), **found.groupdict()}
                return await handler(request, caller, params)
        raise JiraError(404, f"No route for {request.method} {path}")

    # -- rendering --------------------------------------------------------------------

    def render(self, issue: Issue, fields: list[str], *, changelog: int | None) -> dict[str, Any]:
        users = self.state.users
        everything = {
            "summary": issue.summary,
            "description": {
                "type": "doc",
                "version": 1,
                "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": issue.summary}]}
                ],
            },
            "status": {
                "name": issue.status,
                "statusCategory": {"key": issue.category, "name": CATEGORY_NAMES[issue.category]},
            },
            "priority": {"name": issue.priority},
            "assignee": users[issue.assignee].ref() if issue.assignee else None,
            "reporter": users[issue.reporter].ref(),
            "created": jira_time(issue.created),
            "updated": jira_time(issue.updated),
            "resolutiondate": jira_time(issue.resolved) if issue.resolved else None,
            "labels": list(issue.labels),
            "comment": {
                "comments": [
                    {
                        "id": str(c.id),
                        "author": users[c.author].ref(),
                        "body": {
                            "type": "doc",
                            "version": 1,
                            "content": [
                                {"type": "paragraph", "content": [{"type": "text", "text": c.body}]}
                            ],
                        },
                        "created": jira_time(c.created),
                        "jsdPublic": c.public,
                    }
                    for c in issue.comments
                ],
                "total": len(issue.comments),
                "maxResults": len(issue.comments),
                "startAt": 0,
            },
            "project": {
                "id": self.state.projects[issue.project]["id"],
                "key": issue.project,
                "name": self.state.projects[issue.project]["name"],
                "projectTypeKey": "service_desk",
            },
            ORGANIZATIONS_FIELD: [
                {"id": str(n), "name": o} for n, o in enumerate(issue.organizations, 1)
            ],
        }
        wanted = (
            everything
            if "*all" in fields
            else {k: everything[k] for k in fields if k in everything}
        )
        body: dict[str, Any] = {"id": str(issue.id), "key": issue.key, "fields": wanted}
        if changelog is not None:
            newest = list(reversed(issue.histories))[:changelog]
            total = len(newest) if changelog == EMBEDDED_CHANGELOG_CAP else len(issue.histories)
            body["changelog"] = {
                "startAt": 0,
                "maxResults": len(newest),
                "total": total,
                "histories": newest,
            }
        return body

    # -- search -----------------------------------------------------------------------

    def _zone(self, caller: Caller) -> ZoneInfo:
        user = self.state.users.get(caller.account_id)
        return ZoneInfo(user.time_zone if user else "UTC")

    async def search(self, request: Request, caller: Caller, params: Mapping[str, str]) -> Response:
        args: dict[str, Any] = dict(params)
        if request.method == "POST":
            args.update(await self._body(request))
            fields = args.get("fields") or ["id"]
        else:
            fields = _listed(request.query_params.getlist("fields")) or ["id"]
        expand = str(args.get("expand") or "")
        size = max(1, min(int(args.get("maxResults", 50)), SEARCH_PAGE))
        try:
            query = parse_jql(
                str(args.get("jql", "")), self._zone(caller), self.state.known_project
            )
        except JqlError as exc:
            raise JiraError(400, *exc.messages) from exc
        with self.state.lock:
            found = [i for i in self.state.visible() if query.where(self._row(i))]
            found.sort(
                key=lambda i: (getattr(i, query.order_field, i.key), i.id),
                reverse=query.descending,
            )
            offset = int(args.get("nextPageToken") or 0)
            page = found[offset : offset + size]
            cap = EMBEDDED_CHANGELOG_CAP if "changelog" in expand else None
            body: dict[str, Any] = {
                "issues": [self.render(i, list(fields), changelog=cap) for i in page],
                "isLast": offset + size >= len(found),
            }
        if not body["isLast"]:
            body["nextPageToken"] = str(offset + size)
        return JSONResponse(body)

    @staticmethod
    def _row(issue: Issue) -> dict[str, Any]:
        return {
            "key": issue.key,
            "former_keys": issue.former_keys,
            "project": issue.project,
            "status": issue.status,
            "category": issue.category,
            "updated": issue.updated,
            "created": issue.created,
        }

    async def count(self, request: Request, caller: Caller, _p: Mapping[str, str]) -> Response:
        body = await self._body(request)
        try:
            query = parse_jql(
                str(body.get("jql", "")), self._zone(caller), self.state.known_project
            )
        except JqlError as exc:
            raise JiraError(400, *exc.messages) from exc
        with self.state.lock:
            total = sum(1 for i in self.state.visible() if query.where(self._row(i)))
        return JSONResponse({"count": total})

    # -- issues -----------------------------------------------------------------------

    async def issue(self, request: Request, _c: Caller, params: Mapping[str, str]) -> Response:
        fields = _listed(request.query_params.getlist("fields")) or ["*all"]
        cap = ISSUE_CHANGELOG_CAP if "changelog" in params.get("expand", "") else None
        with self.state.lock:
            return JSONResponse(self.render(self.state.find(params["key"]), fields, changelog=cap))

    async def edit(self, request: Request, caller: Caller, params: Mapping[str, str]) -> Response:
        body = await self._body(request)
        values: dict[str, Any] = {}
        fields = body.get("fields") or {}
        if isinstance(fields.get("priority"), Mapping):
            values["priority"] = fields["priority"].get("name")
        if "assignee" in fields:
            assignee = fields["assignee"]
            values["assignee"] = (
                assignee.get("accountId") if isinstance(assignee, Mapping) else None
            )
        if isinstance(fields.get("labels"), list):
            values["labels"] = fields["labels"]
        added = [
            op["add"]
            for op in (body.get("update") or {}).get("labels", ())
            if isinstance(op, Mapping) and "add" in op
        ]
        self.state.change(
            params["key"],
            values,
            by=caller.account_id,
            labels_added=added,
            request=request.scope["state"].get("twin.seq"),
            principal=caller.label,
        )
        return Response(status_code=204)

    async def assignee(
        self, request: Request, caller: Caller, params: Mapping[str, str]
    ) -> Response:
        body = await self._body(request)
        self.state.change(
            params["key"],
            {"assignee": body.get("accountId")},
            by=caller.account_id,
            request=request.scope["state"].get("twin.seq"),
            principal=caller.label,
        )
        return Response(status_code=204)

    async def changelog(self, _r: Request, _c: Caller, params: Mapping[str, str]) -> Response:
        start = max(0, int(params.get("startAt", 0)))
        size = max(1, min(int(params.get("maxResults", 100)), ISSUE_CHANGELOG_CAP))
        with self.state.lock:
            histories = self.state.find(params["key"]).histories
            page = histories[start : start + size]
            return JSONResponse(
                {
                    "startAt": start,
                    "maxResults": size,
                    "total": len(histories),
                    "isLast": start + size >= len(histories),
                    "values": page,
                }
            )

    # -- service desk, people ---------------------------------------------------------

    async def comments(self, _r: Request, _c: Caller, params: Mapping[str, str]) -> Response:
        start = max(0, int(params.get("start", 0)))
        limit = max(1, min(int(params.get("limit", 100)), 100))
        with self.state.lock:
            issue = self.state.find(params["key"])
            items = [self._dto(issue, c) for c in issue.comments]
        page = items[start : start + limit]
        return JSONResponse(
            {
                "size": len(page),
                "start": start,
                "limit": limit,
                "isLastPage": start + limit >= len(items),
                "values": page,
            }
        )

    def _dto(self, issue: Issue, comment: Any) -> dict[str, Any]:
        author = self.state.users[comment.author].ref()
        author.pop("accountType")  # servicedeskapi authors carry no account type (spec)
        return {
            "id": str(comment.id),
            "body": comment.body,
            "public": comment.public,
            "author": author,
            "created": _millis(comment.created),
        }

    async def post_comment(
        self, request: Request, caller: Caller, params: Mapping[str, str]
    ) -> Response:
        body = await self._body(request)
        with self.state.lock:
            issue = self.state.find(params["key"])
            note = self.state.comment(
                issue.key,
                str(body.get("body") or ""),
                by=caller.account_id,
                public=body.get("public", True) is not False,
                request=request.scope["state"].get("twin.seq"),
                principal=caller.label,
            )
            return JSONResponse(self._dto(issue, note), 201)

    async def myself(self, _r: Request, caller: Caller, _p: Mapping[str, str]) -> Response:
        return JSONResponse(self.state.users[caller.account_id].ref())

    async def users(self, _r: Request, _c: Caller, params: Mapping[str, str]) -> Response:
        query = params.get("query", "").casefold()
        with self.state.lock:
            found = [
                u.ref()
                for u in self.state.users.values()
                if query and (query == u.email.casefold() or query in u.name.casefold())
            ]
        return JSONResponse(found)

    async def fields(self, _r: Request, _c: Caller, _p: Mapping[str, str]) -> Response:
        return JSONResponse(
            [
                {"id": "summary", "name": "Summary", "custom": False, "schema": {"type": "string"}},
                {
                    "id": ORGANIZATIONS_FIELD,
                    "name": "Organizations",
                    "custom": True,
                    "schema": {
                        "type": "array",
                        "items": "sd-customerorganization",
                        "custom": "com.atlassian.servicedesk:sd-customer-organizations",
                    },
                },
            ]
        )

    async def desks(self, _r: Request, _c: Caller, _p: Mapping[str, str]) -> Response:
        with self.state.lock:
            values = [
                {"id": str(n), "projectId": p["id"], "projectKey": key, "projectName": p["name"]}
                for n, (key, p) in enumerate(self.state.projects.items(), 1)
                if not p["archived"]
            ]
        return JSONResponse(
            {"size": len(values), "start": 0, "limit": 100, "isLastPage": True, "values": values}
        )
