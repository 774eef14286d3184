"""Receivers on 127.0.0.1 for the delivery tests: a webhook and an SMTP server (aiosmtpd).

It answers like Slack's incoming webhooks do: ``ok`` with the success status (200, or
``ok``: Teams Workflows answer 202), and an error status with a short error word in the
body (``invalid_payload``; https://api.slack.com/messaging/webhooks#handling_errors).
With ``echo_path`` the error body also repeats the request path, as some proxies do, so a
test can check that an answer's body is not logged with the secret in it. The SMTP
``Sink`` keeps each message and can refuse with queued replies or bad credentials.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = ["Hook", "Sink", "free_port", "smtp_server", "webhook_server"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Hook:
    """A loopback HTTP server that records JSON posts and answers with queued statuses."""

    def __init__(
        self, statuses: list[int] | None = None, ok: int = 200, *, echo_path: bool = False
    ) -> None:
        self.posts: list[tuple[str, str, Any]] = []
        self.statuses = statuses or []
        self.ok = ok
        self.echo_path = echo_path


@contextmanager
def webhook_server(hook: Hook) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.posts.append((self.path, self.headers["Content-Type"], json.loads(body)))
            status = hook.statuses.pop(0) if hook.statuses else hook.ok
            answer = b"ok" if status < 300 else b"invalid_payload"
            if status >= 300 and hook.echo_path:
                answer += f" for {self.path}".encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Sink:
    """An SMTP handler that keeps every message; answers with ``replies`` first, if any."""

    def __init__(self, replies: list[str] | None = None) -> None:
        self.envelopes: list[Any] = []
        self.tls: list[bool] = []
        self.logins: list[tuple[bytes, bytes]] = []
        self.replies = replies or []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.replies:
            return self.replies.pop(0)
        self.envelopes.append(envelope)
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.tls.append(session.ssl is not None or encrypted)
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        # handled=False: aiosmtpd answers 235, or 535 for bad credentials (RFC 4954).
        return AuthResult(success=data.password == b"s3cret", handled=False)


@contextmanager
def smtp_server(sink: Sink, **options: Any) -> Iterator[int]:
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
