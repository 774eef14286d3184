"""In-process HTTP against the dashboard app (httpx.ASGITransport), no sockets."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from sla_connector.web.app import create_app
from sla_connector.web.data import StaticSource
from tests.web.dataset import make_source


def app_for(source: StaticSource | None = None, **options: Any) -> Starlette:
    options.setdefault("token", None)
    options.setdefault("cache_seconds", 0)
    return create_app(source or make_source(), **options)


def client_for(app: Starlette, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", headers=headers
    )
