"""The ConnectWise twin's HTTP surface: authentication, paging, projection, routes, errors.

- Base path ``/{codebase}/apis/3.0`` (``v4_6_release``) on the tenant's host (psa-apis.md
  section 1.1).
- Authentication: HTTP Basic ``{companyId}+{publicKey}:{privateKey}`` of an API member, and
  the integration's ``clientId`` header on every request (spec: the header is ``required``
  on ``/service/tickets``; developer.connectwise.com/ClientID-testing); a wrong key answers
  401, a missing clientId 400 [verify the body].
- Rate limit: none is published; beyond a budget the tenant answers 429 with
  ``Retry-After`` (psa-apis.md section 1.6, "PSA-API-Requests" mirror).
- Lists: ``conditions`` (``conditions.py``), ``orderBy`` (``id``/``_info/lastUpdated``,
  ``asc``/``desc``), ``fields`` (a projection: only the listed paths come back), ``page`` +
  ``pageSize`` (default 25, at most 1000) with a ``Link`` header (``rel="next"``,
  ``rel="last"``), or forward-only ``pageId`` (``id > pageId``) (psa-apis.md section 1.2).
- Routes: ``/service/tickets`` (+ ``/count``, ``/{id}`` GET/PATCH/DELETE, ``/{id}/notes``
  GET/POST, ``/{id}/allNotes``), ``/system/audittrail?type=Ticket&id=``, ``/system/members``,
  ``/service/priorities``, ``/service/boards`` (+ ``/{id}/statuses``) (spec paths of
  ``connectwise-with-writes.json``; ``allNotes`` of service tickets from the 2025.1 spec as
  3p Jetbuilt/connect_wise ``docs/ServiceTicketNotesApi.md`` documents it).
- Responses use the vendor media type ``application/vnd.connectwise.com+json;
  version=2026.4`` (psa-apis.md section 1.1; spec response content types).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from tests.twins.clock import Clock
from tests.twins.connectwise.conditions import ConditionError, parse_conditions
from tests.twins.connectwise.model import API_AUDIT_SOURCE, ConnectWiseState, CwError, Member
from tests.twins.faults import FaultKind
from tests.twins.ratelimit import SlidingWindow

__all__ = ["BASE_PATH", "MEDIA_TYPE", "ConnectWiseApp", "connectwise_fault_response"]

BASE_PATH = "/v4_6_release/apis/3.0"
MEDIA_TYPE = "application/vnd.connectwise.com+json; version=2026.4"
MAX_PAGE = 1000
DEFAULT_PAGE = 25

Handler = Callable[[Request, Member, Mapping[str, str]], Awaitable[Response]]


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers=dict(headers or {}), media_type=MEDIA_TYPE)


def connectwise_fault_response(
    kind: FaultKind, retry_after: int
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    headers = [(b"content-type", MEDIA_TYPE.encode())]
    if kind is FaultKind.RATE_LIMIT:
        headers.append((b"retry-after", str(retry_after).encode()))
        body = {"code": "TooManyRequests", "message": "Too many requests", "errors": None}
        return 429, headers, json.dumps(body).encode()
    if kind is FaultKind.CONFLICT:
        body = {"code": "Conflict", "message": "The record was changed by another user"}
        return 409, headers, json.dumps(body).encode()
    if kind is FaultKind.UNAVAILABLE:
        headers.append((b"retry-after", str(retry_after).encode()))
        return 503, headers, json.dumps({"code": "ServiceUnavailable", "message": ""}).encode()
    body = {"code": "UnexpectedError", "message": "An unexpected error occurred"}
    return 500, headers, json.dumps(body).encode()


def project(record: Mapping[str, Any], fields: str | None) -> dict[str, Any]:
    """Only the listed paths (``id,board,_info/lastUpdated``); no ``fields``: everything."""
    if not fields:
        return dict(record)
    out: dict[str, Any] = {}
    for raw in fields.split(","):
        path = [p for p in raw.strip().split("/") if p]
        node: Any = record
        for part in path:
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is None or not path:
            continue
        target = out
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = node
    return out


def _order(items: list[dict[str, Any]], order_by: str | None) -> list[dict[str, Any]]:
    if not order_by:
        return sorted(items, key=lambda r: r.get("id", 0))
    field, _, direction = order_by.strip().partition(" ")

    def key(record: Mapping[str, Any]) -> Any:
        node: Any = record
        for part in field.split("/"):
            node = node.get(part) if isinstance(node, Mapping) else None
        if field.lower() == "lastupdated":
            node = record.get("_info", {}).get("lastUpdated")
        return (node is None, node if node is not None else "", record.get("id", 0))

    return sorted(items, key=key, reverse=direction.strip().lower() == "desc")


class ConnectWiseApp:
    """The vendor app the ``TwinMiddleware`` wraps."""

    def __init__(self, state: ConnectWiseState, clock: Clock, *, requests_per_minute: int) -> None:
        self.state = state
        self.clock = clock
        self.keys: dict[str, tuple[str, int]] = {}  # public key -> (private key, member id)
        self.client_ids: set[str] = set()
        # False: a server without the service tickets' allNotes (the 2026.4 GET spec in
        # api-specs lists only /project/tickets/{parentId}/allNotes): the route is unknown.
        self.all_notes_served = True
        self.budget = SlidingWindow(requests_per_minute, clock)
        p = re.escape(BASE_PATH)
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(rf"^{p}/service/tickets$"), self.tickets),
            ("GET", re.compile(rf"^{p}/service/tickets/count$"), self.count),
            ("GET", re.compile(rf"^{p}/service/tickets/(?P<id>\d+)$"), self.ticket),
            ("PATCH", re.compile(rf"^{p}/service/tickets/(?P<id>\d+)$"), self.patch),
            ("DELETE", re.compile(rf"^{p}/service/tickets/(?P<id>\d+)$"), self.delete),
            ("GET", re.compile(rf"^{p}/service/tickets/(?P<id>\d+)/notes$"), self.notes),
            ("POST", re.compile(rf"^{p}/service/tickets/(?P<id>\d+)/notes$"), self.post_note),
            ("GET", re.compile(rf"^{p}/service/tickets/(?P<id>\d+)/allNotes$"), self.all_notes),
            ("GET", re.compile(rf"^{p}/system/audittrail$"), self.audit),
            ("GET", re.compile(rf"^{p}/system/members$"), self.members),
            ("GET", re.compile(rf"^{p}/service/priorities$"), self.priorities),
            ("GET", re.compile(rf"^{p}/service/boards$"), self.boards),
            ("GET", re.compile(rf"^{p}/service/boards/(?P<id>\d+)/statuses$"), self.statuses),
        ]

    def add_api_key(self, public: str, private: str, member: int) -> None:
        self.keys[public] = (private, member)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        try:
            response = await self.dispatch(request)
        except CwError as error:
            response = _json(error.body, error.status)
        await response(scope, receive, send)

    def authenticate(self, request: Request) -> Member:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        unauthorized = CwError(401, "Unauthorized", "The credentials are not valid")
        if scheme.lower() != "basic":
            raise unauthorized
        try:
            user, _, private = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError) as exc:
            raise unauthorized from exc
        company, _, public = user.partition("+")
        known = self.keys.get(public)
        if company.lower() != self.state.company_id.lower() or known is None or known[0] != private:
            raise unauthorized
        if request.headers.get("clientid", "") not in self.client_ids:
            raise CwError(400, "InvalidClientId", "A valid clientId header is required")
        return self.state.members[known[1]]

    async def dispatch(self, request: Request) -> Response:
        member = self.authenticate(request)
        request.scope.setdefault("state", {})["twin.principal"] = f"api:{member.identifier}"
        if not self.budget.try_acquire():
            body = {"code": "TooManyRequests", "message": "Too many requests", "errors": None}
            return _json(body, 429, {"Retry-After": str(self.budget.retry_after())})
        for verb, pattern, handler in self.routes:
            found = pattern.match(request.url.path)
            if found and verb == request.method:
                params = {**dict(request.query_params), **found.groupdict()}
                return await handler(request, member, params)
        raise CwError(404, "NotFound", f"No route for {request.method} {request.url.path}")

    # -- lists ------------------------------------------------------------------------

    def _listing(
        self, request: Request, items: Sequence[dict[str, Any]], params: Mapping[str, str]
    ) -> Response:
        try:
            keep = parse_conditions(params.get("conditions"))
        except ConditionError as exc:
            raise CwError(400, "InvalidObject", f"conditions: {exc}") from exc
        found = _order([i for i in items if keep(i)], params.get("orderBy"))
        size = max(1, min(int(params.get("pageSize", DEFAULT_PAGE)), MAX_PAGE))
        if "pageId" in params:
            after = int(params["pageId"])
            page = [i for i in found if i.get("id", 0) > after][:size]
            links: dict[str, str] = {}
        else:
            number = max(1, int(params.get("page", 1)))
            page = found[(number - 1) * size : number * size]
            last = max(1, -(-len(found) // size))
            base = {k: v for k, v in request.query_params.items() if k != "page"}
            links = {"last": f"{request.url.path}?{urlencode({**base, 'page': last})}"}
            if number < last:
                links["next"] = f"{request.url.path}?{urlencode({**base, 'page': number + 1})}"
        header = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())
        body = [project(i, params.get("fields")) for i in page]
        return _json(body, headers={"Link": header} if header else None)

    async def tickets(self, request: Request, _m: Member, params: Mapping[str, str]) -> Response:
        with self.state.lock:
            items = [dict(r.data) for r in self.state.tickets.values()]
        return self._listing(request, items, params)

    async def count(self, _r: Request, _m: Member, params: Mapping[str, str]) -> Response:
        try:
            keep = parse_conditions(params.get("conditions"))
        except ConditionError as exc:
            raise CwError(400, "InvalidObject", f"conditions: {exc}") from exc
        with self.state.lock:
            found = sum(1 for r in self.state.tickets.values() if keep(r.data))
        return _json({"count": found})

    async def ticket(self, _r: Request, _m: Member, params: Mapping[str, str]) -> Response:
        with self.state.lock:
            return _json(project(self.state.live(int(params["id"])).data, params.get("fields")))

    async def patch(self, request: Request, member: Member, params: Mapping[str, str]) -> Response:
        try:
            operations = json.loads(await request.body())
        except ValueError as exc:
            raise CwError(400, "InvalidObject", "the body is not JSON") from exc
        data = self.state.patch(
            int(params["id"]),
            operations,
            by=member.identifier,
            source=API_AUDIT_SOURCE,
            request=request.scope["state"].get("twin.seq"),
            principal=f"api:{member.identifier}",
        )
        return _json(data)

    async def delete(self, _r: Request, member: Member, params: Mapping[str, str]) -> Response:
        self.state.delete(int(params["id"]), principal=f"api:{member.identifier}")
        return Response(status_code=204)

    async def notes(self, request: Request, _m: Member, params: Mapping[str, str]) -> Response:
        with self.state.lock:
            items = self.state.notes_of(int(params["id"]), with_time=False)
        return self._listing(request, items, params)

    async def all_notes(self, request: Request, _m: Member, params: Mapping[str, str]) -> Response:
        if not self.all_notes_served:
            raise CwError(404, "NotFound", f"No route for {request.method} {request.url.path}")
        with self.state.lock:
            items = self.state.notes_of(int(params["id"]), with_time=True)
        return self._listing(request, items, params)

    async def post_note(
        self, request: Request, member: Member, params: Mapping[str, str]
    ) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            raise CwError(400, "InvalidObject", "the body is not JSON") from exc
        note = self.state.add_note(
            int(params["id"]),
            body if isinstance(body, Mapping) else {},
            member=member.id,
            by=member.identifier,
            request=request.scope["state"].get("twin.seq"),
            principal=f"api:{member.identifier}",
        )
        return _json(note, 201)

    async def audit(self, request: Request, _m: Member, params: Mapping[str, str]) -> Response:
        if params.get("type") != "Ticket" or "id" not in params:
            raise CwError(400, "InvalidObject", "type=Ticket and id are required")
        with self.state.lock:
            entries = [dict(e) for e in self.state.live(int(params["id"])).audit]
        for number, entry in enumerate(entries, 1):
            entry["id"] = number  # the listing orders and pages by it
        keep = {k: v for k, v in params.items() if k not in ("type", "id")}
        return self._listing(request, entries, {"orderBy": "id asc", **keep})

    async def members(self, request: Request, _m: Member, params: Mapping[str, str]) -> Response:
        with self.state.lock:
            items = [
                {
                    "id": m.id,
                    "identifier": m.identifier,
                    "firstName": m.name.split()[0],
                    "lastName": m.name.split()[-1],
                    "primaryEmail": m.email,
                    "licenseClass": m.license_class,
                    "inactiveFlag": False,
                }
                for m in self.state.members.values()
            ]
        return self._listing(request, items, params)

    async def priorities(self, request: Request, _m: Member, params: Mapping[str, str]) -> Response:
        with self.state.lock:
            items = [dict(p) for p in self.state.priorities.values()]
        return self._listing(request, items, params)

    async def boards(self, request: Request, _m: Member, params: Mapping[str, str]) -> Response:
        with self.state.lock:
            items = [{"id": b.id, "name": b.name} for b in self.state.boards.values()]
        return self._listing(request, items, params)

    async def statuses(self, request: Request, _m: Member, params: Mapping[str, str]) -> Response:
        with self.state.lock:
            board = self.state.boards.get(int(params["id"]))
            if board is None:
                raise CwError(404, "NotFound", "Board not found")
            items = [dict(s) for s in board.statuses.values()]
        return self._listing(request, items, params)
