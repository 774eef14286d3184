"""The client portal: read-only pages per client under ``/portal/<client>/``.

A client reads its own figures here without help and without seeing anyone else's:
an overview (adherence per tier against the contract, this month's objectives and the
credit exposure so far), the 12-week trend, the breaches (no internal names or
addresses), and the archive of the evidence packs sent (``reports.archive_dir``) to
download. Each page has its JSON twin under ``/portal/<client>/api/``.

This module holds the routes and the middleware that mounts them beside the dashboard;
who gets in is ``web.portal_access``, what a client sees is ``web.portal_view`` (both
re-exported here).

A credential for one client asking for another client's page, JSON or file gets 404,
exactly as for a client that does not exist, so nothing tells it who else is there; a
missing, wrong, expired or tampered credential gets 401. Every request is logged on
``sla_connector.portal`` (who, what, the answer; the log line's time is when) without
the credential: the path is logged without its query string.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import tzinfo
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
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

from sla_connector.core.vocabulary import Vocabulary
from sla_connector.web.auth import TokenGuard
from sla_connector.web.data import DashboardSource
from sla_connector.web.figures import EvaluationCache
from sla_connector.web.pages import Pages
from sla_connector.web.portal_access import (
    PORTAL_COOKIE,
    AccessDenied,
    PortalAuth,
    PortalSettings,
    Visitor,
    mint_link,
    sign_link,
)
from sla_connector.web.portal_view import Pack, PortalView, build_portal, list_packs

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

_MAX_FORM_BYTES = 8192
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
        except AccessDenied as denied:
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
