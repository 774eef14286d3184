"""The HTTP layer every built-in PSA adapter shares: retries, rate limits, error mapping.

One ``PsaHttp`` wraps one injected ``httpx.AsyncClient`` per connector. Reads retry (tenacity,
exponential backoff with jitter) on connect errors, timeouts, 5xx and 429, honouring
``Retry-After`` and the vendors' reset headers. Writes retry only when the request provably
never reached the server (connect error) or the server refused it with 429/503; any other
failure after sending raises ``AmbiguousWriteError`` so the adapter re-reads the ticket instead
of writing twice. HTTP answers that need an operator map to distinct ``FatalConnectorError``
subclasses (credentials, permission, not found), which is what ``check()`` verdicts build on.
A per-connector request budget (requests per minute) is kept on the injected clock, and all
waiting goes through an injectable ``sleep`` so tests run in virtual time. A ``PsaHttp``
given no client builds the production one and closes it in ``aclose``; an injected client
belongs to whoever injected it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt, wait_exponential_jitter

from sla_connector.core.errors import FatalConnectorError, RetriableConnectorError
from sla_connector.core.ports import Clock

__all__ = [
    "DEFAULT_TIMEOUT",
    "AmbiguousWriteError",
    "CredentialsRejectedError",
    "Endpoint",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "PsaHttp",
    "RateLimitedError",
    "RequestRejectedError",
    "ServerError",
    "UnmappedReporter",
    "UnreachableError",
    "build_client",
    "validate_base_url",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_RETRY_AFTER = 300.0  # seconds; a longer server-imposed wait ends the poll instead
_BODY_EXCERPT = 300


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
    """404: wrong base URL, or the object (ticket) does not exist."""

    def __init__(self, message: str, *, url: str, status: int = 404) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


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


_RETRY_READ = (UnreachableError, ServerError, RateLimitedError)
_RETRY_WRITE = (UnreachableError, RateLimitedError, ServerError)
# Errors raised before the request bytes left this process: safe to repeat any method.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_base_url(url: str, setting: str) -> str:
    """The base URL without a trailing slash; ``http://`` only for loopback hosts."""
    if not isinstance(url, str) or not url.strip():
        raise FatalConnectorError(f"{setting}: a base URL is required")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FatalConnectorError(f"{setting}: {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise FatalConnectorError(
            f"{setting}: {url!r} uses plain http; use https (http is allowed only for "
            "127.0.0.1, ::1 and localhost)"
        )
    if parts.query or parts.fragment:
        raise FatalConnectorError(f"{setting}: {url!r} must not carry a query or fragment")
    return url.strip().rstrip("/")


def build_client(
    headers: Mapping[str, str] | None = None, timeout: httpx.Timeout = DEFAULT_TIMEOUT
) -> httpx.AsyncClient:
    """The production client for one connector: explicit timeouts, no redirects to follow."""
    return httpx.AsyncClient(headers=dict(headers or {}), timeout=timeout, follow_redirects=False)


def _retry_after(response: httpx.Response, now: datetime) -> float | None:
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


def _excerpt(response: httpx.Response) -> str:
    try:
        text = response.text
    except (UnicodeDecodeError, httpx.ResponseNotRead):
        return ""
    text = " ".join(text.split())
    return text[:_BODY_EXCERPT]


