"""Who is calling the Jira twin: personal API tokens, service accounts, OAuth 2.0 tokens.

- Personal API token: Basic ``{email}:{api_token}`` against the site URL
  (``https://{site}.atlassian.net``); psa-apis.md section 0 and 2.1.
- Service accounts (support.atlassian.com user-management "Create OAuth 2.0 credential for
  service accounts"; psa-apis.md "Corrections and changes as of 2026-12"): either a scoped
  API token that expires (1-365 days), Basic ``{service account email}:{token}``, or an OAuth
  2.0 client credential: ``POST https://auth.atlassian.com/oauth/token`` with the client id
  and secret gives an access token "valid for 60 minutes" (``expires_in`` 3600); both are
  accepted only through the gateway ``https://api.atlassian.com/ex/jira/{cloudId}/...``, not
  the site URL. The token request is JSON (``grant_type``, ``client_id``, ``client_secret``)
  as Atlassian's OAuth examples send it (a form body is accepted too [verify]).
- Scopes: each operation needs the classic scope the spec's ``x-atlassian-oauth2-scopes``
  names (``read:jira-work``, ``write:jira-work``, ``read:jira-user``,
  ``read:servicedesk-request``, ``write:servicedesk-request``); a token without it gets 403
  [verify the body]. Personal tokens carry the user's whole permission.
- An unknown or expired credential answers 401 ``{"code": 401, "message": "Unauthorized"}``
  through the gateway [verify], the error shapes of the token endpoint follow RFC 6749 5.2.
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.twins.clock import Clock
from tests.twins.jira_sm.model import JiraError

__all__ = ["SCOPES", "Caller", "JiraAuth"]

SCOPES = (
    "read:jira-work",
    "write:jira-work",
    "read:jira-user",
    "read:servicedesk-request",
    "write:servicedesk-request",
)
TOKEN_LIFETIME = 3600.0


@dataclass(frozen=True)
class Caller:
    account_id: str
    method: str  # personal_token | service_token | oauth
    scopes: frozenset[str] | None  # None: the user's whole permission

    @property
    def label(self) -> str:
        return f"{self.method}:{self.account_id}"


@dataclass
class _Token:
    account_id: str
    scopes: frozenset[str]
    expires_at: float


def _unauthorized() -> JiraError:
    error = JiraError(401, "Unauthorized")
    error.body = {"code": 401, "message": "Unauthorized"}
    return error


@dataclass
class JiraAuth:
    clock: Clock
    token_lifetime: float = TOKEN_LIFETIME
    personal: dict[str, tuple[str, str]] = field(default_factory=dict)  # email -> (token, acct)
    service: dict[str, tuple[str, str, frozenset[str], float]] = field(default_factory=dict)
    clients: dict[str, tuple[str, str, frozenset[str]]] = field(default_factory=dict)
    tokens: dict[str, _Token] = field(default_factory=dict)
    issued: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_personal_token(self, email: str, account_id: str) -> str:
        token = secrets.token_urlsafe(24)
        self.personal[email] = (token, account_id)
        return token

    def add_service_token(
        self, email: str, account_id: str, scopes: tuple[str, ...], days: int = 365
    ) -> str:
        token = secrets.token_urlsafe(24)
        self.service[email] = (token, account_id, frozenset(scopes), self.clock() + days * 86400)
        return token

    def add_oauth_client(self, account_id: str, scopes: tuple[str, ...]) -> tuple[str, str]:
        client_id, secret = secrets.token_hex(8), secrets.token_hex(24)
        self.clients[client_id] = (secret, account_id, frozenset(scopes))
        return client_id, secret

    def expire_tokens(self) -> None:
        with self._lock:
            for token in self.tokens.values():
                token.expires_at = min(token.expires_at, self.clock() - 1)

    def authenticate(self, headers: Mapping[str, str], *, gateway: bool) -> Caller:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                email, _, secret = base64.b64decode(value).decode().partition(":")
            except (ValueError, UnicodeDecodeError) as exc:
                raise _unauthorized() from exc
            if gateway:
                found = self.service.get(email)
                if found is None or found[0] != secret or found[3] <= self.clock():
                    raise _unauthorized()
                return Caller(found[1], "service_token", found[2])
            personal = self.personal.get(email)
            if personal is None or personal[0] != secret:
                raise _unauthorized()
            return Caller(personal[1], "personal_token", None)
        if scheme.lower() == "bearer" and gateway:
            with self._lock:
                token = self.tokens.get(value.strip())
            if token is None or token.expires_at <= self.clock():
                raise _unauthorized()
            return Caller(token.account_id, "oauth", token.scopes)
        raise _unauthorized()

    @staticmethod
    def require(caller: Caller, scope: str) -> None:
        if caller.scopes is not None and scope not in caller.scopes:
            raise JiraError(403, f"Unauthorized; scope does not match (needs {scope})")

    def token_endpoint(self, body: Mapping[str, Any]) -> dict[str, Any]:
        if body.get("grant_type") != "client_credentials":
            error = JiraError(400, "unsupported_grant_type")
            error.body = {"error": "unsupported_grant_type", "error_description": "grant_type"}
            raise error
        found = self.clients.get(str(body.get("client_id")))
        if found is None or not secrets.compare_digest(found[0], str(body.get("client_secret"))):
            error = JiraError(401, "access_denied")
            error.body = {"error": "access_denied", "error_description": "Unauthorized"}
            raise error
        token = secrets.token_urlsafe(32)
        with self._lock:
            self.tokens[token] = _Token(found[1], found[2], self.clock() + self.token_lifetime)
            self.issued += 1
        return {
            "access_token": token,
            "expires_in": int(self.token_lifetime),
            "token_type": "Bearer",
            "scope": " ".join(sorted(found[2])),
        }
