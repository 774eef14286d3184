"""Who is calling the Zendesk twin: legacy API tokens, OAuth client-credentials tokens.

- API token: ``Authorization: Basic base64("{email}/token:{api_token}")``; a token is the
  account's, usable with any agent's email (psa-apis.md section 3.1; support.zendesk.com
  article 4408889192858 "Managing access to the Zendesk API"). API tokens can be switched
  off, as every remaining one is on 2027-04-30 (psa-apis.md "Corrections and changes";
  developer.zendesk.com/documentation/api-basics/authentication/oauth-migration/).
- OAuth: ``POST /oauth/tokens`` with ``grant_type=client_credentials``, ``client_id``,
  ``client_secret``, ``scope`` and optional ``expires_in`` (more than 300 and less than
  172,800 seconds) in a JSON body; the answer carries ``access_token``, ``token_type``
  ``bearer``, ``scope``, ``expires_in`` (spec ``/oauth/tokens`` ``CreateTokenForGrantType``,
  ``OAuthTokenForGrantTypesObject``; 201). New clients' tokens expire, 30 minutes by default
  (psa-apis.md "Corrections and changes"). A form-encoded body is accepted too [verify];
  client authentication by HTTP Basic is refused unless enabled, since the docs only show
  the body form [verify]. The token acts as the admin who created the client (the OAuth
  client's ``user_id``, developer.zendesk.com/api-reference/ticketing/oauth/oauth_clients).
- Scopes: ``read`` gives GET, ``write`` gives POST/PUT/DELETE, ``resource:read|write``
  narrows to one resource; a missing scope is "Forbidden" (spec ``/oauth/tokens`` "Scope").
- Errors: bad credentials 401 ``{"error": "Couldn't authenticate you"}`` [3p: widely
  quoted Zendesk answer; verify]; an expired bearer token 401 ``invalid_token`` with a
  ``WWW-Authenticate: Bearer`` header (RFC 6750 section 3.1) [verify Zendesk's body];
  token endpoint errors as RFC 6749 section 5.2 (``invalid_client``,
  ``unsupported_grant_type``, ``invalid_request``).
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.twins.clock import Clock
from tests.twins.zendesk.model import ZendeskError, ZendeskState

__all__ = ["AccessToken", "Authenticator", "OAuthClient", "Principal"]

MIN_EXPIRES_IN, MAX_EXPIRES_IN = 300, 172_800
DEFAULT_TOKEN_LIFETIME = 1800.0


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int | None
    method: str  # api_token | oauth | anonymous
    label: str
    scopes: frozenset[str] | None = None  # None: everything the user may do


@dataclass
class OAuthClient:
    identifier: str
    secret: str
    user_id: int
    kind: str = "confidential"


@dataclass
class AccessToken:
    token: str
    client: str
    user_id: int
    scopes: frozenset[str]
    expires_at: float


def _unauthorized() -> ZendeskError:
    return ZendeskError(401, {"error": "Couldn't authenticate you"})


def _oauth_error(status: int, error: str, description: str) -> ZendeskError:
    return ZendeskError(status, {"error": error, "error_description": description})


@dataclass
class Authenticator:
    state: ZendeskState
    clock: Clock
    token_lifetime: float = DEFAULT_TOKEN_LIFETIME
    max_token_lifetime: float | None = None
    api_tokens_enabled: bool = True
    accept_client_secret_basic: bool = False
    api_tokens: set[str] = field(default_factory=set)
    clients: dict[str, OAuthClient] = field(default_factory=dict)
    access: dict[str, AccessToken] = field(default_factory=dict)
    issued: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue_api_token(self) -> str:
        token = secrets.token_urlsafe(30)
        with self._lock:
            self.api_tokens.add(token)
        return token

    def add_oauth_client(self, identifier: str, *, user_id: int, kind: str = "confidential") -> str:
        """Register an OAuth client acting as ``user_id``; returns its secret."""
        secret = secrets.token_hex(32)
        with self._lock:
            self.clients[identifier] = OAuthClient(identifier, secret, user_id, kind)
        return secret

    def expire_tokens(self) -> None:
        """Make every access token issued so far expired (as if its lifetime had passed)."""
        with self._lock:
            for token in self.access.values():
                token.expires_at = min(token.expires_at, self.clock() - 1)

    # -- requests ---------------------------------------------------------------------

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        header = headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if not header:
            return Principal(None, "anonymous", "anonymous")
        if scheme.lower() == "basic":
            return self._basic(value.strip())
        if scheme.lower() == "bearer":
            return self._bearer(value.strip())
        raise _unauthorized()

    def _basic(self, value: str) -> Principal:
        try:
            user_part, _, secret = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError) as exc:
            raise _unauthorized() from exc
        email, _, kind = user_part.partition("/")
        user = self.state.user_by_email(email)
        with self._lock:
            valid = kind == "token" and self.api_tokens_enabled and secret in self.api_tokens
        if user is None or user.role == "end-user" or not valid:
            # Password access is off by default, so ``email:password`` fails too.
            raise _unauthorized()
        return Principal(user.id, "api_token", f"token:{user.email}")

    def _bearer(self, value: str) -> Principal:
        with self._lock:
            token = self.access.get(value)
        if token is None:
            raise _unauthorized()
        if token.expires_at <= self.clock():
            raise ZendeskError(
                401,
                {"error": "invalid_token", "error_description": "The access token expired"},
                {
                    "WWW-Authenticate": 'Bearer realm="Zendesk", error="invalid_token", '
                    'error_description="The access token expired"'
                },
            )
        return Principal(token.user_id, "oauth", f"oauth:{token.client}", token.scopes)

    @staticmethod
    def require_scope(principal: Principal, method: str, path: str) -> None:
        if principal.scopes is None:
            return
        access = "read" if method in ("GET", "HEAD") else "write"
        parts = path.removeprefix("/api/v2/").split("/")
        resource = "tickets" if parts[0] in ("tickets", "incremental") else parts[0]
        if access in principal.scopes or f"{resource}:{access}" in principal.scopes:
            return
        missing = f"You are missing the following required scopes: {resource}:{access}"
        raise ZendeskError(403, {"error": "Forbidden", "description": missing})

    # -- the token endpoint -----------------------------------------------------------

    def token_endpoint(self, body: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        grant = body.get("grant_type")
        if grant != "client_credentials":
            raise _oauth_error(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            )
        client_id, secret = body.get("client_id"), body.get("client_secret")
        basic = headers.get("authorization", "")
        if basic.lower().startswith("basic ") and self.accept_client_secret_basic:
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        with self._lock:
            client = self.clients.get(str(client_id))
        if (
            client is None
            or client.kind != "confidential"
            or not secrets.compare_digest(str(secret or ""), client.secret)
        ):
            raise _oauth_error(
                401,
                "invalid_client",
                "Client authentication failed due to unknown client, no client authentication "
                "included, or unsupported authentication method.",
            )
        lifetime = self.token_lifetime
        if body.get("expires_in") is not None:
            try:
                lifetime = float(body["expires_in"])
            except (TypeError, ValueError) as exc:
                raise _oauth_error(400, "invalid_request", "expires_in is not a number") from exc
            if not MIN_EXPIRES_IN < lifetime < MAX_EXPIRES_IN:
                raise _oauth_error(
                    400, "invalid_request", "expires_in must be more than 300 and less than 172800"
                )
        if self.max_token_lifetime is not None:
            lifetime = min(lifetime, self.max_token_lifetime)
        scope = str(body.get("scope") or "read")
        token = AccessToken(
            secrets.token_urlsafe(24),
            client.identifier,
            client.user_id,
            frozenset(scope.split()),
            self.clock() + lifetime,
        )
        with self._lock:
            self.access[token.token] = token
            self.issued += 1
        return {
            "access_token": token.token,
            "token_type": "bearer",
            "scope": scope,
            "expires_in": int(lifetime),
        }
