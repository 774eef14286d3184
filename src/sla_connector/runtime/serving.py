"""Serving the dashboard app with uvicorn beside the daemon, on the daemon's event loop.

uvicorn normally takes over SIGINT and SIGTERM while it serves and passes them on only
once its graceful shutdown has finished, which waits for open connections: a browser in
the middle of a request could then hold up stopping the daemon. Here the caller owns the
signals (``runtime.service.serve``, the demo) and stops the server itself, with a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import socket
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from sla_connector.core.errors import UnavailableError

__all__ = ["DashboardServer", "listen", "on_stop_signals"]

_STARTUP_POLLS = 100  # x 20 ms: a bounded wait for the socket


@contextlib.contextmanager
def on_stop_signals(callback: Callable[[], None]) -> Iterator[None]:
    """Call ``callback`` on SIGTERM or SIGINT while inside (on the running event loop)."""
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, callback)
            installed.append(signum)
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def listen(host: str, port: int) -> socket.socket:
    """The dashboard's listening socket, bound here rather than inside uvicorn, so that a
    port in use is one ``UnavailableError`` naming it (uvicorn would ``sys.exit(3)`` from
    its task, with a traceback)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UnavailableError(
                f"dashboard port {host}:{port} is already in use: stop the other process "
                "or choose another port (dashboard.port)"
            ) from None
        raise UnavailableError(
            f"cannot listen on {host}:{port} for the dashboard ({exc.strerror or exc}); "
            "check dashboard.bind and dashboard.port"
        ) from None
    return sock


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling (see the module docstring)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class DashboardServer:
    """One uvicorn server for an ASGI app; ``start`` and ``stop`` never raise for the socket."""

    def __init__(self, app: Any, host: str, port: int, *, log_level: str | None = None) -> None:
        options: dict[str, Any] = {"log_config": None} if log_level is None else {}
        self.server = _Server(
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

    async def start(self, *, wait: bool = False, sock: socket.socket | None = None) -> bool:
        """Start serving on ``sock``, else on a socket ``listen`` opens (a busy port raises
        there, before uvicorn runs); with ``wait``, whether uvicorn started."""
        if sock is None:
            sock = listen(self.server.config.host, self.server.config.port)
        self._task = asyncio.create_task(self.server.serve(sockets=[sock]))
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
        """Ask uvicorn to exit and wait (bounded) for it; then it is cancelled."""
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
