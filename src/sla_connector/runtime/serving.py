"""Serving the dashboard app with uvicorn beside the daemon, on the daemon's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import uvicorn

__all__ = ["DashboardServer"]

_STARTUP_POLLS = 100  # x 20 ms: a bounded wait for the socket


class DashboardServer:
    """One uvicorn server for an ASGI app; ``start`` and ``stop`` never raise for the socket."""

    def __init__(self, app: Any, host: str, port: int, *, log_level: str | None = None) -> None:
        options: dict[str, Any] = {"log_config": None} if log_level is None else {}
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                lifespan="off",
                log_level=log_level,
                **options,
            )
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self, *, wait: bool = False) -> bool:
        """Start serving; with ``wait``, whether the socket was bound (False: port taken)."""
        self._task = asyncio.create_task(self.server.serve())
        if not wait:
            return True
        for _ in range(_STARTUP_POLLS):
            if self.server.started or self._task.done():
                break
            await asyncio.sleep(0.02)
        if not self.server.started:
            await self._cancel()
            return False
        return True

    async def stop(self, timeout: float = 2.0) -> None:
        """Ask uvicorn to exit and wait (bounded) for it."""
        if self._task is None:
            return
        self.server.should_exit = True
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(self._task, timeout=timeout)
        self._task = None

    async def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None