class Endpoint(Protocol):
    """What ``PsaHttp.of`` reads from a connector's settings."""

    @property
    def name(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    @property
    def requests_per_minute(self) -> int: ...


class UnmappedReporter:
    """Logs an unmapped PSA value once per (kind, value), not once per ticket."""

    def __init__(self, name: str, logger: logging.Logger | None = None) -> None:
        self.name = name
        self.seen: set[tuple[str, str]] = set()
        self._log = logger or log

    def report(self, kind: str, value: str) -> None:
        """Warn the first time ``value`` of ``kind`` turns up without a mapping."""
        key = (kind, value)
        if key in self.seen:
            return
        self.seen.add(key)
        self._log.warning("unmapped %s %s in connector %s", kind, value, self.name)


class PsaHttp:
    """Budgeted, retrying requests against one PSA base URL."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        client: httpx.AsyncClient | None,
        clock: Clock,
        requests_per_minute: int,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        max_attempts: int = 5,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        if requests_per_minute < 1:
            raise FatalConnectorError(
                f"connectors.{name}.requests_per_minute: must be at least 1, "
                f"got {requests_per_minute}"
            )
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.name = name
        self.base_url = validate_base_url(base_url, f"connectors.{name}.base_url")
        self._origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.base_url))
        self.owns_client = client is None
        self.client = build_client(timeout=timeout) if client is None else client
        self.clock = clock
        self.requests_per_minute = requests_per_minute
        self.max_attempts = max_attempts
        self._sleep: Callable[[float], Awaitable[None]] = sleep or asyncio.sleep
        self._window: deque[datetime] = deque()
        self._backoff = wait_exponential_jitter(initial=1, max=60, jitter=1)
        self.requests_made = 0

    @classmethod
    def of(
        cls,
        settings: Endpoint,
        clock: Clock,
        *,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        max_attempts: int = 5,
        requests_per_minute: int | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> PsaHttp:
        """The HTTP layer of one connector from its settings (``requests_per_minute`` for a
        second budget on the same client); without ``client`` it builds and owns one."""
        return cls(
            name=settings.name,
            base_url=settings.base_url,
            client=client,
            clock=clock,
            requests_per_minute=requests_per_minute or settings.requests_per_minute,
            sleep=sleep,
            max_attempts=max_attempts,
            timeout=timeout,
        )

    async def aclose(self) -> None:
        """Close the client if this layer built it; an injected one is its owner's."""
        if self.owns_client:
            await self.client.aclose()

    # -- public API -----------------------------------------------------------------------

    def url(self, path: str) -> str:
        """Absolute URL for ``path``; absolute URLs (next-page links) must stay on our origin."""
        if path.startswith(("http://", "https://")):
            if not (path == self._origin or path.startswith(self._origin + "/")):
                raise FatalConnectorError(
                    f"connector {self.name}: refusing to follow {path} off {self._origin}"
                )
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    async def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        max_attempts: int | None = None,
    ) -> httpx.Response:
        """A successful GET response, after retries; raises the mapped errors otherwise.

        ``max_attempts`` overrides the instance's attempts (``check()`` wants a quick verdict).
        """
        url = self.url(path)

        async def attempt() -> httpx.Response:
            try:
                response = await self._request("GET", url, params=params, headers=headers)
            except httpx.TimeoutException as exc:
                if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
                    raise self._unreachable(url, exc) from exc
                raise ServerError(f"timed out reading GET {url}: {exc!r}", url=url) from exc
            except _NOT_SENT as exc:
                raise self._unreachable(url, exc) from exc
            except httpx.TransportError as exc:
                raise ServerError(f"connection failed during GET {url}: {exc!r}", url=url) from exc
            self._raise_for_status("GET", url, response, ambiguous=False)
            return response

        return await self._retrying(attempt, _RETRY_READ, max_attempts)

    async def get_json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        max_attempts: int | None = None,
    ) -> Any:
        """The decoded JSON of a successful GET; malformed JSON raises a retriable error."""
        response = await self.get(path, params=params, headers=headers, max_attempts=max_attempts)
        return self._decode(response)

    async def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """A write: retried only when it provably did not land; else AmbiguousWriteError."""
        url = self.url(path)
        method = method.upper()

        async def attempt() -> httpx.Response:
            try:
                response = await self._request(
                    method, url, params=params, headers=headers, json=json
                )
            except _NOT_SENT as exc:
                raise self._unreachable(url, exc) from exc
            except httpx.TransportError as exc:
                raise AmbiguousWriteError(
                    f"{method} {url} failed after the request was sent ({exc!r}); "
                    "re-read before retrying",
                    url=url,
                ) from exc
            self._raise_for_status(method, url, response, ambiguous=True)
            return response

        return await self._retrying(attempt, _RETRY_WRITE)

    @staticmethod
    def decode(response: httpx.Response) -> Any:
        """JSON of a response (for ``send`` results); malformed bodies raise."""
        return PsaHttp._decode(response)

    # -- internals ------------------------------------------------------------------------

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError) as exc:
            try:
                url = str(response.request.url)
            except RuntimeError:
                url = "?"
            raise MalformedResponseError(
                f"malformed JSON from {url}: {exc}; body starts {_excerpt(response)[:80]!r}",
                url=url,
            ) from exc

    def _unreachable(self, url: str, exc: Exception) -> UnreachableError:
        return UnreachableError(
            f"cannot reach {urlsplit(url).netloc} for connector {self.name} ({exc!r}); "
            "check base_url, DNS, proxy and firewall",
            url=url,
        )

    async def _throttle(self) -> None:
        """Keep at most ``requests_per_minute`` requests in any 60 s window."""
        now = self.clock.now()
        window = timedelta(seconds=60)
        while self._window and self._window[0] <= now - window:
            self._window.popleft()
        if len(self._window) >= self.requests_per_minute:
            start = self._window.popleft() + window
            wait = (start - now).total_seconds()
            if wait > 0:
                await self._sleep(wait)
            now = max(now, start)  # do not rely on a virtual clock advancing during sleep
        self._window.append(now)

    async def _request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        json: Any = None,
    ) -> httpx.Response:
        await self._throttle()
        self.requests_made += 1
        kwargs: dict[str, Any] = {}
        if params:
            kwargs["params"] = {k: v for k, v in params.items() if v is not None}
        if headers:
            kwargs["headers"] = dict(headers)
        if json is not None:
            kwargs["json"] = json
        return await self.client.request(method, url, **kwargs)

    def _raise_for_status(
        self, method: str, url: str, response: httpx.Response, *, ambiguous: bool
    ) -> None:
        status = response.status_code
        if status < 400:
            return
        where = f"{method} {url}"
        if status == 401:
            raise CredentialsRejectedError(
                f"credentials rejected by {self.name} ({where} -> 401); check the keys/token "
                "and the *_env variables that hold them",
                url=url,
            )
        if status == 403:
            raise PermissionDeniedError(
                f"permission/scope missing for {self.name} ({where} -> 403); grant the API "
                "account access to this endpoint",
                url=url,
            )
        if status == 404:
            raise NotFoundError(
                f"not found: {where} -> 404; check base_url or that the object exists",
                url=url,
            )
        if status == 429:
            wait = _retry_after(response, self.clock.now().astimezone(UTC))
            raise RateLimitedError(
                f"rate limited by {self.name} ({where} -> 429, retry after {wait}s)",
                url=url,
                retry_after=wait,
            )
        if status >= 500:
            wait = _retry_after(response, self.clock.now().astimezone(UTC))
            if ambiguous and status != 503:
                raise AmbiguousWriteError(
                    f"{where} -> {status} after the request was sent; re-read before retrying",
                    url=url,
                    status=status,
                )
            raise ServerError(
                f"{where} -> {status}: {_excerpt(response)}",
                url=url,
                status=status,
                retry_after=wait,
            )
        body = _excerpt(response)
        raise RequestRejectedError(
            f"{where} -> {status}: {body}", url=url, status=status, body=body
        )

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float):
            return float(retry_after)
        return float(self._backoff(state))

    async def _retrying(
        self,
        attempt: Callable[[], Awaitable[httpx.Response]],
        retry_on: tuple[type[Exception], ...],
        max_attempts: int | None = None,
    ) -> httpx.Response:
        def should_retry(state: RetryCallState) -> bool:
            if state.outcome is None or not state.outcome.failed:
                return False
            exc = state.outcome.exception()
            if not isinstance(exc, retry_on):
                return False
            wait = getattr(exc, "retry_after", None)
            return not (isinstance(wait, int | float) and wait > MAX_RETRY_AFTER)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            log.warning(
                "connector %s: attempt %d failed (%s); retrying in %.1fs",
                self.name,
                state.attempt_number,
                exc,
                state.next_action.sleep if state.next_action else 0.0,
            )

        retrying = AsyncRetrying(
            sleep=self._sleep,
            stop=stop_after_attempt(max(1, max_attempts or self.max_attempts)),
            wait=self._wait,
            retry=should_retry,
            before_sleep=before_sleep,
            reraise=True,
        )
        result: httpx.Response = await retrying(attempt)
        return result
