"""Serve an ASGI app with uvicorn in a background thread on 127.0.0.1 and a free port.

``TwinServer`` is a context manager: entering binds the socket (so ``base_url`` is known
before the first request), starts uvicorn in a daemon thread and waits, bounded, until it
accepts connections; leaving asks uvicorn to exit, cancels held requests after one second
and joins the thread, bounded too. The HTTP protocol is uvicorn's h11 one with the
connection's transport added to each request's ``scope["state"]`` under
``TRANSPORT_KEY``, so fault injection can reset a connection.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["TRANSPORT_KEY", "TwinServer", "free_port"]

TRANSPORT_KEY = "twin.transport"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _TransportExposingH11(H11Protocol):
    """uvicorn's h11 protocol, handing each request its connection's transport."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self.app_state = {**self.app_state, TRANSPORT_KEY: transport}
        # uvicorn writes an answer's headers and body separately; without TCP_NODELAY the
        # body waits for the client's delayed ACK of the headers (about 40 ms an answer).
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class TwinServer:
    """One ASGI app on ``http://127.0.0.1:<port>``, for the lifetime of a ``with`` block."""

    def __init__(self, app: Any, *, port: int = 0, start_timeout: float = 15.0) -> None:
        self._app = app
        self._requested_port = port
        self._start_timeout = start_timeout
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("the twin server is not started")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TwinServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._requested_port))
        self.port = sock.getsockname()[1]
        self._sock = sock
        config = uvicorn.Config(
            self._app,
            lifespan="off",
            log_level="warning",
            access_log=False,
            http=_TransportExposingH11,
            ws="none",
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="twin-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the twin server did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None

    def __enter__(self) -> TwinServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
