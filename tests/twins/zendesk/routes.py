"""The Zendesk twin's HTTP surface: authentication, rate limits, routes and error shapes.

- Base path ``/api/v2/...``, a ``.json`` suffix optional (spec ``servers``; the spec's own
  example URLs end in ``.json``).
- Rate limits (developer.zendesk.com/api-reference/introduction/rate-limits; psa-apis.md
  section 3.6): an account-wide budget per minute (200 on the Team plan), and 10 requests
  per minute shared by the incremental endpoints (30 with the High Volume add-on;
  incremental exports page "Rate limits"). Every answer carries ``X-Rate-Limit`` and
  ``X-Rate-Limit-Remaining``; ticket and user endpoints add ``ratelimit-limit``,
  ``ratelimit-remaining``, ``ratelimit-reset`` (best-practices-for-avoiding-rate-limiting).
  A 429 carries ``Retry-After``: the account one as ``text/plain`` "Number of allowed API
  requests per minute exceeded" [3p: support.zendesk.com community post 4600766234138,
  headers and 50-byte body shown], the incremental one as the spec's JSON ``errors`` list
  (``/api/v2/incremental/custom_objects/{custom_object_key}/cursor`` 429 example).
- The incremental exports are for admins only; an agent gets 403 (spec "Allowed For:
  Admins"; psa-apis.md section 3.2).
- Lists (audits, comments) use cursor pagination with ``page[size]``/``page[after]``
  answering ``meta.has_more``/``after_cursor`` and ``links.next``, or offset pagination
  with ``page``/``per_page`` answering ``next_page``/``previous_page``/``count``; at most 100
  per page (spec ``ListAuditsForTicket``, ``ListTicketComments``, ``CursorPaginationPage``,
  the ``Pagination`` schema).
- Show Multiple Tickets (``/api/v2/tickets/show_many?ids=``, spec ``TicketsShowMany``)
  answers up to 100 tickets, leaving out ids it has no live ticket for.
- Merging answers a ``job_status`` (spec ``MergeTicketsIntoTargetTicket``); deleting answers
  204 (spec ``DeleteTicket``).
- Injected 500/503 use the spec's ``{"error": "InternalServerError"}`` shape
  (``ErrorInternalServerErrorExample``); a 503 carries ``Retry-After``
  (developer.zendesk.com/api-reference/introduction/requests, 500 range).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from tests.twins.clock import Clock
from tests.twins.faults import FaultKind
from tests.twins.ratelimit import SlidingWindow
from tests.twins.zendesk import exports
from tests.twins.zendesk.auth import Authenticator, Principal
from tests.twins.zendesk.model import ZendeskError, ZendeskState, not_found
from tests.twins.zendesk.render import (
    render_anonymous,
    render_audit,
    render_comment,
    render_custom_status,
    render_ticket,
    render_user,
)

__all__ = ["ZendeskApp", "zendesk_fault_response"]

Handler = Callable[[Request, Principal, Mapping[str, str]], Awaitable[Response]]
LIST_MAX = 100


def zendesk_fault_response(
    kind: FaultKind, retry_after: int
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    if kind is FaultKind.RATE_LIMIT:
        body = b"Number of allowed API requests per minute exceeded"
        return (
            429,
            [(b"content-type", b"text/plain"), (b"retry-after", str(retry_after).encode())],
            body,
        )
    headers = [(b"content-type", b"application/json; charset=utf-8")]
    if kind is FaultKind.CONFLICT:  # the safe-update answer (model.py _check_stamp)
        text = json.dumps({"error": "UpdateConflict", "description": "Safe Update prevented"})
        return 409, headers, text.encode()
    if kind is FaultKind.UNAVAILABLE:
        headers.append((b"retry-after", str(retry_after).encode()))
        text = json.dumps({"error": "ServiceUnavailable", "description": "Service Unavailable"})
        return 503, headers, text.encode()
    return 500, headers, json.dumps({"error": "InternalServerError"}).encode()


def _forbidden_admin() -> ZendeskError:
    # [3p: the Zendesk 403 body commonly quoted for non-admin export calls; verify]
    return ZendeskError(
        403,
        {
            "error": "Forbidden",
            "description": "You do not have access to this page. Please contact the account "
            "owner of this help desk for further help.",
        },
    )


def _encode(item_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": item_id}).encode()).decode()


def _decode(cursor: str) -> int:
    try:
        return int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ZendeskError(
            400, {"error": "InvalidPaginationParameter", "description": "cursor"}
        ) from exc


def paginate(
    items: Sequence[dict[str, Any]], params: Mapping[str, str], url: str, key: str
) -> dict[str, Any]:
    """Cursor pagination when any ``page[...]`` is given, else offset pagination."""
    if any(k.startswith("page[") for k in params):
        size = max(1, min(int(params.get("page[size]", LIST_MAX)), LIST_MAX))
        start = 0
        if "page[after]" in params:
            after = _decode(params["page[after]"])
            ids = [item["id"] for item in items]
            start = ids.index(after) + 1 if after in ids else len(items)
        page = list(items[start : start + size])
        has_more = start + size < len(items)
        after_cursor = _encode(page[-1]["id"]) if page else None
        before_cursor = _encode(page[0]["id"]) if page else None
        keep = {k: v for k, v in params.items() if not k.startswith("page[")}
        nxt = (
            urlencode({**keep, "page[size]": size, "page[after]": after_cursor})
            if has_more
            else None
        )
        return {
            key: page,
            "meta": {
                "has_more": has_more,
                "after_cursor": after_cursor,
                "before_cursor": before_cursor,
            },
            "links": {"next": f"{url}?{nxt}" if nxt else None, "prev": None},
        }
    number = max(1, int(params.get("page", 1)))
    per_page = max(1, min(int(params.get("per_page", LIST_MAX)), LIST_MAX))
    page = list(items[(number - 1) * per_page : number * per_page])
    keep = {k: v for k, v in params.items() if k != "page"}

    def link(n: int) -> str:
        return f"{url}?{urlencode({**keep, 'page': n})}"

    return {
        key: page,
        "next_page": link(number + 1) if number * per_page < len(items) else None,
        "previous_page": link(number - 1) if number > 1 else None,
        "count": len(items),
    }


class ZendeskApp:
    """The vendor app the ``TwinMiddleware`` wraps."""

    def __init__(
        self,
        state: ZendeskState,
        auth: Authenticator,
        clock: Clock,
        *,
        account_limit: int,
        incremental_limit: int,
        export_lag: float,
        export_page_size: int,
    ) -> None:
        self.state = state
        self.auth = auth
        self.clock = clock
        self.account = SlidingWindow(account_limit, clock)
        self.incremental = SlidingWindow(incremental_limit, clock)
        self.export_lag = export_lag
        self.export_page_size = export_page_size
        self._base = ""
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"^/api/v2/incremental/tickets/cursor$"), self.export_cursor),
            ("GET", re.compile(r"^/api/v2/incremental/tickets$"), self.export_time),
            ("GET", re.compile(r"^/api/v2/incremental/ticket_events$"), self.export_events),
            ("GET", re.compile(r"^/api/v2/tickets/show_many$"), self.show_many_tickets),
            ("GET", re.compile(r"^/api/v2/tickets/(?P<id>\d+)$"), self.show_ticket),
            ("PUT", re.compile(r"^/api/v2/tickets/(?P<id>\d+)$"), self.update_ticket),
            ("DELETE", re.compile(r"^/api/v2/tickets/(?P<id>\d+)$"), self.delete_ticket),
            ("GET", re.compile(r"^/api/v2/tickets/(?P<id>\d+)/audits$"), self.audits),
            ("GET", re.compile(r"^/api/v2/tickets/(?P<id>\d+)/comments$"), self.comments),
            ("POST", re.compile(r"^/api/v2/tickets/(?P<id>\d+)/merge$"), self.merge),
            ("PUT", re.compile(r"^/api/v2/tickets/(?P<id>\d+)/mark_as_spam$"), self.spam),
            ("GET", re.compile(r"^/api/v2/custom_statuses$"), self.custom_statuses),
            ("GET", re.compile(r"^/api/v2/custom_statuses/(?P<id>\d+)$"), self.custom_status),
            ("GET", re.compile(r"^/api/v2/users/me$"), self.me),
            ("GET", re.compile(r"^/api/v2/users/show_many$"), self.show_many_users),
            ("GET", re.compile(r"^/api/v2/users/search$"), self.search_users),
            ("GET", re.compile(r"^/api/v2/users/(?P<id>\d+)$"), self.show_user),
            ("GET", re.compile(r"^/api/v2/organizations/(?P<id>\d+)$"), self.show_organization),
        ]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        try:
            response = await self.dispatch(request)
        except ZendeskError as error:
            response = JSONResponse(error.body, error.status, headers=error.headers)
        if request.url.path.startswith("/api/"):
            self._rate_headers(response, request.url.path)
        await response(scope, receive, send)

    def _rate_headers(self, response: Response, path: str) -> None:
        remaining = str(self.account.remaining())
        response.headers["X-Rate-Limit"] = str(self.account.limit)
        response.headers["X-Rate-Limit-Remaining"] = remaining
        if path.startswith(("/api/v2/tickets", "/api/v2/users")):
            response.headers["ratelimit-limit"] = str(self.account.limit)
            response.headers["ratelimit-remaining"] = remaining
            response.headers["ratelimit-reset"] = str(self.account.reset_in())

    @property
    def base(self) -> str:
        return self._base

    async def dispatch(self, request: Request) -> Response:
        self._base = str(request.base_url).rstrip("/")
        path = request.url.path.removesuffix(".json")
        state = request.scope.setdefault("state", {})
        if path == "/oauth/tokens" and request.method == "POST":
            return await self.token(request)
        principal = self.auth.authenticate(request.headers)
        state["twin.principal"] = principal.label
        handler, path_params = self._route(request.method, path)
        if principal.user_id is None and handler != self.me:
            raise ZendeskError(401, {"error": "Couldn't authenticate you"})
        if not self.account.try_acquire():
            return PlainTextResponse(
                "Number of allowed API requests per minute exceeded",
                429,
                headers={"Retry-After": str(self.account.retry_after())},
            )
        if path.startswith("/api/v2/incremental/"):
            if not self.incremental.try_acquire():
                title = (
                    f"Rate limit exceeded. Maximum {self.incremental.limit} requests per minute."
                )
                error = {"code": "RateLimitExceeded", "status": "429", "title": title}
                return JSONResponse(
                    {"errors": [error]},
                    429,
                    headers={"Retry-After": str(self.incremental.retry_after())},
                )
            if (
                principal.user_id is not None
                and self.state.users[principal.user_id].role != "admin"
            ):
                raise _forbidden_admin()
        self.auth.require_scope(principal, request.method, path)
        params = {**dict(request.query_params), **path_params}
        return await handler(request, principal, params)

    def _route(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        for verb, pattern, handler in self.routes:
            found = pattern.match(path)
            if found and verb == method:
                return handler, found.groupdict()
        raise ZendeskError(404, {"error": "InvalidEndpoint", "description": "Not found"})

    # -- OAuth ------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        try:
            if "application/x-www-form-urlencoded" in content_type:
                body: dict[str, Any] = dict(parse_qsl((await request.body()).decode()))
            else:
                body = json.loads(await request.body() or b"{}")
        except ValueError as exc:
            raise ZendeskError(
                400, {"error": "invalid_request", "error_description": "malformed body"}
            ) from exc
        request.scope["state"]["twin.principal"] = f"oauth-client:{body.get('client_id', '')}"
        return JSONResponse(self.auth.token_endpoint(body, request.headers), 201)

    # -- exports ----------------------------------------------------------------------

    def _window(self) -> exports.Window:
        return exports.Window(self.clock(), self.export_lag, self.base, self.export_page_size)

    async def export_cursor(
        self, request: Request, _p: Principal, params: Mapping[str, str]
    ) -> Response:
        body, exposed = exports.cursor_export(self.state, params, self._window())
        request.scope["state"]["twin.exposed"] = exposed
        return JSONResponse(body)

    async def export_time(
        self, request: Request, _p: Principal, params: Mapping[str, str]
    ) -> Response:
        body, exposed = exports.time_export(self.state, params, self._window())
        request.scope["state"]["twin.exposed"] = exposed
        return JSONResponse(body)

    async def export_events(
        self, _r: Request, _p: Principal, params: Mapping[str, str]
    ) -> Response:
        return JSONResponse(exports.ticket_events_export(self.state, params, self._window()))

    # -- tickets ----------------------------------------------------------------------

    async def show_ticket(self, _r: Request, _p: Principal, params: Mapping[str, str]) -> Response:
        with self.state.lock:
            ticket = self.state.live(int(params["id"]))
            body: dict[str, Any] = {"ticket": render_ticket(ticket, self.base)}
            body.update(
                exports.sideloads(self.state, params.get("include", ""), [ticket], self.base)
            )
        return JSONResponse(body)

    async def show_many_tickets(
        self, _r: Request, _p: Principal, params: Mapping[str, str]
    ) -> Response:
        """Up to 100 tickets by ``ids`` (spec ``TicketsShowMany``: "This endpoint will return
        up to 100 tickets records"); ids of tickets that never existed or were deleted are
        left out of the answer, as Show Many Users leaves out unknown users [assumed: the
        spec names no error for them]."""
        try:
            ids = [int(i) for i in params.get("ids", "").split(",") if i][:100]
        except ValueError as exc:
            raise ZendeskError(400, {"error": "InvalidValue", "description": "ids"}) from exc
        with self.state.lock:
            shown = [
                ticket
                for ticket in (self.state.tickets.get(tid) for tid in dict.fromkeys(ids))
                if ticket is not None and ticket.deleted_at is None
            ]
            body: dict[str, Any] = {
                "tickets": [render_ticket(ticket, self.base) for ticket in shown],
                "next_page": None,
                "previous_page": None,
                "count": len(shown),
            }
            body.update(exports.sideloads(self.state, params.get("include", ""), shown, self.base))
        return JSONResponse(body)

    async def update_ticket(
        self, request: Request, principal: Principal, params: Mapping[str, str]
    ) -> Response:
        try:
            payload = json.loads(await request.body())
            fields = payload["ticket"]
            if not isinstance(fields, dict):
                raise TypeError("ticket")
        except (ValueError, KeyError, TypeError) as exc:
            raise ZendeskError(
                400, {"error": "InvalidValue", "description": "ticket is required"}
            ) from exc
        assert principal.user_id is not None
        with self.state.lock:
            ticket, audit = self.state.update(
                int(params["id"]),
                fields,
                author_id=principal.user_id,
                request=request.scope["state"].get("twin.seq"),
                principal=principal.label,
            )
            body: dict[str, Any] = {"ticket": render_ticket(ticket, self.base)}
            if audit is not None:
                body["audit"] = render_audit(audit)
        return JSONResponse(body)

    async def delete_ticket(
        self, request: Request, principal: Principal, params: Mapping[str, str]
    ) -> Response:
        self.state.delete(
            int(params["id"]),
            request=request.scope["state"].get("twin.seq"),
            principal=principal.label,
        )
        return Response(status_code=204)

    async def spam(
        self, request: Request, principal: Principal, params: Mapping[str, str]
    ) -> Response:
        self.state.mark_spam(
            int(params["id"]),
            request=request.scope["state"].get("twin.seq"),
            principal=principal.label,
        )
        return JSONResponse("Ticket marked as spam")

    async def merge(
        self, request: Request, principal: Principal, params: Mapping[str, str]
    ) -> Response:
        try:
            data = json.loads(await request.body())
            ids = [int(i) for i in data["ids"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise ZendeskError(
                400, {"error": "InvalidValue", "description": "ids is required"}
            ) from exc
        assert principal.user_id is not None
        self.state.merge(
            int(params["id"]),
            ids,
            author_id=principal.user_id,
            target_comment=data.get("target_comment"),
            source_comment=data.get("source_comment"),
            target_public=bool(data.get("target_comment_is_public", False)),
            source_public=bool(data.get("source_comment_is_public", False)),
            request=request.scope["state"].get("twin.seq"),
            principal=principal.label,
        )
        job = {
            "id": f"merge-{params['id']}-{'-'.join(map(str, ids))}",
            "status": "completed",
            "progress": len(ids),
            "total": len(ids),
            "message": "Completed",
            "results": [
                {"action": "update", "id": i, "status": "Updated", "success": True} for i in ids
            ],
        }
        return JSONResponse({"job_status": job})

    def _users_sideload(self, ids: set[int]) -> list[dict[str, Any]]:
        return [
            render_user(self.state.users[u], self.base)
            for u in sorted(ids)
            if u in self.state.users
        ]

    @staticmethod
    def _descending(params: Mapping[str, str]) -> bool:
        return params.get("sort_order") == "desc" or params.get("sort", "").startswith("-")

    async def audits(self, request: Request, _p: Principal, params: Mapping[str, str]) -> Response:
        with self.state.lock:
            ticket = self.state.live(int(params["id"]))
            items = [render_audit(a) for a in ticket.audits]
        if self._descending(params):
            items.reverse()
        body = paginate(items, _query(params), f"{self.base}{request.url.path}", "audits")
        if "users" in params.get("include", ""):
            ids = {a["author_id"] for a in body["audits"]}
            ids |= {
                e["author_id"]
                for a in body["audits"]
                for e in a["events"]
                if e["type"] == "Comment"
            }
            with self.state.lock:
                body["users"] = self._users_sideload(ids)
        return JSONResponse(body)

    async def comments(
        self, request: Request, _p: Principal, params: Mapping[str, str]
    ) -> Response:
        with self.state.lock:
            ticket = self.state.live(int(params["id"]))
            items = [render_comment(c) for c in ticket.comments]
        if self._descending(params):
            items.reverse()
        body = paginate(items, _query(params), f"{self.base}{request.url.path}", "comments")
        if "users" in params.get("include", ""):
            with self.state.lock:
                body["users"] = self._users_sideload({c["author_id"] for c in body["comments"]})
        return JSONResponse(body)

    # -- directory --------------------------------------------------------------------

    async def custom_statuses(
        self, _r: Request, _p: Principal, params: Mapping[str, str]
    ) -> Response:
        categories = {c for c in params.get("status_categories", "").split(",") if c}
        with self.state.lock:
            found = [
                render_custom_status(s, self.base)
                for s in self.state.statuses.values()
                if (not categories or s.category in categories)
                and ("active" not in params or str(s.active).lower() == params["active"])
                and ("default" not in params or str(s.default).lower() == params["default"])
            ]
        return JSONResponse({"custom_statuses": found})

    async def custom_status(
        self, _r: Request, _p: Principal, params: Mapping[str, str]
    ) -> Response:
        with self.state.lock:
            status = self.state.statuses.get(int(params["id"]))
            if status is None:
                raise not_found()
            return JSONResponse({"custom_status": render_custom_status(status, self.base)})

    async def me(self, _r: Request, principal: Principal, _params: Mapping[str, str]) -> Response:
        if principal.user_id is None:
            return JSONResponse({"user": render_anonymous()})
        with self.state.lock:
            return JSONResponse(
                {"user": render_user(self.state.users[principal.user_id], self.base)}
            )

    async def show_user(self, _r: Request, _p: Principal, params: Mapping[str, str]) -> Response:
        with self.state.lock:
            user = self.state.users.get(int(params["id"]))
            if user is None:
                raise not_found()
            return JSONResponse({"user": render_user(user, self.base)})

    async def show_many_users(
        self, _r: Request, _p: Principal, params: Mapping[str, str]
    ) -> Response:
        try:
            ids = [int(i) for i in params.get("ids", "").split(",") if i][:100]
        except ValueError as exc:
            raise ZendeskError(400, {"error": "InvalidValue", "description": "ids"}) from exc
        with self.state.lock:
            return JSONResponse({"users": self._users_sideload(set(ids))})

    async def search_users(self, _r: Request, _p: Principal, params: Mapping[str, str]) -> Response:
        query = params.get("query", "").strip().strip('"').lower()
        query = query.removeprefix("email:")
        with self.state.lock:
            found = [
                render_user(u, self.base)
                for u in self.state.users.values()
                if query and (query == u.email or query in u.name.lower())
            ]
        return JSONResponse(
            {"users": found, "next_page": None, "previous_page": None, "count": len(found)}
        )

    async def show_organization(
        self, _r: Request, _p: Principal, params: Mapping[str, str]
    ) -> Response:
        oid = int(params["id"])
        with self.state.lock:
            if oid not in self.state.organizations:
                raise not_found()
            name = self.state.organizations[oid]
        return JSONResponse(
            {
                "organization": {
                    "id": oid,
                    "name": name,
                    "url": f"{self.base}/api/v2/organizations/{oid}.json",
                }
            }
        )


def _query(params: Mapping[str, str]) -> dict[str, str]:
    """The query parameters only (the route's path parameters removed)."""
    return {k: v for k, v in params.items() if k != "id"}
