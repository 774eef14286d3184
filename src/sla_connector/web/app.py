"""The dashboard application: pages, the JSON API and /metrics over a ``DashboardSource``.

``create_app`` builds a Starlette app the daemon serves with uvicorn. Every figure is
computed in a worker thread (the source does I/O and the core evaluates tickets), never
on the event loop that fires escalations. The overview is cached for ``cache_seconds`` so
many open browsers and a Prometheus scraper cost one evaluation per period.

Routes: ``/`` (overview), ``/clients/{client}``, ``/tickets/{source}/{id}``, the same under
``/api/...`` as JSON (described by ``/api/openapi.json``, ``web.openapi``), ``/metrics``,
``/healthz`` and ``/readyz``, ``POST /login`` and ``POST /logout``. With a token, all of
them need it (see ``web.auth``), health included unless the caller lists paths in
``public_paths``. Every answer carries the security headers and a ``Host`` that is not an
allowed name is refused (``web.security``).
``/portal/<client>/...`` is the client portal (``web.portal``), with credentials of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import fields, is_dataclass
from datetime import tzinfo
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sla_connector.core.readmodel import BreachLine, EscalationLine, WithdrawnLine
from sla_connector.core.vocabulary import Vocabulary
from sla_connector.web.auth import COOKIE_NAME, LoginLimiter, TokenGuard
from sla_connector.web.data import DashboardSource
from sla_connector.web.figures import EvaluationCache, ticket_url
from sla_connector.web.health import health_routes
from sla_connector.web.metrics import build_registry
from sla_connector.web.openapi import OPENAPI_PATH, openapi_document
from sla_connector.web.pages import Pages
from sla_connector.web.portal import PortalSettings, portal_gate
from sla_connector.web.security import HostCheck, SecurityHeaders, content_security_policy
from sla_connector.web.ticket_view import TicketView, build_ticket
from sla_connector.web.views import ClientView, Overview, build_client, build_overview

__all__ = ["OverviewCache", "create_app"]

T = TypeVar("T")
_JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS


def _as_json(value: Any) -> Any:
    """A dataclass as its fields; a line naming a ticket also gets the ticket page's ``url``."""
    if not is_dataclass(value) or isinstance(value, type):
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")
    data = {f.name: getattr(value, f.name) for f in fields(value)}
    if isinstance(value, EscalationLine | BreachLine | WithdrawnLine):
        data["url"] = ticket_url(value.source, value.ticket_id)
    return data


class JSONResponseZ(Response):
    """JSON through orjson: dataclasses as objects, datetimes as RFC 3339 with ``Z``."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_as_json, option=_JSON_OPTIONS)


class OverviewCache:
    """The latest overview, recomputed at most once per ``ttl`` seconds (thread-safe)."""

    def __init__(
        self,
        compute: Callable[[], Overview],
        ttl: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._compute = compute
        self._ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._value: Overview | None = None
        self._at = 0.0

    def get(self) -> Overview:
        arrived = self._monotonic()
        with self._lock:
            now = self._monotonic()
            # One computed while this caller waited for the lock is fresh enough: callers
            # that pile up behind a slow computation share it instead of each recomputing.
            fresh = self._value is not None and (now - self._at < self._ttl or self._at >= arrived)
            if not fresh:
                self._value = self._compute()
                self._at = self._monotonic()
            assert self._value is not None
            return self._value


def _default_readiness(source: DashboardSource) -> Callable[[], Mapping[str, Any]]:
    def readiness() -> Mapping[str, Any]:
        polled = {name: h.last_poll_ok for name, h in source.connector_status().items()}
        return {"ready": all(ok is not False for ok in polled.values()), "last_poll_ok": polled}

    return readiness


async def _offload(work: Callable[[], T]) -> T:
    """Run blocking work (store reads, evaluating tickets) off the event loop."""
    return await run_in_threadpool(work)


class _Views:
    """The views the routes serve, computed from one source with one vocabulary; times in
    ``zone`` unless a client's own zone applies."""

    def __init__(
        self,
        source: DashboardSource,
        vocabulary: Vocabulary,
        cache_seconds: float,
        zone: tzinfo,
    ):
        self.source = source
        self.vocabulary = vocabulary
        self.zone = zone
        self.evaluations = EvaluationCache()
        self.cache = OverviewCache(
            lambda: build_overview(source, vocabulary, zone=zone, cache=self.evaluations),
            cache_seconds,
        )

    def overview(self) -> Overview:
        return self.cache.get()

    def client(self, key: str) -> ClientView | None:
        return build_client(
            self.source, key, self.vocabulary, zone=self.zone, cache=self.evaluations
        )

    def ticket(self, source_name: str, ticket_id: str) -> TicketView | None:
        return build_ticket(self.source, source_name, ticket_id, self.vocabulary, zone=self.zone)


