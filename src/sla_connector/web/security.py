"""Response headers and the Host check in front of the dashboard (issue 11, item 8).

``SecurityHeaders`` adds to every response, a 401, a 404 and /metrics included: a
Content-Security-Policy that lets only the page's own inline stylesheet and script run
(by their SHA-256, computed from the exact text the pages embed), no framing
(``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``), ``nosniff`` and
``Referrer-Policy: no-referrer``.

``HostCheck`` answers 400 to a request whose ``Host`` header names none of the allowed
hosts: the loopback names always, plus those the operator configures
(``dashboard.allowed_hosts``; ``"*"`` turns the check off, for a proxy that checks it). A
page a browser loaded from ``attacker.example`` whose name was then re-pointed at
127.0.0.1 (DNS rebinding) still sends ``Host: attacker.example``, so it cannot read the
token-less demo dashboard.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Collection, Iterable

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "LOOPBACK_HOSTS",
    "HostCheck",
    "SecurityHeaders",
    "content_security_policy",
    "host_allowed",
]

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _sha256_source(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(inline_styles: Iterable[str], inline_scripts: Iterable[str]) -> str:
    """The policy for pages whose only style and script are these inline texts."""
    styles = " ".join(_sha256_source(text) for text in inline_styles)
    scripts = " ".join(_sha256_source(text) for text in inline_scripts)
    return (
        "default-src 'none'; "
        f"style-src {styles}; "
        f"script-src {scripts}; "
        "img-src 'self' data:; "
        "connect-src 'self'; "
        "form-action 'self'; "
        "base-uri 'none'; "
        "frame-ancestors 'none'"
    )


class SecurityHeaders:
    """ASGI middleware: the security headers on every HTTP response."""

    def __init__(self, app: ASGIApp, *, csp: str) -> None:
        self.app = app
        self._headers = [
            (b"content-security-policy", csp.encode("ascii")),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        self._names = {name for name, _ in self._headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k not in self._names]
                message = {**message, "headers": [*kept, *self._headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _host_name(header: str) -> str:
    """The name in a ``Host`` header: without the port, IPv6 brackets taken off, lower case."""
    host = header.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") > 1:  # a bare IPv6 address (as configured; a header brackets it)
        return host
    name, _, port = host.rpartition(":")
    if name and port.isdigit():
        return name
    return host.rstrip(".")


def host_allowed(header: str, allowed: Collection[str]) -> bool:
    """Whether a ``Host`` header names a loopback name or one of ``allowed`` (names or IPs)."""
    name = _host_name(header).rstrip(".")
    return bool(name) and (name in LOOPBACK_HOSTS or name in allowed or "*" in allowed)


class HostCheck:
    """ASGI middleware: 400 for a request whose ``Host`` is not an allowed name."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: Collection[str] = ()) -> None:
        self.app = app
        self._allowed = frozenset(_host_name(host) for host in allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")
        if host_allowed(host, self._allowed):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = JSONResponse(
            {
                "error": "host not allowed",
                "detail": "add this name to dashboard.allowed_hosts to serve it",
            },
            status_code=400,
        )
        await response(scope, receive, send)
