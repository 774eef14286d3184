"""The client portal: read-only pages per client under ``/portal/<client>/``.

A client reads its own figures here without help and without seeing anyone else's:
an overview (adherence per tier against the contract, this month's objectives and the
credit exposure so far), the 12-week trend, the breaches (no internal names or
addresses), and the archive of the evidence packs sent (``reports.archive_dir``, files
``<client>-monthly-<YYYY-MM>.pdf`` and ``<client>-quarterly-<YYYY>-Q<n>.pdf``) to
download. Each page has its JSON twin under ``/portal/<client>/api/``.

Who gets in (``identify``), in this order:

- ``Authorization: Bearer <token>``: the MSP's dashboard token sees every client; a
  client's portal token (``clients.<key>.portal.token_env``) sees that client only;
- a signed link ``?link=<expires>.<mac>`` (HMAC-SHA256 of the client and the expiry
  under ``dashboard.portal_link_key_env``; ``mint_link`` makes one for the report email),
  which sets a session cookie that ends when the link expires;
- the portal's session cookie (a link's, or one ``POST /portal/<client>/login`` sets
  after checking the client's token), holding an expiry and an HMAC, never a credential;
- the dashboard's session cookie (the MSP signed in to the dashboard);
- anyone, when the dashboard has no token (it then listens on loopback only).

A credential for one client asking for another client's page, JSON or file gets 404,
exactly as for a client that does not exist, so nothing tells it who else is there; a
missing, wrong, expired or tampered credential gets 401. Every request is logged on
``sla_connector.portal`` (who, what, the answer; the log line's time is when) without
the credential: the path is logged without its query string.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sla_connector.core.durations import format_seconds
from sla_connector.core.readmodel import BreachLine
from sla_connector.core.vocabulary import Vocabulary
from sla_connector.web.auth import TokenGuard
from sla_connector.web.data import DashboardSource
from sla_connector.web.exposure import Exposure
from sla_connector.web.figures import EvaluationCache, TierRow
from sla_connector.web.pages import Pages
from sla_connector.web.views import TrendPoint, build_client

__all__ = [
    "PORTAL_COOKIE",
    "Pack",
    "PortalSettings",
    "PortalView",
    "Visitor",
    "list_packs",
    "mint_link",
    "portal_gate",
    "sign_link",
]

log = logging.getLogger("sla_connector.portal")

PORTAL_COOKIE = "sla_portal"
SESSION_SECONDS = 12 * 3600
_MAX_FORM_BYTES = 8192
_PACK_RE = re.compile(r"(monthly)-(\d{4})-(0[1-9]|1[0-2])\.pdf|(quarterly)-(\d{4})-Q([1-4])\.pdf")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


@dataclass(frozen=True)
class PortalSettings:
    """The portal's credentials and archive, as plain values (the runtime reads them).

    ``tokens``: client key -> that client's portal token. ``link_key``: the key that signs
    expiring links (None: no links). ``clock``: wall time in seconds, for link expiry.
    """

    tokens: Mapping[str, str] = field(default_factory=dict)
    link_key: str | None = None
    archive_dir: Path | None = None
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        for client, token in self.tokens.items():
            if not token:
                raise ValueError(f"the portal token of client {client!r} is empty")
        if self.link_key is not None and not self.link_key:
            raise ValueError("the portal link key is empty")


# -- signed links --------------------------------------------------------------------------


def sign_link(key: str, client: str, expires: int) -> str:
    """The HMAC-SHA256 (hex) a link for ``client`` valid until ``expires`` carries."""
    message = f"portal-link:{client}:{expires}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def mint_link(base_url: str, client: str, key: str, *, expires: datetime | int) -> str:
    """A link to ``client``'s portal that opens it until ``expires`` (an aware datetime or
    UNIX seconds), for the report email: ``<base>/portal/<client>/?link=<expires>.<mac>``."""
    until = int(expires.timestamp()) if isinstance(expires, datetime) else int(expires)
    token = f"{until}.{sign_link(key, client, until)}"
    return f"{base_url.rstrip('/')}/portal/{quote(client, safe='')}/?link={token}"


def _link_verdict(key: str | None, client: str, value: str, now: float) -> str:
    """``ok``, ``expired`` or ``bad`` for a link (or link cookie) value ``<expires>.<mac>``."""
    expires_text, _, mac = value.partition(".")
    if key is None or not expires_text.isdigit() or not mac:
        return "bad"
    if not hmac.compare_digest(mac.encode(), sign_link(key, client, int(expires_text)).encode()):
        return "bad"
    return "expired" if int(expires_text) < now else "ok"


def _session_mac(token: str, client: str, expires: int) -> str:
    message = f"portal-session:{client}:{expires}".encode()
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()


# -- who is asking -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Visitor:
    """An identified caller: ``client`` None is the MSP (every client)."""

    who: str
    client: str | None
    cookie: str | None = None  # a session cookie to set (after a signed link)
    cookie_max_age: int = 0

    def may_see(self, client: str) -> bool:
        return self.client is None or self.client == client


class _Denied(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _cookie(headers: Headers, name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


class PortalAuth:
    """Turns a request's credentials into a ``Visitor`` (or raises ``_Denied``)."""

    def __init__(
        self,
        settings: PortalSettings,
        msp_token: str | None,
        msp_session: Callable[[Headers], bool] | None,
    ) -> None:
        self.settings = settings
        self.msp_token = msp_token
        self.msp_session = msp_session

    def identify(self, headers: Headers, query: str, client: str) -> Visitor:
        now = self.settings.clock()
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return self._bearer(value.strip())
        links = parse_qs(query).get("link")
        link = links[0] if links else None
        if link is not None:
            verdict = _link_verdict(self.settings.link_key, client, link, now)
            if verdict != "ok":
                raise _Denied(f"{verdict} link")
            expires = int(link.partition(".")[0])
            return Visitor(
                f"client {client} (signed link)",
                client,
                cookie=f"l.{quote(client, safe='')}.{link}",
                cookie_max_age=max(1, expires - int(now)),
            )
        session = _cookie(headers, PORTAL_COOKIE)
        if session:
            return self._session(session, now)
        if self.msp_session is not None and self.msp_session(headers):
            return Visitor("msp (dashboard session)", None)
        if self.msp_token is None:
            return Visitor("msp (open dashboard)", None)
        raise _Denied("no credential")

    def _bearer(self, given: str) -> Visitor:
        if self.msp_token is not None and hmac.compare_digest(
            given.encode(), self.msp_token.encode()
        ):
            return Visitor("msp (dashboard token)", None)
        for client, token in self.settings.tokens.items():
            if hmac.compare_digest(given.encode(), token.encode()):
                return Visitor(f"client {client} (portal token)", client)
        raise _Denied("wrong token")

    def _session(self, value: str, now: float) -> Visitor:
        kind, _, rest = value.partition(".")
        parts = rest.rsplit(".", 2)
        if len(parts) != 3:
            raise _Denied("bad session")
        client, expires_text, mac = unquote(parts[0]), parts[1], parts[2]
        if kind == "l":
            verdict = _link_verdict(self.settings.link_key, client, f"{expires_text}.{mac}", now)
            if verdict != "ok":
                raise _Denied(f"{verdict} link session")
            return Visitor(f"client {client} (signed link)", client)
        token = self.settings.tokens.get(client)
        if kind != "t" or token is None or not expires_text.isdigit():
            raise _Denied("bad session")
        expected = _session_mac(token, client, int(expires_text))
        if not hmac.compare_digest(mac.encode(), expected.encode()):
            raise _Denied("bad session")
        if int(expires_text) < now:
            raise _Denied("expired session")
        return Visitor(f"client {client} (portal token)", client)

    def login_cookie(self, client: str, given: str) -> tuple[str, int] | None:
        """The session cookie for a correct token typed into the login form, else None."""
        token = self.settings.tokens.get(client)
        if token is None or not hmac.compare_digest(given.encode(), token.encode()):
            return None
        expires = int(self.settings.clock()) + SESSION_SECONDS
        mac = _session_mac(token, client, expires)
        return f"t.{quote(client, safe='')}.{expires}.{mac}", SESSION_SECONDS


