"""The errors of the shared HTTP layer, named by how a caller recovers.

Answers that need an operator are ``FatalConnectorError`` subclasses (credentials,
permission, not found, another 4xx); transient trouble is ``RetriableConnectorError``
(unreachable, 5xx or a read timeout, 429, a malformed body); a write that may or may not
have landed is ``AmbiguousWriteError``. Each carries the URL (never a credential) and, where
the server said, how long to wait. ``check()`` verdicts and the per-request retries are
built on these classes. A 409 is ``core.errors.WriteConflictError``, a port-level signal.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

from sla_connector.core.errors import FatalConnectorError, RetriableConnectorError

__all__ = [
    "AmbiguousWriteError",
    "CredentialsRejectedError",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RequestRejectedError",
    "ServerError",
    "UnreachableError",
    "excerpt",
    "retry_after_seconds",
]

BODY_EXCERPT = 300


class CredentialsRejectedError(FatalConnectorError):
    """401: the PSA did not accept the configured credentials."""

    def __init__(self, message: str, *, url: str, status: int = 401) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class PermissionDeniedError(FatalConnectorError):
    """403: authenticated, but the account lacks a permission or API scope."""

    def __init__(self, message: str, *, url: str, status: int = 403) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class NotFoundError(FatalConnectorError):
    """404: wrong base URL, or the object (ticket) does not exist; ``body`` is the answer's
    start (some PSAs say there why: a withdrawn ticket)."""

    def __init__(self, message: str, *, url: str, status: int = 404, body: str = "") -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.body = body


class RequestRejectedError(FatalConnectorError):
    """Another 4xx: the PSA rejected the request itself (validation, conflict)."""

    def __init__(self, message: str, *, url: str, status: int, body: str = "") -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.body = body


class UnreachableError(RetriableConnectorError):
    """The host could not be reached (DNS, refused connection, TLS, connect timeout)."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url
        self.status: int | None = None
        self.unresolved = False  # the host name did not resolve: not retried


class ServerError(RetriableConnectorError):
    """5xx, or a timeout while reading a response, that outlasted the retries."""

    def __init__(
        self, message: str, *, url: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.retry_after = retry_after


class RateLimitedError(RetriableConnectorError):
    """429 that outlasted the retries, or asked for a wait longer than ``MAX_RETRY_AFTER``."""

    def __init__(self, message: str, *, url: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = 429
        self.retry_after = retry_after


class MalformedResponseError(RetriableConnectorError):
    """The response body is not the JSON the endpoint promises."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url
        self.status: int | None = None


class AmbiguousWriteError(RetriableConnectorError):
    """A write may or may not have landed: re-read before deciding to write again."""

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


def retry_after_seconds(response: httpx.Response, now: datetime) -> float | None:
    """Seconds to wait from Retry-After or a vendor reset header, if any."""
    value = response.headers.get("Retry-After")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(0.0, (when - now).total_seconds())
    reset = response.headers.get("X-RateLimit-Reset")  # Jira: ISO timestamp
    if reset:
        try:
            when = datetime.fromisoformat(reset.strip().replace("Z", "+00:00"))
            if when.tzinfo is not None:
                return max(0.0, (when - now).total_seconds())
        except ValueError:
            pass
    reset = response.headers.get("ratelimit-reset")  # Zendesk / IETF draft: seconds
    if reset:
        try:
            return max(0.0, float(reset.strip()))
        except ValueError:
            pass
    return None


def excerpt(response: httpx.Response) -> str:
    try:
        text = response.text
    except (UnicodeDecodeError, httpx.ResponseNotRead):
        return ""
    text = " ".join(text.split())
    return text[:BODY_EXCERPT]
