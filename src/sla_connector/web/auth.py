"""Bearer-token protection for every route, with a login form that sets an HttpOnly cookie.

When a token is configured, a request passes with ``Authorization: Bearer <token>`` or
with the session cookie that ``POST /login`` sets after checking the token; everything
else answers 401 (the login form for a browser, JSON for anything else). Comparisons are
constant-time (``hmac.compare_digest``). The cookie holds an expiry and an HMAC keyed by
the token, never the token itself, so rotating the token ends every session; a malformed
cookie is simply not a session (401). Failed logins are limited per client address
(``LoginLimiter``: 429 after ``LOGIN_FAILURES`` in ``LOGIN_WINDOW`` seconds). Nothing here
logs a header, a cookie or a form body.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Collection
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["COOKIE_NAME", "LOGIN_FAILURES", "LOGIN_WINDOW", "LoginLimiter", "TokenGuard"]

COOKIE_NAME = "sla_session"
SESSION_SECONDS = 12 * 3600
_MAX_FORM_BYTES = 8192
_EXPIRY_RE = re.compile(r"[0-9]{1,12}")
LOGIN_FAILURES = 5  # failed logins from one client address ...
LOGIN_WINDOW = 300.0  # ... within this many seconds: then 429 until the window passes
_MAX_TRACKED = 10_000  # client addresses remembered at most (the oldest are forgotten)


class LoginLimiter:
    """At most ``failures`` failed logins per client address in any ``window`` seconds.

    In memory, per process, bounded to ``_MAX_TRACKED`` addresses. Behind a reverse proxy
    every client shares the proxy's address: the limit is then one for all of them.
    """

    def __init__(
        self,
        failures: int = LOGIN_FAILURES,
        window: float = LOGIN_WINDOW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.failures = failures
        self.window = window
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str) -> deque[float]:
        times = self._seen.get(client)
        if times is None:
            return deque()
        horizon = self._clock() - self.window
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._seen[client]
        return times

    def retry_after(self, client: str) -> int | None:
        """Seconds until ``client`` may try again, or None if it may now."""
        times = self._recent(client)
        if len(times) < self.failures:
            return None
        return max(1, math.ceil(times[0] + self.window - self._clock()))

    def failed(self, client: str) -> None:
        times = self._seen.setdefault(client, deque())
        times.append(self._clock())
        self._seen.move_to_end(client)
        while len(self._seen) > _MAX_TRACKED:
            self._seen.popitem(last=False)

    def succeeded(self, client: str) -> None:
        self._seen.pop(client, None)


class TokenGuard:
    """ASGI middleware: lets authorised requests through, answers the rest with 401."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str,
        login_page: Callable[[str, bool], str],
        public_paths: Collection[str] = (),
        clock: Callable[[], float] = time.time,
        limiter: LoginLimiter | None = None,
    ) -> None:
        if not token:
            raise ValueError("the dashboard token is empty")
        self.app = app
        self._key = token.encode()
        self._login_page = login_page
        self._public = frozenset(public_paths)
        self._clock = clock
        self.limiter = limiter or LoginLimiter(clock=clock)

    # -- credentials ----------------------------------------------------------------------

    def _bearer_ok(self, headers: Headers) -> bool:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(value.strip().encode(), self._key)

    def _sign(self, expires: int) -> str:
        mac = hmac.new(self._key, f"dashboard-session:{expires}".encode(), hashlib.sha256)
        return f"{expires}.{mac.hexdigest()}"

    def _cookie_ok(self, headers: Headers) -> bool:
        """Whether the session cookie is ours and unexpired; any malformed value is False.

        The expiry must be 1 to 12 ASCII digits: ``str.isdigit`` alone takes ``"\xb2"``
        (superscript two), which ``int`` refuses, and 5,000 digits exceed ``int``'s limit.
        """
        value = ""
        for part in headers.get("cookie", "").split(";"):
            name, _, raw = part.strip().partition("=")
            if name == COOKIE_NAME:
                value = raw
        expires_text, dot, _ = value.partition(".")
        if not (dot and _EXPIRY_RE.fullmatch(expires_text)):
            return False
        expires = int(expires_text)
        if expires < self._clock():
            return False
        return hmac.compare_digest(value.encode(), self._sign(expires).encode())

    def authorised(self, headers: Headers) -> bool:
        return self._bearer_ok(headers) or self._cookie_ok(headers)

    # -- ASGI -----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in self._public:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if scope["type"] == "http" and scope["path"] == "/login" and scope["method"] == "POST":
            response = await self._login(scope, receive)
        elif self.authorised(headers):
            await self.app(scope, receive, send)
            return
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # policy violation
            return
        else:
            response = self._denied(scope, headers)
        await response(scope, receive, send)

    def _denied(self, scope: Scope, headers: Headers) -> Response:
        wants_page = scope.get("method") in ("GET", "HEAD") and "text/html" in headers.get(
            "accept", ""
        )
        challenge = {"WWW-Authenticate": 'Bearer realm="sla-connector"'}
        if wants_page:
            path = scope["path"]
            query = scope.get("query_string", b"").decode("latin-1")
            target = f"{path}?{query}" if query else path
            return HTMLResponse(self._login_page(target, False), 401, headers=challenge)
        return JSONResponse({"error": "unauthorized"}, 401, headers=challenge)

    async def _login(self, scope: Scope, receive: Receive) -> Response:
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.limiter.retry_after(client)
        if wait is not None:
            return JSONResponse(
                {"error": "too many failed logins; try again later"},
                429,
                headers={"Retry-After": str(wait)},
            )
        body = b""
        more = True
        while more and len(body) <= _MAX_FORM_BYTES:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        form = parse_qs(body[:_MAX_FORM_BYTES].decode("utf-8", "replace"))
        given = (form.get("token") or [""])[0]
        target = (form.get("next") or ["/"])[0]
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        if not hmac.compare_digest(given.encode(), self._key):
            self.limiter.failed(client)
            return HTMLResponse(
                self._login_page(target, True),
                401,
                headers={"WWW-Authenticate": 'Bearer realm="sla-connector"'},
            )
        self.limiter.succeeded(client)
        expires = int(self._clock()) + SESSION_SECONDS
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE_NAME,
            self._sign(expires),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=scope.get("scheme") == "https",
        )
        return response