# -- what the client sees ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pack:
    """One evidence pack in the archive."""

    name: str
    kind: str
    period: str
    title: str
    bytes: int
    url: str


def list_packs(archive_dir: Path | None, client: str) -> list[Pack]:
    """The client's packs in ``archive_dir``, newest period first (only files named
    ``<client>-monthly-<YYYY-MM>.pdf`` or ``<client>-quarterly-<YYYY>-Q<n>.pdf``)."""
    if archive_dir is None or not archive_dir.is_dir():
        return []
    prefix = f"{client}-"
    found: list[tuple[str, Pack]] = []
    for path in archive_dir.iterdir():
        name = path.name
        if not name.startswith(prefix) or not path.is_file():
            continue
        match = _PACK_RE.fullmatch(name[len(prefix) :])
        if match is None:
            continue
        if match.group(1):
            year, month = match.group(2), match.group(3)
            kind, period = "monthly", f"{year}-{month}"
            title, order = f"{_MONTHS[int(month) - 1]} {year}", f"{year}-{month}-m"
        else:
            year, quarter = match.group(5), match.group(6)
            kind, period = "quarterly", f"{year}-Q{quarter}"
            title, order = f"Q{quarter} {year}", f"{year}-{int(quarter) * 3:02d}-q"
        url = f"/portal/{quote(client, safe='')}/packs/{quote(name, safe='')}"
        found.append((order, Pack(name, kind, period, title, path.stat().st_size, url)))
    return [pack for _, pack in sorted(found, key=lambda item: item[0], reverse=True)]


