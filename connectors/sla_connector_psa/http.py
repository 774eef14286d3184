"""The HTTP layer every built-in PSA adapter shares: credentials, retries, rate limits, errors.

One ``PsaHttp`` wraps one injected ``httpx.AsyncClient`` per connector. Every request retries
by itself (tenacity, exponential backoff with jitter), so one request that needs a retry never
fails a whole poll. Reads retry on connect errors, timeouts, connection resets, 5xx, 429
(honouring ``Retry-After`` and the vendors' reset headers) and on a body that is not the JSON
the endpoint promises (a truncated answer is as transient as a 500; cut bodies and refused
requests each get ``max_attempts`` on one read). Writes retry only when
the request provably never reached the server (connect error) or the server refused it with
429/503; any other failure after sending raises ``AmbiguousWriteError`` so the adapter
re-reads the ticket instead of writing twice, and a 409 raises
``core.errors.WriteConflictError``. HTTP answers that need an operator map to distinct
``FatalConnectorError`` subclasses (``http_errors``), which ``check()`` verdicts build on.

Credentials come from a ``Credentials`` object (static headers, or ``oauth``'s
client-credentials token source); after a 401 they are renewed once and the request is sent
again, so an access token that expired between two requests never reaches the caller. A
per-connector request budget (requests per minute, ``budget.RequestBudget``, which says
how requests of each priority share it; base URLs are checked in ``urls``) is kept on the
injected clock, and all waiting goes through an injectable ``sleep`` so tests run in
virtual time; ``core.ports.request_sent`` is called as each request leaves.
``keep_budgets(log)`` keeps every budget of the layer and its siblings in a
``core.ports.RequestLog`` (the runtime's store): it starts from the requests the log holds
for the last minute and counts each request there before sending it, so a restarted
daemon cannot exceed a vendor's limit by starting with a fresh budget. A ``PsaHttp``
given no client builds the production one and closes it in ``aclose``; an injected client
belongs to whoever injected it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, wait_exponential_jitter

from sla_connector.core.errors import FatalConnectorError
from sla_connector.core.ports import (
    Clock,
    RequestLog,
    is_urgent,
    request_priority,
    request_sent,
    urgent,
)
from sla_connector_psa.budget import RequestBudget
from sla_connector_psa.credentials import AuthDescription, Credentials, StaticCredentials
from sla_connector_psa.http_errors import (
    AmbiguousWriteError,
    CredentialsRejectedError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RequestRejectedError,
    ServerError,
    UnreachableError,
    excerpt,
    raise_for_status,
)
from sla_connector_psa.urls import split_userinfo, validate_base_url
from sla_connector_psa.values import UnmappedReporter

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_RETRY_AFTER",
    "AmbiguousWriteError",
    "AuthDescription",
    "Credentials",
    "CredentialsRejectedError",
    "Endpoint",
    "HttpBacked",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "PsaHttp",
    "RateLimitedError",
    "RequestRejectedError",
    "ServerError",
    "StaticCredentials",
    "UnmappedReporter",
    "UnreachableError",
    "build_client",
    "split_userinfo",
    "validate_base_url",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# The first attempt of an urgent read (the verify read of a due step) gives up sooner: a
# ticket read answers in well under a second, so a stalled one is retried after 4 s instead
# of holding the step for 30 s; the retries wait the full timeout, for a slow endpoint.
URGENT_FIRST_TIMEOUT = httpx.Timeout(4.0, connect=4.0)
MAX_RETRY_AFTER = 300.0  # seconds; a longer server-imposed wait ends the poll instead


_RETRY_READ = (UnreachableError, ServerError, RateLimitedError, MalformedResponseError)
_RETRY_WRITE = (UnreachableError, RateLimitedError, ServerError)
# Errors raised before the request bytes left this process: safe to repeat any method.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def _unresolved(exc: BaseException) -> bool:
    """Whether a connection failed because the host name did not resolve (DNS)."""
    seen: BaseException | None = exc
    for _ in range(8):  # a bounded walk down the cause chain
        if seen is None:
            return False
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def build_client(
    headers: Mapping[str, str] | None = None, timeout: httpx.Timeout = DEFAULT_TIMEOUT
) -> httpx.AsyncClient:
    """The production client for one connector: explicit timeouts, no redirects to follow."""
    return httpx.AsyncClient(headers=dict(headers or {}), timeout=timeout, follow_redirects=False)


@dataclass(frozen=True, slots=True)
class _Call:
    """One request as the layer sends it, before credentials are added."""

    method: str
    url: str
    params: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None
    json: Any = None
    data: Mapping[str, str] | None = None
    timeout: httpx.Timeout | None = None  # None: the client's own


class Endpoint(Protocol):
    """What ``PsaHttp.of`` reads from a connector's settings."""

    @property
    def name(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    @property
    def requests_per_minute(self) -> int: ...


class PsaHttp(RequestBudget):
    """Budgeted, retrying, authenticated requests against one PSA base URL."""

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
        credentials: Credentials | None = None,
    ) -> None:
        if requests_per_minute < 1:
            raise FatalConnectorError(
                f"connectors.{name}.requests_per_minute: must be at least 1, "
                f"got {requests_per_minute}"
            )
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.name = name
        self.base_url, self._userinfo_auth = split_userinfo(
            validate_base_url(base_url, f"connectors.{name}.base_url")
        )
        self._origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.base_url))
        self.owns_client = client is None
        self.client = build_client(timeout=timeout) if client is None else client
        self.clock = clock
        self.requests_per_minute = requests_per_minute
        self.max_attempts = max_attempts
        self.credentials = credentials
        self.observers: list[Callable[[httpx.Response], None]] = []
        self._sleep: Callable[[float], Awaitable[None]] = sleep or asyncio.sleep
        self._init_budget(name, requests_per_minute)
        self.family: list[RequestBudget] = [self]  # this layer and its siblings (one account)
        # The account-wide budget a narrower endpoint budget also draws on (a Zendesk
        # incremental export request counts against the account limit too), or None.
        self.account: PsaHttp | None = None
        self._backoff = wait_exponential_jitter(initial=1, max=60, jitter=1)
        self.requests_made = 0
        self.retries = 0  # attempts beyond each request's first (a health counter)
        self.renewals = 0  # credentials renewed after a 401

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
        credentials: Credentials | None = None,
        base_url: str | None = None,
    ) -> PsaHttp:
        """The HTTP layer of one connector from its settings (``requests_per_minute`` for a
        second budget on the same client); without ``client`` it builds and owns one."""
        return cls(
            name=settings.name,
            base_url=base_url or settings.base_url,
            client=client,
            clock=clock,
            requests_per_minute=requests_per_minute or settings.requests_per_minute,
            sleep=sleep,
            max_attempts=max_attempts,
            timeout=timeout,
            credentials=credentials,
        )

    def sibling(
        self,
        *,
        requests_per_minute: int,
        base_url: str | None = None,
        authenticated: bool = True,
        within_account: bool = False,
        paced: bool = False,
    ) -> PsaHttp:
        """Another budget (or host) on the same client, clock and sleep; with this layer's
        credentials unless ``authenticated`` is False (a token endpoint).

        ``within_account``: the sibling's endpoints have a limit of their own *and* count
        against this layer's (the account's) limit, so each of its requests takes a slot in
        both budgets; without it the two budgets are independent (another host). ``paced``:
        the first request of each poll (made inside ``budget.pacing()``) is spaced out, and
        the sibling's requests take their account slot as urgent (``budget.RequestBudget``).
        """
        other = PsaHttp(
            name=self.name,
            base_url=base_url or self.base_url,
            client=self.client,
            clock=self.clock,
            requests_per_minute=requests_per_minute,
            sleep=self._sleep,
            max_attempts=self.max_attempts,
            credentials=self.credentials if authenticated else None,
        )
        other.owns_client = False
        other.observers = self.observers
        if authenticated and base_url is None:
            other._userinfo_auth = self._userinfo_auth

        other.family = self.family
        other.paced = paced
        if within_account:
            account = self.family[0]
            assert isinstance(account, PsaHttp)  # every member of a family is a layer
            other.account = account
        other.bucket = f"{self.name}/{len(self.family)}/{requests_per_minute}"
        self.family.append(other)
        if self.request_log is not None:
            other.keep_budget(self.request_log)
        return other

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
        response: httpx.Response = await self._read(
            path, params, headers, max_attempts, decode=False
        )
        return response

    async def get_json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        max_attempts: int | None = None,
    ) -> Any:
        """The decoded JSON of a successful GET; a malformed or truncated body is retried
        like a 500, and raises ``MalformedResponseError`` only when every attempt was bad."""
        return await self._read(path, params, headers, max_attempts, decode=True)

    async def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = False,
    ) -> httpx.Response:
        """A write: retried only when it provably did not land; else AmbiguousWriteError.

        ``idempotent`` requests (a token request) are retried like reads: sending one twice
        does no harm.
        """
        call = _Call(method.upper(), self.url(path), params, headers, json, data)
        if idempotent:

            async def again() -> httpx.Response:
                return await self._read_attempt(call)

            answer: httpx.Response = await self._retrying(again, _RETRY_READ)
            return answer

        async def attempt() -> httpx.Response:
            try:
                response = await self._authenticated(call)
            except _NOT_SENT as exc:
                raise self._unreachable(call.url, exc) from exc
            except httpx.TransportError as exc:
                raise AmbiguousWriteError(
                    f"{call.method} {call.url} failed after the request was sent ({exc!r}); "
                    "re-read before retrying",
                    url=call.url,
                ) from exc
            self._check_status(call.method, call.url, response, ambiguous=True)
            return response

        response: httpx.Response = await self._retrying(attempt, _RETRY_WRITE)
        return response

    async def send_json(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """A write's decoded answer. A 2xx whose body is cut short still landed: it returns
        ``{}`` (and logs) rather than raising, so the write is never sent twice for it."""
        response = await self.send(method, path, json=json, params=params, headers=headers)
        try:
            return self._decode(response)
        except MalformedResponseError as exc:
            log.warning(
                "connector %s: %s; the write landed (status %d)",
                self.name,
                exc,
                response.status_code,
            )
            return {}

    @staticmethod
    def decode(response: httpx.Response) -> Any:
        """JSON of a response (for ``send`` results); malformed bodies raise."""
        return PsaHttp._decode(response)

    # -- internals ------------------------------------------------------------------------

    async def _read(
        self,
        path: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        max_attempts: int | None,
        *,
        decode: bool,
    ) -> Any:
        call = _Call("GET", self.url(path), params, headers)
        quick = replace(call, timeout=URGENT_FIRST_TIMEOUT)
        tries = 0

        async def attempt() -> Any:
            nonlocal tries
            tries += 1
            first_urgent = tries == 1 and is_urgent(request_priority.get())
            response = await self._read_attempt(quick if first_urgent else call)
            return self._decode(response) if decode else response

        return await self._retrying(attempt, _RETRY_READ, max_attempts)

    async def _read_attempt(self, call: _Call) -> httpx.Response:
        url = call.url
        try:
            response = await self._authenticated(call)
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
                raise self._unreachable(url, exc) from exc
            raise ServerError(f"timed out reading {call.method} {url}: {exc!r}", url=url) from exc
        except _NOT_SENT as exc:
            raise self._unreachable(url, exc) from exc
        except httpx.TransportError as exc:
            raise ServerError(
                f"connection failed during {call.method} {url}: {exc!r}", url=url
            ) from exc
        self._check_status(call.method, url, response, ambiguous=False)
        return response

    async def _authenticated(self, call: _Call) -> httpx.Response:
        """One request with the current credentials; after a 401, renewed once and resent
        (a 401 means the PSA refused the request, so resending cannot write twice)."""
        auth: Mapping[str, str] = {}
        if self.credentials is not None:
            auth = await self.credentials.headers()
        response = await self._request(call, auth)
        if (
            response.status_code == 401
            and self.credentials is not None
            and await self.credentials.renew(auth)
        ):
            self.renewals += 1
            log.info("connector %s: credentials renewed after a 401; sending again", self.name)
            response = await self._request(call, await self.credentials.headers())
        return response

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
                f"malformed JSON from {url}: {exc}; body starts {excerpt(response)[:80]!r}",
                url=url,
            ) from exc

    def _unreachable(self, url: str, exc: Exception) -> UnreachableError:
        host = urlsplit(url).netloc
        if _unresolved(exc):
            # A name that does not resolve will not resolve a second later: one attempt, no
            # back-off (the next poll asks again), so `check` answers at once.
            error = UnreachableError(
                f"cannot resolve {urlsplit(url).hostname} for connector {self.name} (DNS); "
                "check base_url (or subdomain / site) and this machine's DNS",
                url=url,
            )
            error.unresolved = True
            return error
        return UnreachableError(
            f"cannot reach {host} for connector {self.name} ({exc!r}); "
            "check base_url, DNS, proxy and firewall",
            url=url,
        )

    async def _request(self, call: _Call, auth: Mapping[str, str]) -> httpx.Response:
        # The narrower budget first: a request waiting for its endpoint's slot holds no slot
        # of the account's meanwhile. A paced endpoint's request (Zendesk's export page, the
        # read that shows new tickets, at most a few a minute) goes to the account's budget
        # as urgent: behind the minute's background reads it waited 12 s in the soak.
        stamp = await self._throttle()
        account = self.account
        account_stamp = None
        if account is not None:
            with urgent() if self.paced else contextlib.nullcontext():
                account_stamp = await account._throttle()
        sent = request_sent.get()
        if sent is not None:
            sent()  # the budget's wait is over (``runtime.ticket_reads`` gathers meanwhile)
        try:
            return await self._send(call, auth)
        finally:
            self._settle(stamp)
            if account is not None and account_stamp is not None:
                account._settle(account_stamp)

    async def _send(self, call: _Call, auth: Mapping[str, str]) -> httpx.Response:
        self.requests_made += 1
        kwargs: dict[str, Any] = {}
        if call.params:
            kwargs["params"] = {k: v for k, v in call.params.items() if v is not None}
        headers = {**(call.headers or {}), **auth}
        if self._userinfo_auth and not any(k.lower() == "authorization" for k in headers):
            headers.update(self._userinfo_auth)
        if headers:
            kwargs["headers"] = headers
        if call.json is not None:
            kwargs["json"] = call.json
        if call.data is not None:
            kwargs["data"] = dict(call.data)
        if call.timeout is not None:
            kwargs["timeout"] = call.timeout
        response = await self.client.request(call.method, call.url, **kwargs)
        for observe in self.observers:
            observe(response)
        return response

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float):
            return float(retry_after)
        return float(self._backoff(state))

    async def _retrying(
        self,
        attempt: Callable[[], Awaitable[Any]],
        retry_on: tuple[type[Exception], ...],
        max_attempts: int | None = None,
    ) -> Any:
        def should_retry(state: RetryCallState) -> bool:
            if state.outcome is None or not state.outcome.failed:
                return False
            exc = state.outcome.exception()
            if not isinstance(exc, retry_on) or getattr(exc, "unresolved", False):
                return False
            wait = getattr(exc, "retry_after", None)
            return not (isinstance(wait, int | float) and wait > MAX_RETRY_AFTER)

        def before_sleep(state: RetryCallState) -> None:
            self.retries += 1
            exc = state.outcome.exception() if state.outcome is not None else None
            log.warning(
                "connector %s: attempt %d failed (%s); retrying in %.1fs",
                self.name,
                state.attempt_number,
                exc,
                state.next_action.sleep if state.next_action else 0.0,
            )

        limit = max(1, max_attempts or self.max_attempts)
        failures: Counter[bool] = Counter()

        def stop(state: RetryCallState) -> bool:
            # A cut-short body and a refused request (5xx, 429, network) are retried alike,
            # each up to the attempts: a read meeting both kinds of fault still gets through.
            exc = state.outcome.exception() if state.outcome is not None else None
            failures[isinstance(exc, MalformedResponseError)] += 1
            return max(failures.values()) >= limit

        retrying = AsyncRetrying(
            sleep=self._sleep,
            stop=stop,
            wait=self._wait,
            retry=should_retry,
            before_sleep=before_sleep,
            reraise=True,
        )
        return await retrying(attempt)

    def _check_status(
        self, method: str, url: str, response: httpx.Response, *, ambiguous: bool
    ) -> None:
        if response.status_code >= 400:
            now = self.clock.now().astimezone(UTC)
            raise_for_status(self.name, method, url, response, ambiguous=ambiguous, now=now)


class HttpBacked:
    """What every connector built on a ``PsaHttp`` answers the same way: its budgets are
    kept in the runtime's request log (``core.ports.BudgetKeeper``), and closing it closes
    the client it built (an injected client is its owner's)."""

    http: PsaHttp

    def keep_budgets(self, log: RequestLog) -> None:
        """Keep the request budgets in ``log`` across restarts (``core.ports.BudgetKeeper``)."""
        self.http.keep_budgets(log)

    async def aclose(self) -> None:
        """Close the HTTP client if this connector built it."""
        await self.http.aclose()
