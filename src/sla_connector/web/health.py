"""``/healthz`` (the process answers) and ``/readyz`` (it can do its job) as Starlette routes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["health_routes"]


def health_routes(readiness: Callable[[], Mapping[str, Any]]) -> list[Route]:
    """``readiness()`` gives ``{"ready": bool, ...}``; /readyz answers 503 when not ready."""

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        report = dict(readiness())
        return JSONResponse(report, status_code=200 if report.get("ready") else 503)

    return [Route("/healthz", healthz), Route("/readyz", readyz)]