class _Routes:
    """The page and JSON API handlers: the same view value rendered as HTML or as JSON."""

    def __init__(self, views: _Views, pages: Pages) -> None:
        self.views = views
        self.pages = pages

    def not_found(self, request: Request, what: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponseZ({"error": "not found", "detail": what}, status_code=404)
        return HTMLResponse(self.pages.not_found(what), status_code=404)

    async def overview_page(self, _: Request) -> Response:
        return HTMLResponse(await _offload(lambda: self.pages.overview(self.views.overview())))

    async def overview_api(self, _: Request) -> Response:
        return JSONResponseZ(await _offload(self.views.overview))

    async def client_page(self, request: Request) -> Response:
        key = request.path_params["client"]

        def render() -> str | None:
            view = self.views.client(key)
            return None if view is None else self.pages.client(view, f"/api/clients/{key}")

        html = await _offload(render)
        if html is None:
            return self.not_found(request, f"No client {key!r} in the policy or the tickets.")
        return HTMLResponse(html)

    async def client_api(self, request: Request) -> Response:
        key = request.path_params["client"]
        view = await _offload(lambda: self.views.client(key))
        if view is None:
            return self.not_found(request, f"no client {key!r}")
        return JSONResponseZ(view)

    def _ticket(self, request: Request) -> TicketView | None:
        params = request.path_params
        return self.views.ticket(params["source"], params["ticket_id"])

    async def ticket_page(self, request: Request) -> Response:
        view = await _offload(lambda: self._ticket(request))
        if view is None:
            return self.not_found(request, "No such ticket in the store.")
        return HTMLResponse(await _offload(lambda: self.pages.ticket(view)))

    async def ticket_api(self, request: Request) -> Response:
        view = await _offload(lambda: self._ticket(request))
        if view is None:
            return self.not_found(request, "no such ticket")
        return JSONResponseZ(view)

    def table(self) -> list[BaseRoute]:
        return [
            Route("/", self.overview_page),
            Route("/clients/{client}", self.client_page),
            Route("/tickets/{source}/{ticket_id:path}", self.ticket_page),
            Route("/api/overview", self.overview_api),
            Route("/api/clients/{client}", self.client_api),
            Route("/api/tickets/{source}/{ticket_id:path}", self.ticket_api),
        ]


def _metrics_route(registry: CollectorRegistry) -> Route:
    async def metrics(_: Request) -> Response:
        body = await _offload(lambda: generate_latest(registry))
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics)


def _openapi_route() -> Route:
    document = openapi_document()

    async def openapi(_: Request) -> Response:
        return JSONResponseZ(document)

    return Route(OPENAPI_PATH, openapi)


def _logout_route() -> Route:
    async def logout(_: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE_NAME, httponly=True, samesite="strict")
        return response

    return Route("/logout", logout, methods=["POST"])


def _middleware(
    token: str | None,
    pages: Pages,
    public_paths: Collection[str],
    allowed_hosts: Collection[str] | None,
    limiter: LoginLimiter | None,
    *,
    portal: list[Middleware],
) -> list[Middleware]:
    """Outermost first: security headers on every answer, the Host check (unless
    ``allowed_hosts`` is None), the client portal (its own credentials), then the token
    check in front of every other route (when there is a token)."""
    csp = content_security_policy([pages.css], [pages.js])
    stack = [Middleware(SecurityHeaders, csp=csp)]
    if allowed_hosts is not None:
        stack.append(Middleware(HostCheck, allowed_hosts=allowed_hosts))
    stack.extend(portal)
    if token is not None:
        stack.append(
            Middleware(
                TokenGuard,
                token=token,
                login_page=pages.login,
                public_paths=public_paths,
                limiter=limiter,
            )
        )
    return stack


def create_app(
    source: DashboardSource,
    *,
    token: str | None,
    readiness: Callable[[], Mapping[str, Any]] | None = None,
    vocabulary: Vocabulary | None = None,
    refresh_seconds: float = 5.0,
    cache_seconds: float = 2.0,
    display_tz: tzinfo | str = "UTC",
    public_paths: Collection[str] = (),
    allowed_hosts: Collection[str] | None = (),
    login_limiter: LoginLimiter | None = None,
    banner: str | None = None,
    portal: PortalSettings | None = None,
) -> Starlette:
    """The dashboard app. ``token`` None: open (bind it to 127.0.0.1 then); "" is refused.

    ``vocabulary`` carries the configured "late" and "at risk" (the defaults otherwise).
    ``allowed_hosts``: the ``Host`` names served besides the loopback ones (``web.security``);
    None turns the Host check off (for a token-protected dashboard behind any name).
    ``banner`` is a line every page shows (the demo's "demo, simulated time"); ``portal``
    serves the client portal under ``/portal/<client>/`` (``web.portal``).
    """
    if token is not None and not token:
        raise ValueError("the dashboard token is empty; unset it to serve without one")
    zone = ZoneInfo(display_tz) if isinstance(display_tz, str) else display_tz
    pages = Pages(
        display_tz=zone, refresh_seconds=refresh_seconds, logout=token is not None, banner=banner
    )
    views = _Views(source, vocabulary or Vocabulary(), cache_seconds, zone)
    registry = build_registry(source, views.overview, views.vocabulary)
    handlers = _Routes(views, pages)
    routes = [
        *handlers.table(),
        _metrics_route(registry),
        _openapi_route(),
        _logout_route(),
        *health_routes(readiness or _default_readiness(source)),
    ]
    gate = portal_gate(
        portal,
        source=source,
        vocabulary=views.vocabulary,
        pages=pages,
        zone=zone,
        cache=views.evaluations,
        msp_token=token,
        to_json=JSONResponseZ,
    )

    async def unmatched(request: Request, exc: Exception) -> Response:
        """A path no route matches (a ticket id with a newline, say) answers as the routes'
        own 404s do: JSON under /api/ (the OpenAPI document says so), the page elsewhere."""
        return handlers.not_found(request, request.url.path)

    app = Starlette(
        routes=routes,
        middleware=_middleware(
            token, pages, public_paths, allowed_hosts, login_limiter, portal=gate
        ),
        exception_handlers={404: unmatched},
    )
    app.state.metrics_registry = registry
    app.state.evaluations = views.evaluations  # the demo primes it with its history
    return app
