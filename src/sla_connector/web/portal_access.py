"""Who may read the client portal: its credentials, signed links and session cookies.

``PortalAuth.identify`` turns a request into a ``Visitor``, trying in this order:

- ``Authorization: Bearer <token>``: the MSP's dashboard token sees every client; a
  client's portal token (``clients.<key>.portal.token_env``) sees that client only;
- a signed link ``?link=<expires>.<mac>`` (HMAC-SHA256 of the client and the expiry
  under ``dashboard.portal_link_key_env``; ``mint_link`` makes one for the report email),
  which sets a session cookie that ends when the link expires;
- the portal's session cookie (a link's, or one ``POST /portal/<client>/login`` sets
  after checking the client's token), holding an expiry and an HMAC, never a credential;
- the dashboard's session cookie (the MSP signed in to the dashboard);
- anyone, when the dashboard has no token (it then listens on loopback only).

A missing, wrong, expired or tampered credential raises ``AccessDenied`` (the routes
answer 401). Kept apart from the routes (``web.portal``) so the rules of access read on
their own; every comparison with a secret is constant-time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote

from starlette.datastructures import Headers

__all__ = [
    "PORTAL_COOKIE",
    "SESSION_SECONDS",
    "AccessDenied",
    "PortalAuth",
    "PortalSettings",
    "Visitor",
    "mint_link",
    "sign_link",
]

PORTAL_COOKIE = "sla_portal"
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True)
class PortalSettings:
    """The portal's credentials and archive, as plain values (the runtime reads them).

    ``tokens``: client key -> that client's portal token. ``link_key``: the key that signs
    expiring links (None: no links). ``clock``: wall time in seconds, for link expiry.
    """

    tokens: Mapping[str, str] = field(default_factory=dict)
    link_key: str | None = None
    archive_dir: Path | None = None
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        for client, token in self.tokens.items():
            if not token:
                raise ValueError(f"the portal token of client {client!r} is empty")
        if self.link_key is not None and not self.link_key:
            raise ValueError("the portal link key is empty")


# -- signed links --------------------------------------------------------------------------


def sign_link(key: str, client: str, expires: int) -> str:
    """The HMAC-SHA256 (hex) a link for ``client`` valid until ``expires`` carries."""
    message = f"portal-link:{client}:{expires}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def mint_link(base_url: str, client: str, key: str, *, expires: datetime | int) -> str:
    """A link to ``client``'s portal that opens it until ``expires`` (an aware datetime or
    UNIX seconds), for the report email: ``<base>/portal/<client>/?link=<expires>.<mac>``."""
    until = int(expires.timestamp()) if isinstance(expires, datetime) else int(expires)
    token = f"{until}.{sign_link(key, client, until)}"
    return f"{base_url.rstrip('/')}/portal/{quote(client, safe='')}/?link={token}"


def _link_verdict(key: str | None, client: str, value: str, now: float) -> str:
    """``ok``, ``expired`` or ``bad`` for a link (or link cookie) value ``<expires>.<mac>``."""
    expires_text, _, mac = value.partition(".")
    if key is None or not expires_text.isdigit() or not mac:
        return "bad"
    if not hmac.compare_digest(mac.encode(), sign_link(key, client, int(expires_text)).encode()):
        return "bad"
    return "expired" if int(expires_text) < now else "ok"


def _session_mac(token: str, client: str, expires: int) -> str:
    message = f"portal-session:{client}:{expires}".encode()
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()


# -- who is asking -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Visitor:
    """An identified caller: ``client`` None is the MSP (every client)."""

    who: str
    client: str | None
    cookie: str | None = None  # a session cookie to set (after a signed link)
    cookie_max_age: int = 0

    def may_see(self, client: str) -> bool:
        return self.client is None or self.client == client


class AccessDenied(Exception):
    """The request's credentials do not admit it; ``why`` says what was wrong (for the log
    and the login page)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _cookie(headers: Headers, name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


class PortalAuth:
    """Turns a request's credentials into a ``Visitor`` (or raises ``AccessDenied``)."""

    def __init__(
        self,
        settings: PortalSettings,
        msp_token: str | None,
        msp_session: Callable[[Headers], bool] | None,
    ) -> None:
        self.settings = settings
        self.msp_token = msp_token
        self.msp_session = msp_session

    def identify(self, headers: Headers, query: str, client: str) -> Visitor:
        now = self.settings.clock()
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return self._bearer(value.strip())
        links = parse_qs(query).get("link")
        link = links[0] if links else None
        if link is not None:
            verdict = _link_verdict(self.settings.link_key, client, link, now)
            if verdict != "ok":
                raise AccessDenied(f"{verdict} link")
            expires = int(link.partition(".")[0])
            return Visitor(
                f"client {client} (signed link)",
                client,
                cookie=f"l.{quote(client, safe='')}.{link}",
                cookie_max_age=max(1, expires - int(now)),
            )
        session = _cookie(headers, PORTAL_COOKIE)
        if session:
            return self._session(session, now)
        if self.msp_session is not None and self.msp_session(headers):
            return Visitor("msp (dashboard session)", None)
        if self.msp_token is None:
            return Visitor("msp (open dashboard)", None)
        raise AccessDenied("no credential")

    def _bearer(self, given: str) -> Visitor:
        if self.msp_token is not None and hmac.compare_digest(
            given.encode(), self.msp_token.encode()
        ):
            return Visitor("msp (dashboard token)", None)
        for client, token in self.settings.tokens.items():
            if hmac.compare_digest(given.encode(), token.encode()):
                return Visitor(f"client {client} (portal token)", client)
        raise AccessDenied("wrong token")

    def _session(self, value: str, now: float) -> Visitor:
        kind, _, rest = value.partition(".")
        parts = rest.rsplit(".", 2)
        if len(parts) != 3:
            raise AccessDenied("bad session")
        client, expires_text, mac = unquote(parts[0]), parts[1], parts[2]
        if kind == "l":
            verdict = _link_verdict(self.settings.link_key, client, f"{expires_text}.{mac}", now)
            if verdict != "ok":
                raise AccessDenied(f"{verdict} link session")
            return Visitor(f"client {client} (signed link)", client)
        token = self.settings.tokens.get(client)
        if kind != "t" or token is None or not expires_text.isdigit():
            raise AccessDenied("bad session")
        expected = _session_mac(token, client, int(expires_text))
        if not hmac.compare_digest(mac.encode(), expected.encode()):
            raise AccessDenied("bad session")
        if int(expires_text) < now:
            raise AccessDenied("expired session")
        return Visitor(f"client {client} (portal token)", client)

    def login_cookie(self, client: str, given: str) -> tuple[str, int] | None:
        """The session cookie for a correct token typed into the login form, else None."""
        token = self.settings.tokens.get(client)
        if token is None or not hmac.compare_digest(given.encode(), token.encode()):
            return None
        expires = int(self.settings.clock()) + SESSION_SECONDS
        mac = _session_mac(token, client, expires)
        return f"t.{quote(client, safe='')}.{expires}.{mac}", SESSION_SECONDS
