"""How a connector authenticates, as the shared HTTP layer sees it: ``Credentials``.

A ``Credentials`` object gives the headers of each request and, after a 401, may renew them
once (``oauth.ClientCredentialsToken`` fetches a fresh access token; ``StaticCredentials``,
for API tokens and keys, cannot). ``describe`` is what ``check`` prints: the method in use,
when the credential stops working, the scopes granted and the scopes missing. No secret is
ever part of a description, a log line or an error message.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

__all__ = ["AuthDescription", "Credentials", "StaticCredentials", "basic_header"]


def basic_header(user: str, secret: str) -> str:
    """``Basic base64("{user}:{secret}")`` (RFC 7617), as every vendor's API tokens use."""
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")


@dataclass(frozen=True, slots=True)
class AuthDescription:
    """What ``check`` says about the credentials in use (never the secret itself).

    ``scopes`` are the scopes the PSA granted (None: the vendor does not report them),
    ``missing_scopes`` those the connector needs and lacks, ``expires_at`` when the current
    credential stops working (an access token's expiry, an API token's retirement date).
    """

    method: str
    label: str
    expires_at: datetime | None = None
    scopes: tuple[str, ...] | None = None
    missing_scopes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def details(self) -> dict[str, Any]:
        """The JSON-able form ``CheckResult.details["auth"]`` carries."""
        return {
            "method": self.method,
            "label": self.label,
            "expires_at": None if self.expires_at is None else self.expires_at.isoformat(),
            "scopes": None if self.scopes is None else list(self.scopes),
            "missing_scopes": list(self.missing_scopes),
            "warnings": list(self.warnings),
        }


class Credentials(Protocol):
    """How one connector authenticates: headers for each request, renewed after a 401."""

    async def headers(self) -> Mapping[str, str]:
        """The authentication headers of the next request (may fetch a token first)."""
        ...

    async def renew(self, rejected: Mapping[str, str]) -> bool:
        """After a 401 to a request sent with ``rejected``: True when fresh credentials are
        ready (the request is sent once more), False when renewing cannot help."""
        ...

    def describe(self) -> AuthDescription: ...


@dataclass(frozen=True, slots=True)
class StaticCredentials:
    """Headers that never change (Basic API tokens, keys); a 401 cannot be renewed away."""

    fixed: Mapping[str, str]
    method: str
    label: str
    expires_at: datetime | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    async def headers(self) -> Mapping[str, str]:
        return self.fixed

    async def renew(self, rejected: Mapping[str, str]) -> bool:
        return False

    def describe(self) -> AuthDescription:
        return AuthDescription(
            self.method, self.label, expires_at=self.expires_at, warnings=self.warnings
        )