@dataclass(frozen=True, slots=True)
class PortalBreach:
    """A breach as a client reads it: no internal names, roles or addresses."""

    ticket_id: str
    subject: str
    tier: str
    tier_name: str
    clock: str
    breached_at: datetime
    over_seconds: float
    over_text: str
    still_open: bool
    escalated: str


@dataclass(frozen=True, slots=True)
class PortalView:
    """Everything the portal shows of one client (and its JSON)."""

    client: str
    name: str
    now: datetime
    zone: str
    target: float | None
    windows: tuple[str, ...]
    tiers: list[TierRow]
    exposure: Exposure | None
    trend: list[TrendPoint]
    breaches: list[PortalBreach]
    packs: list[Pack]


def _escalated(line: BreachLine) -> str:
    fired = [e for e in line.escalations if e.fired_at is not None]
    if not fired:
        return "escalation scheduled" if line.escalations and line.still_open else "not escalated"
    late = sum(1 for e in fired if e.late)
    count = f"escalated {len(fired)} time{'s' if len(fired) != 1 else ''}"
    return f"{count}, {late} late" if late else f"{count}, on time"


def _tier_name(view_tiers: Sequence[TierRow], tier: str) -> str:
    for line in view_tiers:
        if line.tier == tier:
            return line.tier_name
    return tier


def build_portal(
    source: DashboardSource,
    client: str,
    vocabulary: Vocabulary,
    archive_dir: Path | None,
    *,
    zone: tzinfo,
    cache: EvaluationCache | None,
) -> PortalView | None:
    """The client's portal view, or None when there is no such client."""
    view = build_client(source, client, vocabulary, zone=zone, cache=cache)
    if view is None:
        return None
    tiers = view.client.tiers
    breaches = [
        PortalBreach(
            ticket_id=line.ticket_id,
            subject=line.subject,
            tier=line.tier,
            tier_name=_tier_name(tiers, line.tier),
            clock=line.clock,
            breached_at=line.breached_at.astimezone(UTC),
            over_seconds=line.over_seconds,
            over_text=format_seconds(line.over_seconds),
            still_open=line.still_open,
            escalated=_escalated(line),
        )
        for line in view.breaches
    ]
    return PortalView(
        client=client,
        name=view.client.name,
        now=view.now,
        zone=view.zone,
        target=view.client.target,
        windows=view.windows,
        tiers=tiers,
        exposure=view.exposure,
        trend=view.trend,
        breaches=breaches,
        packs=list_packs(archive_dir, client),
    )


