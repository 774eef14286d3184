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

from sla_connector.core.errors import (
    FatalConnectorError,
    RetriableConnectorError,
    WriteConflictError,
)

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
    "raise_for_status",
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


def raise_for_status(
    psa: str, method: str, url: str, response: httpx.Response, *, ambiguous: bool, now: datetime
) -> None:
    """Raise the error class that says how to recover from an HTTP answer of 400 or more
    (``psa`` names the connector in the message; ``now`` dates a ``Retry-After``)."""
    status = response.status_code
    if status < 400:
        return
    where = f"{method} {url}"
    if status == 401:
        raise CredentialsRejectedError(
            f"credentials rejected by {psa} ({where} -> 401); check the keys/token "
            "and the *_env variables that hold them",
            url=url,
        )
    if status == 403:
        raise PermissionDeniedError(
            f"permission/scope missing for {psa} ({where} -> 403); grant the API "
            f"account access to this endpoint: {excerpt(response)[:160]}",
            url=url,
        )
    if status == 404:
        raise NotFoundError(
            f"not found: {where} -> 404; check base_url or that the object exists",
            url=url,
            body=excerpt(response),
        )
    if status == 409:
        raise WriteConflictError(
            f"conflict: {where} -> 409 (the object changed since it was read): "
            f"{excerpt(response)[:160]}",
            url=url,
        )
    if status == 429:
        wait = retry_after_seconds(response, now)
        raise RateLimitedError(
            f"rate limited by {psa} ({where} -> 429, retry after {wait}s)",
            url=url,
            retry_after=wait,
        )
    if status >= 500:
        wait = retry_after_seconds(response, now)
        if ambiguous and status != 503:
            raise AmbiguousWriteError(
                f"{where} -> {status} after the request was sent; re-read before retrying",
                url=url,
                status=status,
            )
        raise ServerError(
            f"{where} -> {status}: {excerpt(response)}",
            url=url,
            status=status,
            retry_after=wait,
        )
    body = excerpt(response)
    raise RequestRejectedError(f"{where} -> {status}: {body}", url=url, status=status, body=body)
