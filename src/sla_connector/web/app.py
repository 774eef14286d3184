"""The dashboard application: pages, the JSON API and /metrics over a ``DashboardSource``.

``create_app`` builds a Starlette app the daemon serves with uvicorn. Every figure is
computed in a worker thread (the source does I/O and the core evaluates tickets), never
on the event loop that fires escalations. The overview is cached for ``cache_seconds`` so
many open browsers and a Prometheus scraper cost one evaluation per period.

Routes: ``/`` (overview), ``/clients/{client}``, ``/tickets/{source}/{id}``, the same under
``/api/...`` as JSON, ``/metrics``, ``/healthz`` and ``/readyz``, ``POST /login`` and
``POST /logout``. With a token, all of them need it (see ``web.auth``), health included
unless the caller lists paths in ``public_paths``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping
from datetime import tzinfo
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from sla_connector.web.auth import COOKIE_NAME, TokenGuard
from sla_connector.web.data import DashboardSource
from sla_connector.web.health import health_routes
from sla_connector.web.metrics import build_registry
from sla_connector.web.pages import Pages
from sla_connector.web.ticket_view import build_ticket
from sla_connector.web.views import Overview, build_client, build_overview

__all__ = ["OverviewCache", "create_app"]

T = TypeVar("T")


class JSONResponseZ(Response):
    """JSON through orjson: dataclasses as objects, datetimes as RFC 3339 with ``Z``."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


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
        with self._lock:
            now = self._monotonic()
            if self._value is None or now - self._at >= self._ttl:
                self._value = self._compute()
                self._at = now
            return self._value


def _default_readiness(source: DashboardSource) -> Callable[[], Mapping[str, Any]]:
    def readiness() -> Mapping[str, Any]:
        polled = {name: h.last_poll_ok for name, h in source.connector_status().items()}
        return {"ready": all(ok is not False for ok in polled.values()), "last_poll_ok": polled}

    return readiness


def create_app(
    source: DashboardSource,
    *,
    token: str | None,
    readiness: Callable[[], Mapping[str, Any]] | None = None,
    at_risk_fraction: float = 0.75,
    refresh_seconds: float = 5.0,
    cache_seconds: float = 2.0,
    display_tz: tzinfo | str = "UTC",
    public_paths: Collection[str] = (),
) -> Starlette:
    """The dashboard app. ``token`` None: open (bind it to 127.0.0.1 then); "" is refused."""
    if token is not None and not token:
        raise ValueError("the dashboard token is empty; unset it to serve without one")
    if not 0 < at_risk_fraction <= 1:
        raise ValueError(f"at_risk_fraction {at_risk_fraction} is not in (0, 1]")
    zone = ZoneInfo(display_tz) if isinstance(display_tz, str) else display_tz
    pages = Pages(display_tz=zone, refresh_seconds=refresh_seconds, logout=token is not None)
    cache = OverviewCache(
        lambda: build_overview(source, at_risk_fraction=at_risk_fraction), cache_seconds
    )
    registry = build_registry(source, cache.get)

    async def offload(work: Callable[[], T]) -> T:
        return await run_in_threadpool(work)

    def not_found(request: Request, what: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponseZ({"error": "not found", "detail": what}, status_code=404)
        return HTMLResponse(pages.not_found(what), status_code=404)

    async def overview_page(_: Request) -> Response:
        return HTMLResponse(await offload(lambda: pages.overview(cache.get())))

    async def overview_api(_: Request) -> Response:
        return JSONResponseZ(await offload(cache.get))

    def _client(request: Request) -> Any:
        return build_client(
            source, request.path_params["client"], at_risk_fraction=at_risk_fraction
        )

    async def client_page(request: Request) -> Response:
        key = request.path_params["client"]

        def render() -> str | None:
            view = _client(request)
            return None if view is None else pages.client(view, f"/api/clients/{key}")

        html = await offload(render)
        if html is None:
            return not_found(request, f"No client {key!r} in the policy or the tickets.")
        return HTMLResponse(html)

    async def client_api(request: Request) -> Response:
        view = await offload(lambda: _client(request))
        if view is None:
            return not_found(request, f"no client {request.path_params['client']!r}")
        return JSONResponseZ(view)

    def _ticket(request: Request) -> Any:
        params = request.path_params
        return build_ticket(source, params["source"], params["ticket_id"])

    async def ticket_page(request: Request) -> Response:
        view = await offload(lambda: _ticket(request))
        if view is None:
            return not_found(request, "No such ticket in the store.")
        return HTMLResponse(await offload(lambda: pages.ticket(view)))

    async def ticket_api(request: Request) -> Response:
        view = await offload(lambda: _ticket(request))
        if view is None:
            return not_found(request, "no such ticket")
        return JSONResponseZ(view)

    async def metrics(_: Request) -> Response:
        body = await offload(lambda: generate_latest(registry))
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def logout(_: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE_NAME, httponly=True, samesite="strict")
        return response

    routes = [
        Route("/", overview_page),
        Route("/clients/{client}", client_page),
        Route("/tickets/{source}/{ticket_id:path}", ticket_page),
        Route("/api/overview", overview_api),
        Route("/api/clients/{client}", client_api),
        Route("/api/tickets/{source}/{ticket_id:path}", ticket_api),
        Route("/metrics", metrics),
        Route("/logout", logout, methods=["POST"]),
        *health_routes(readiness or _default_readiness(source)),
    ]
    middleware = []
    if token is not None:
        middleware.append(
            Middleware(TokenGuard, token=token, login_page=pages.login, public_paths=public_paths)
        )
    app = Starlette(routes=routes, middleware=middleware)
    app.state.metrics_registry = registry
    return app