# -- the routes ----------------------------------------------------------------------------

_PAGES = {"": "overview", "trend": "trend", "breaches": "breaches", "packs": "packs"}


class _Portal:
    def __init__(
        self,
        settings: PortalSettings,
        auth: PortalAuth,
        *,
        source: DashboardSource,
        vocabulary: Vocabulary,
        pages: Pages,
        zone: tzinfo,
        cache: EvaluationCache | None,
        to_json: Callable[[Any], Response],
    ) -> None:
        self.settings = settings
        self.auth = auth
        self.source = source
        self.vocabulary = vocabulary
        self.pages = pages
        self.zone = zone
        self.cache = cache
        self.to_json = to_json

    # the visitor ----------------------------------------------------------------------

    def _known(self, client: str) -> bool:
        policy = self.source.policy()
        return client in policy.clients

    def _answer(self, request: Request, visitor: Visitor | None, response: Response) -> Response:
        who = "nobody" if visitor is None else visitor.who
        log.info(
            "portal %s %s by %s: %s",
            request.method,
            request.url.path,
            who,
            response.status_code,
            extra={
                "event": "portal_access",
                "who": who,
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
            },
        )
        if visitor is not None and visitor.cookie is not None:
            response.set_cookie(
                PORTAL_COOKIE,
                visitor.cookie,
                max_age=min(visitor.cookie_max_age, 366 * 86400),
                path="/portal/",
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
            )
        return response

    def _wants_page(self, request: Request) -> bool:
        return "/api/" not in request.url.path and "text/html" in request.headers.get("accept", "")

    def _unauthorised(self, request: Request, client: str, why: str) -> Response:
        challenge = {"WWW-Authenticate": 'Bearer realm="sla-connector portal"'}
        if self._wants_page(request):
            html = self.pages.render_page(
                "portal_login.html.j2",
                client=client,
                failed=why not in ("no credential",),
                why=why,
                api="",
                now=None,
                logout=False,
            )
            return HTMLResponse(html, 401, headers=challenge)
        return JSONResponse({"error": "unauthorized"}, 401, headers=challenge)

    def _not_found(self, request: Request) -> Response:
        if self._wants_page(request):
            html = self.pages.render_page(
                "not_found.html.j2", what="No such page.", api="", now=None, logout=False
            )
            return HTMLResponse(html, 404)
        return JSONResponse({"error": "not found"}, 404)

    def _visitor(self, request: Request, client: str) -> Visitor | Response:
        try:
            visitor = self.auth.identify(request.headers, request.url.query, client)
        except _Denied as denied:
            return self._answer(request, None, self._unauthorised(request, client, denied.why))
        if not visitor.may_see(client) or not self._known(client):
            return self._answer(request, visitor, self._not_found(request))
        return visitor

    async def _view(self, client: str) -> PortalView | None:
        return await run_in_threadpool(
            build_portal,
            self.source,
            client,
            self.vocabulary,
            self.settings.archive_dir,
            zone=self.zone,
            cache=self.cache,
        )

    # handlers -------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        client = request.path_params["client"]
        which = _PAGES.get(request.path_params.get("page", ""))
        found = self._visitor(request, client)
        if isinstance(found, Response):
            return found
        view = await self._view(client)
        if view is None or which is None:
            return self._answer(request, found, self._not_found(request))
        zone = self.pages.zone_of(view.zone)
        chart = self.pages.trend_chart(
            view.trend, zone, view.target, f"{view.name}: weekly adherence"
        )
        html = await run_in_threadpool(
            self.pages.render_page,
            f"portal_{which}.html.j2",
            zone,
            view=view,
            page=which,
            chart=chart,
            api="",
            now=view.now,
            logout=False,
            signed_in=found.client is not None,
        )
        return self._answer(request, found, HTMLResponse(html))

    async def api(self, request: Request) -> Response:
        client = request.path_params["client"]
        which = request.path_params["what"]
        found = self._visitor(request, client)
        if isinstance(found, Response):
            return found
        view = await self._view(client)
        if view is None or which not in ("overview", "trend", "breaches", "packs"):
            return self._answer(request, found, self._not_found(request))
        if which == "overview":
            body: Any = view
        else:
            body = {"client": view.client, "now": view.now, which: getattr(view, which)}
        return self._answer(request, found, self.to_json(body))

    async def download(self, request: Request) -> Response:
        client = request.path_params["client"]
        found = self._visitor(request, client)
        if isinstance(found, Response):
            return found
        name = request.path_params["name"]
        packs = {pack.name: pack for pack in list_packs(self.settings.archive_dir, client)}
        pack = packs.get(name)
        if pack is None or self.settings.archive_dir is None:
            return self._answer(request, found, self._not_found(request))
        response = FileResponse(
            self.settings.archive_dir / pack.name,
            media_type="application/pdf",
            filename=pack.name,
        )
        return self._answer(request, found, response)

    async def login(self, request: Request) -> Response:
        client = request.path_params["client"]
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > _MAX_FORM_BYTES:
                break
        form = parse_qs(body[:_MAX_FORM_BYTES].decode("utf-8", "replace"))
        given = (form.get("token") or [""])[0]
        made = self.auth.login_cookie(client, given)
        if made is None:
            return self._answer(request, None, self._unauthorised(request, client, "wrong token"))
        value, age = made
        response = RedirectResponse(f"/portal/{quote(client, safe='')}/", status_code=303)
        visitor = Visitor(
            f"client {client} (portal token)", client, cookie=value, cookie_max_age=age
        )
        return self._answer(request, visitor, response)

    async def logout(self, request: Request) -> Response:
        client = request.path_params["client"]
        response = RedirectResponse(f"/portal/{quote(client, safe='')}/", status_code=303)
        response.delete_cookie(PORTAL_COOKIE, path="/portal/", httponly=True, samesite="lax")
        return self._answer(request, None, response)

    async def slash(self, request: Request) -> Response:
        query = f"?{request.url.query}" if request.url.query else ""
        target = f"/portal/{quote(request.path_params['client'], safe='')}/{query}"
        return RedirectResponse(target, status_code=307)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/portal/{client}", self.slash),
                Route("/portal/{client}/", self.page),
                Route("/portal/{client}/api/{what}", self.api),
                Route("/portal/{client}/packs/{name}", self.download),
                Route("/portal/{client}/login", self.login, methods=["POST"]),
                Route("/portal/{client}/logout", self.logout, methods=["POST"]),
                Route("/portal/{client}/{page}", self.page),
            ]
        )


class PortalGate:
    """ASGI middleware: ``/portal/...`` goes to the portal (its own credentials), the rest
    on to the dashboard."""

    def __init__(self, app: ASGIApp, *, portal: ASGIApp) -> None:
        self.app = app
        self.portal = portal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == "/portal" or path.startswith("/portal/")):
            await self.portal(scope, receive, send)
            return
        await self.app(scope, receive, send)


def portal_gate(
    settings: PortalSettings | None,
    *,
    source: DashboardSource,
    vocabulary: Vocabulary,
    pages: Pages,
    zone: tzinfo,
    cache: EvaluationCache | None,
    msp_token: str | None,
    to_json: Callable[[Any], Response],
) -> list[Middleware]:
    """The middleware that serves the portal (``settings`` None: no client credentials,
    so the MSP's only)."""
    if settings is None:
        settings = PortalSettings()
    msp_session = None
    if msp_token is not None:

        async def nothing(scope: Scope, receive: Receive, send: Send) -> None:  # pragma: no cover
            raise AssertionError("never called")

        msp_session = TokenGuard(nothing, token=msp_token, login_page=pages.login).authorised
    auth = PortalAuth(settings, msp_token, msp_session)
    portal = _Portal(
        settings,
        auth,
        source=source,
        vocabulary=vocabulary,
        pages=pages,
        zone=zone,
        cache=cache,
        to_json=to_json,
    )
    return [Middleware(PortalGate, portal=portal.app())]
