"""The shared HTTP layer: URL policy, retries, Retry-After, error mapping, write safety, budget."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
import respx
from sla_connector_psa.budget import pacing
from sla_connector_psa.credentials import AuthDescription, StaticCredentials, basic_header
from sla_connector_psa.http import (
    DEFAULT_TIMEOUT,
    MAX_RETRY_AFTER,
    URGENT_FIRST_TIMEOUT,
    AmbiguousWriteError,
    CredentialsRejectedError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    PsaHttp,
    RateLimitedError,
    RequestRejectedError,
    UnmappedReporter,
    UnreachableError,
    validate_base_url,
)
from sla_connector_psa.options import secret

from sla_connector.core.errors import (
    FatalConnectorError,
    RetriableConnectorError,
    WriteConflictError,
)
from sla_connector.core.ports import request_sent, urgent
from sla_connector.core.secrets import resolve_secret

pytestmark = pytest.mark.anyio

BASE = "https://psa.example/api"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at


class VirtualSleep:
    """Records requested waits and advances the fake clock instead of sleeping."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.at += timedelta(seconds=seconds)


def make_http(rpm: int = 600, max_attempts: int = 5) -> tuple[PsaHttp, VirtualSleep]:
    clock = FakeClock()
    sleep = VirtualSleep(clock)
    http = PsaHttp(
        name="cw",
        base_url=BASE + "/",
        client=httpx.AsyncClient(),
        clock=clock,
        requests_per_minute=rpm,
        sleep=sleep,
        max_attempts=max_attempts,
    )
    return http, sleep


# -- base URL policy -----------------------------------------------------------------------


def test_validate_base_url_strips_trailing_slash() -> None:
    assert (
        validate_base_url("https://x.example/v4/apis/3.0/", "s") == "https://x.example/v4/apis/3.0"
    )


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:4010", "http://localhost:80/x", "http://[::1]:4010", "http://127.8.9.1"],
)
def test_validate_base_url_allows_plain_http_on_loopback(url: str) -> None:
    assert validate_base_url(url, "s") == url


@pytest.mark.parametrize(
    "url",
    [
        "http://psa.example",
        "http://10.0.0.1",
        "ftp://psa.example",
        "psa.example",
        "",
        "https://x.example/?a=1",
    ],
)
def test_validate_base_url_refuses_non_https_remote_and_names_setting(url: str) -> None:
    with pytest.raises(FatalConnectorError, match=r"connectors\.cw\.base_url"):
        validate_base_url(url, "connectors.cw.base_url")


def test_absolute_next_page_link_must_stay_on_origin() -> None:
    http, _ = make_http()
    assert http.url("https://psa.example/api/next?p=2") == "https://psa.example/api/next?p=2"
    assert http.url("/tickets") == BASE + "/tickets"
    with pytest.raises(FatalConnectorError, match="refusing to follow"):
        http.url("https://evil.example/api/next")


# -- reads ---------------------------------------------------------------------------------


@respx.mock
async def test_get_json_retries_5xx_then_returns_body() -> None:
    route = respx.get(BASE + "/tickets").mock(
        side_effect=[
            httpx.Response(502),
            httpx.Response(500),
            httpx.Response(200, json=[{"id": 1}]),
        ]
    )
    http, sleep = make_http()
    assert await http.get_json("tickets") == [{"id": 1}]
    assert route.call_count == 3
    assert http.requests_made == 3
    assert len(sleep.waits) == 2
    assert all(0 < w <= 61 for w in sleep.waits)


@respx.mock
async def test_429_retry_after_seconds_is_slept_exactly() -> None:
    respx.get(BASE + "/tickets").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "17"}),
            httpx.Response(200, json=[]),
        ]
    )
    http, sleep = make_http()
    assert await http.get_json("tickets") == []
    assert sleep.waits == [17.0]


@respx.mock
async def test_429_retry_after_http_date_is_converted_to_seconds() -> None:
    when = format_datetime(T0 + timedelta(seconds=42), usegmt=True)
    respx.get(BASE + "/tickets").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": when}),
            httpx.Response(200, json={}),
        ]
    )
    http, sleep = make_http()
    await http.get_json("tickets")
    assert sleep.waits == [42.0]


@respx.mock
async def test_jira_x_ratelimit_reset_is_honoured_without_retry_after() -> None:
    reset = (T0 + timedelta(seconds=30)).isoformat().replace("+00:00", "Z")
    respx.get(BASE + "/search").mock(
        side_effect=[
            httpx.Response(429, headers={"X-RateLimit-Reset": reset}),
            httpx.Response(200, json={}),
        ]
    )
    http, sleep = make_http()
    await http.get_json("search")
    assert sleep.waits == [30.0]


@respx.mock
async def test_503_with_retry_after_is_honoured() -> None:
    respx.get(BASE + "/t").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "5"}),
            httpx.Response(200, json={}),
        ]
    )
    http, sleep = make_http()
    await http.get_json("t")
    assert sleep.waits == [5.0]


@respx.mock
async def test_retry_after_beyond_cap_raises_without_sleeping() -> None:
    respx.get(BASE + "/t").mock(
        return_value=httpx.Response(429, headers={"Retry-After": str(int(MAX_RETRY_AFTER) + 1)})
    )
    http, sleep = make_http()
    with pytest.raises(RateLimitedError) as info:
        await http.get_json("t")
    assert info.value.retry_after == MAX_RETRY_AFTER + 1
    assert sleep.waits == []


@respx.mock
async def test_persistent_429_gives_up_after_max_attempts() -> None:
    route = respx.get(BASE + "/t").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "1"})
    )
    http, sleep = make_http(max_attempts=3)
    with pytest.raises(RateLimitedError):
        await http.get_json("t")
    assert route.call_count == 3
    assert sleep.waits == [1.0, 1.0]


@respx.mock
async def test_read_timeout_on_get_is_retried() -> None:
    respx.get(BASE + "/t").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json=1)]
    )
    http, _ = make_http()
    assert await http.get_json("t") == 1


@respx.mock
async def test_an_urgent_read_gives_up_its_first_attempt_sooner_then_waits_in_full() -> None:
    """A stalled verify read of a due step must not hold the step for 30 s."""
    read_timeouts: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        read_timeouts.append(request.extensions["timeout"]["read"])
        if len(read_timeouts) == 1:
            raise httpx.ReadTimeout("stalled", request=request)
        return httpx.Response(200, json=1)

    respx.get(BASE + "/t").mock(side_effect=answer)
    http, _ = make_http()
    with urgent():
        assert await http.get_json("t") == 1
    own = http.client.timeout.read  # the injected client's; production's is DEFAULT_TIMEOUT
    assert read_timeouts == [URGENT_FIRST_TIMEOUT.read, own]
    assert URGENT_FIRST_TIMEOUT.read is not None
    assert DEFAULT_TIMEOUT.read is not None and URGENT_FIRST_TIMEOUT.read < DEFAULT_TIMEOUT.read
    await http.get_json("t")  # a background read keeps the client's timeout throughout
    assert read_timeouts[2:] == [own]


@respx.mock
async def test_connect_error_retried_then_unreachable_names_host() -> None:
    route = respx.get(BASE + "/t").mock(side_effect=httpx.ConnectError("refused"))
    http, _ = make_http(max_attempts=2)
    with pytest.raises(UnreachableError, match=r"cannot reach psa\.example"):
        await http.get_json("t")
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("status", "error", "text"),
    [
        (401, CredentialsRejectedError, "credentials rejected"),
        (403, PermissionDeniedError, "permission/scope missing"),
        (404, NotFoundError, r"not found: GET https://psa\.example/api/t"),
        (400, RequestRejectedError, "400: bad condition"),
    ],
)
@respx.mock
async def test_client_errors_map_to_distinct_fatal_errors_without_retry(
    status: int, error: type[FatalConnectorError], text: str
) -> None:
    route = respx.get(BASE + "/t").mock(return_value=httpx.Response(status, text="bad condition"))
    http, sleep = make_http()
    with pytest.raises(error, match=text):
        await http.get_json("t")
    assert route.call_count == 1
    assert sleep.waits == []


@respx.mock
async def test_malformed_json_raises_retriable_error_naming_url() -> None:
    respx.get(BASE + "/t").mock(return_value=httpx.Response(200, text="{not json"))
    http, _ = make_http()
    with pytest.raises(
        MalformedResponseError, match=r"malformed JSON from https://psa\.example/api/t"
    ):
        await http.get_json("t")
    assert issubclass(MalformedResponseError, RetriableConnectorError)


@respx.mock
async def test_params_with_none_values_are_dropped_and_headers_sent() -> None:
    route = respx.get(BASE + "/t").mock(return_value=httpx.Response(200, json=[]))
    http, _ = make_http()
    await http.get_json("t", params={"page": 2, "x": None}, headers={"Accept": "application/vnd"})
    request = route.calls.last.request
    assert request.url.params["page"] == "2"
    assert "x" not in request.url.params
    assert request.headers["Accept"] == "application/vnd"


# -- writes --------------------------------------------------------------------------------


@respx.mock
async def test_write_timeout_after_send_is_ambiguous_and_not_retried() -> None:
    route = respx.patch(BASE + "/t/1").mock(side_effect=httpx.ReadTimeout("no answer"))
    http, _ = make_http()
    with pytest.raises(AmbiguousWriteError, match="re-read"):
        await http.send("PATCH", "t/1", json=[{"op": "replace"}])
    assert route.call_count == 1


@respx.mock
async def test_write_500_is_ambiguous_and_not_retried() -> None:
    route = respx.post(BASE + "/n").mock(return_value=httpx.Response(500))
    http, _ = make_http()
    with pytest.raises(AmbiguousWriteError):
        await http.send("POST", "n", json={})
    assert route.call_count == 1


@respx.mock
async def test_write_connect_error_is_retried_because_nothing_was_sent() -> None:
    route = respx.post(BASE + "/n").mock(
        side_effect=[httpx.ConnectError("down"), httpx.Response(201, json={"id": 9})]
    )
    http, _ = make_http()
    response = await http.send("POST", "n", json={"text": "x"})
    assert response.status_code == 201
    assert PsaHttp.decode(response) == {"id": 9}
    assert route.call_count == 2


@pytest.mark.parametrize("status", [429, 503])
@respx.mock
async def test_write_429_and_503_are_retried_honouring_retry_after(status: int) -> None:
    route = respx.put(BASE + "/t").mock(
        side_effect=[
            httpx.Response(status, headers={"Retry-After": "9"}),
            httpx.Response(200, json={}),
        ]
    )
    http, sleep = make_http()
    await http.send("PUT", "t", json={"a": 1})
    assert route.call_count == 2
    assert sleep.waits == [9.0]
    assert route.calls.last.request.content == b'{"a":1}'


@respx.mock
async def test_write_422_is_rejected_with_body_excerpt() -> None:
    respx.patch(BASE + "/t").mock(return_value=httpx.Response(422, json={"message": "owner bad"}))
    http, _ = make_http()
    with pytest.raises(RequestRejectedError, match="owner bad") as info:
        await http.send("PATCH", "t", json=[])
    assert info.value.status == 422


# -- budget --------------------------------------------------------------------------------


@respx.mock
async def test_request_budget_waits_for_the_window_to_free_a_slot() -> None:
    respx.get(BASE + "/t").mock(return_value=httpx.Response(200, json={}))
    http, sleep = make_http(rpm=2)
    await http.get_json("t")
    await http.get_json("t")
    assert sleep.waits == []
    await http.get_json("t")
    assert sleep.waits == [61.0]  # the minute, and a second for the request's transit
    assert http.requests_made == 3


@respx.mock
async def test_request_budget_does_not_wait_once_the_window_has_passed() -> None:
    respx.get(BASE + "/t").mock(return_value=httpx.Response(200, json={}))
    http, sleep = make_http(rpm=1)
    await http.get_json("t")
    sleep.clock.at += timedelta(seconds=62)
    await http.get_json("t")
    assert sleep.waits == []


class HeldSleep:
    """A sleep the test releases by hand (the clock moves by the time slept)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []
        self.release = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await self.release.wait()
        self.clock.at += timedelta(seconds=seconds)


@respx.mock
async def test_an_urgent_request_goes_before_a_waiting_background_one() -> None:
    respx.get(BASE + "/t").mock(return_value=httpx.Response(200, json={}))
    http, _ = make_http(rpm=4)  # background requests may use 3 of the 4 slots
    held = HeldSleep(http.clock)  # type: ignore[arg-type]
    http._sleep = held
    for _ in range(3):
        await http.get_json("t")
    poll = asyncio.ensure_future(http.get_json("t"))  # a fourth background request waits
    await asyncio.sleep(0.01)
    assert not poll.done() and held.waits
    with urgent():
        await asyncio.wait_for(http.get_json("t"), 5)  # the verify of a due step goes now
    assert not poll.done()
    held.release.set()
    await asyncio.wait_for(poll, 5)
    assert http.requests_made == 5


@respx.mock
async def test_a_due_steps_request_goes_before_an_at_risk_steps_when_the_budget_is_short() -> None:
    # Both are urgent, before polls; the breach's write is the commitment, the at-risk
    # notice a warning ahead of it (issue 10: overdue at-risk verifies at first sight held
    # up breach steps falling due in the same seconds).
    order: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        order.append(request.url.params.get("who", ""))
        return httpx.Response(200, json={})

    respx.get(BASE + "/t").mock(side_effect=answer)
    http, _ = make_http(rpm=4)
    held = HeldSleep(http.clock)  # type: ignore[arg-type]
    http._sleep = held
    with urgent():
        for _ in range(4):
            await http.get_json("t")  # the budget is full
    with urgent(warning=True):
        notice = asyncio.ensure_future(http.get_json("t", params={"who": "at-risk"}))
    await asyncio.sleep(0.01)
    with urgent():
        breach = asyncio.ensure_future(http.get_json("t", params={"who": "breach"}))
    await asyncio.sleep(0.01)
    assert not notice.done() and not breach.done()
    held.release.set()
    await asyncio.wait_for(asyncio.gather(notice, breach), 5)
    assert order[-2:] == ["breach", "at-risk"]


@respx.mock
async def test_at_risk_requests_leave_the_last_slots_of_the_minute_to_the_other_due_steps() -> None:
    # Of 20 a minute, background requests may fill 15 and at-risk steps' 17; the last 3
    # stay free for a breach falling due (issue 10: at-risk verifies helped fill the
    # minute, and a breach's verify waited 8 s for a slot).
    respx.get(BASE + "/t").mock(return_value=httpx.Response(200, json={}))
    http, _ = make_http(rpm=20)
    held = HeldSleep(http.clock)  # type: ignore[arg-type]
    http._sleep = held
    for _ in range(15):
        await http.get_json("t")
    with urgent(warning=True):
        for _ in range(2):
            await asyncio.wait_for(http.get_json("t"), 5)  # 16 and 17: at once
        notice = asyncio.ensure_future(http.get_json("t"))
    await asyncio.sleep(0.01)
    assert not notice.done() and held.waits, "an at-risk request took one of the last 3"
    with urgent():
        for _ in range(3):
            await asyncio.wait_for(http.get_json("t"), 5)  # the breach's: at once
    assert not notice.done() and http.requests_made == 20
    held.release.set()
    await asyncio.wait_for(notice, 5)
    assert http.requests_made == 21


@respx.mock
async def test_each_attempt_says_it_leaves_once_the_budget_let_it() -> None:
    # runtime.ticket_reads gathers verify reads while a request waits for the budget;
    # it learns the wait is over from this hook, called before the request is sent.
    left: list[float] = []  # the budget's waits so far, at each call of the hook
    hooked_at_send: list[int] = []  # hook calls so far, at each request the PSA sees
    answers = iter([httpx.Response(200, json={}), httpx.Response(500, json={})])

    def answer(_: httpx.Request) -> httpx.Response:
        hooked_at_send.append(len(left))
        return next(answers, httpx.Response(200, json={}))

    respx.get(BASE + "/t").mock(side_effect=answer)
    http, sleep = make_http(rpm=1)
    await http.get_json("t")  # the budget is spent: the next request waits a minute
    token = request_sent.set(lambda: left.append(sum(sleep.waits)))
    try:
        await http.get_json("t")  # a 500, then a retry
    finally:
        request_sent.reset(token)
    assert hooked_at_send == [0, 1, 2], "the hook is called before each attempt is sent"
    assert left[0] >= 60, "and only once the budget's wait is over"


class MemoryLog:
    """A ``RequestLog`` in memory: what a previous process recorded, and what this one does."""

    def __init__(self, earlier: dict[str, list[int]]) -> None:
        self.times = {bucket: list(times) for bucket, times in earlier.items()}

    def recent_requests(self, bucket: str, *, since: int) -> list[int]:
        return [at for at in self.times.get(bucket, []) if at >= since]

    def record_request(self, bucket: str, *, at: int) -> None:
        self.times.setdefault(bucket, []).append(at)


@respx.mock
async def test_a_budget_kept_in_the_log_goes_on_counting_after_a_restart() -> None:
    respx.get(BASE + "/t").mock(return_value=httpx.Response(200, json={}))
    first, _ = make_http(rpm=2)
    log = MemoryLog({})
    first.keep_budgets(log)
    await first.get_json("t")
    await first.get_json("t")
    assert len(log.times[first.bucket]) == 2
    # The process is killed and restarted 10 s later: a fresh layer, the same log.
    second, sleep = make_http(rpm=2)
    second.clock.at = first.clock.at + timedelta(seconds=10)  # type: ignore[attr-defined]
    second.keep_budgets(log)
    await second.get_json("t")
    assert sleep.waits == [51.0]  # the budget was spent 10 s ago: wait out the minute
    assert len(log.times[second.bucket]) == 3


def test_siblings_keep_their_budgets_in_buckets_of_their_own() -> None:
    http, _ = make_http(rpm=100)
    export = http.sibling(requests_per_minute=8)
    log = MemoryLog({})
    http.keep_budgets(log)
    assert export.request_log is log and http.request_log is log
    assert export.bucket != http.bucket


@respx.mock
async def test_a_sibling_within_the_account_takes_a_slot_of_the_account_budget_too() -> None:
    # Zendesk: "Endpoint limits override or add to the account limit" (psa-apis.md 3.6), so
    # an incremental export request counts against both; 658 requests reached a twin whose
    # account budget was configured at 650 when the export budget was counted apart.
    respx.get(BASE + "/t").mock(return_value=httpx.Response(200, json={}))
    respx.get(BASE + "/export").mock(return_value=httpx.Response(200, json={}))
    http, sleep = make_http(rpm=3)
    export = http.sibling(requests_per_minute=8, within_account=True)
    apart = http.sibling(requests_per_minute=8)
    log = MemoryLog({})
    http.keep_budgets(log)
    with urgent():
        await http.get_json("t")
        await export.get_json("export")
        await apart.get_json("export")  # another budget altogether: not the account's
        assert sleep.waits == []
        await http.get_json("t")
        assert sleep.waits == []  # the account holds two: the plain read and the export
        await export.get_json("export")
    assert sleep.waits == [61.0]  # the export waited for the account's minute, not its own
    assert len(log.times[http.bucket]) == 4  # both exports are in the account's bucket
    assert len(log.times[export.bucket]) == 2


@respx.mock
async def test_a_paced_budget_spreads_background_requests_over_the_minute() -> None:
    # Zendesk's incremental exports allow 10 requests a minute (psa-apis.md 3.6). Unpaced,
    # polls every 5 s spent the minute in 22 s and then saw nothing new for 40 s, or left
    # no slot for the event-stream page a poll with new tickets needs (issue 10).
    respx.get(BASE + "/export").mock(
        side_effect=[httpx.Response(503), *[httpx.Response(200, json={}) for _ in range(9)]]
    )
    http, sleep = make_http(rpm=100)
    export = http.sibling(requests_per_minute=8, within_account=True, paced=True)
    for _ in range(3):
        with pacing():  # a poll's first request: 2 x 61 s / 8 after the one before
            await export.get_json("export")
    backoff = sleep.waits[0]  # the first poll's 503: its retry waited the backoff alone
    assert sleep.waits == pytest.approx([backoff, 15.25 - backoff, 15.25])
    await export.get_json("export")  # the rest of a poll (an event-stream page): not held
    with pacing(), urgent():
        await export.get_json("export")  # the budget's limit, not its pacing, binds urgent
    assert len(sleep.waits) == 3
    unpaced = http.sibling(requests_per_minute=8)
    for _ in range(3):
        with pacing():
            await unpaced.get_json("export")
    assert len(sleep.waits) == 3


@respx.mock
async def test_a_paced_export_request_takes_the_account_slot_background_reads_leave() -> None:
    # Background reads leave a quarter of the account's budget to urgent ones; the export
    # page (paced, a few a minute, the read that shows new tickets) may use it: behind a
    # minute of audits reads it waited 12 s in the 50-kill soak (issue 10).
    respx.get(BASE + "/t").mock(return_value=httpx.Response(200, json={}))
    respx.get(BASE + "/export").mock(return_value=httpx.Response(200, json={}))
    http, sleep = make_http(rpm=4)  # background requests may use 3 of the 4 slots
    export = http.sibling(requests_per_minute=8, within_account=True, paced=True)
    for _ in range(3):
        await http.get_json("t")
    await export.get_json("export")  # the fourth slot, without waiting
    assert sleep.waits == []
    fresh, fresh_sleep = make_http(rpm=4)
    unpaced = fresh.sibling(requests_per_minute=8, within_account=True)
    for _ in range(3):
        await fresh.get_json("t")
    await unpaced.get_json("export")  # an unpaced sibling is background in the account
    assert fresh_sleep.waits == [61.0]


@respx.mock
async def test_a_restarted_paced_budget_polls_at_once_within_its_limit() -> None:
    # Lives shorter than the pace, paced from the last life's requests, polled once in 46 s
    # (issue 10, the 50-kill soak): the first poll of a life is held by the budget alone.
    respx.get(BASE + "/export").mock(return_value=httpx.Response(200, json={}))
    log = MemoryLog({})
    first, _ = make_http(rpm=100)
    first_export = first.sibling(requests_per_minute=8, paced=True)
    first.keep_budgets(log)
    for _ in range(7):
        await first_export.get_json("export")  # the rest of a poll: not paced
    second, sleep = make_http(rpm=100)
    second.clock.at = first.clock.at + timedelta(seconds=5)  # type: ignore[attr-defined]
    second_export = second.sibling(requests_per_minute=8, paced=True)
    second.keep_budgets(log)
    with pacing():
        await second_export.get_json("export")  # the budget's eighth slot, at once
    assert sleep.waits == []
    with pacing():
        await second_export.get_json("export")  # the budget is full: wait for a slot
    assert sleep.waits == [pytest.approx(56.0)]  # 61 s after the first life's requests
    with pacing():
        await second_export.get_json("export")  # this life's next poll keeps the pace
    assert sleep.waits == [pytest.approx(56.0), pytest.approx(15.25)]


def test_budget_below_one_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(FatalConnectorError, match=r"connectors\.cw\.requests_per_minute"):
        PsaHttp(
            name="cw",
            base_url=BASE,
            client=httpx.AsyncClient(),
            clock=FakeClock(),
            requests_per_minute=0,
        )


# -- unmapped values -----------------------------------------------------------------------


def test_unmapped_reporter_logs_once_per_value(caplog: pytest.LogCaptureFixture) -> None:
    reporter = UnmappedReporter("cw")
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            reporter.report("company", "INITECH")
        reporter.report("company", "HOOLI")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "unmapped company INITECH in connector cw",
        "unmapped company HOOLI in connector cw",
    ]
    assert reporter.seen == {("company", "INITECH"), ("company", "HOOLI")}


def test_connector_secrets_can_come_from_a_variable_file(tmp_path: Path) -> None:
    """``VARIABLE_FILE`` (a mounted secret) stands in for an unset ``VARIABLE``."""
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    settings = {"token_env": "ZD_TOKEN"}
    assert secret("zd", settings, "token_env", {"ZD_TOKEN_FILE": str(token)}) == (
        "ZD_TOKEN",
        "s3cret",
    )
    assert secret("zd", settings, "token_env", {"ZD_TOKEN": "direct"})[1] == "direct"
    with pytest.raises(FatalConnectorError, match="ZD_TOKEN is not set"):
        secret("zd", settings, "token_env", {})


def test_connector_and_settings_secrets_follow_one_rule(tmp_path: Path) -> None:
    """The connectors resolve ``NAME`` / ``NAME_FILE`` exactly as the settings do."""
    token = tmp_path / "token"
    token.write_text(" spaced s3cret \r\n")
    environ = {"ZD_TOKEN_FILE": str(token)}
    expected = resolve_secret("ZD_TOKEN", environ)
    assert expected == " spaced s3cret "  # only the line ending goes
    assert secret("zd", {"token_env": "ZD_TOKEN"}, "token_env", environ)[1] == expected
    missing = {"ZD_TOKEN_FILE": str(tmp_path / "absent")}
    with pytest.raises(
        FatalConnectorError, match=r"connectors\.zd\.token_env: ZD_TOKEN_FILE names"
    ):
        secret("zd", {"token_env": "ZD_TOKEN"}, "token_env", missing)


# -- per-request retries of transient faults (issue 10, item 4) -----------------------------


@respx.mock
async def test_a_truncated_json_body_is_retried_like_a_500() -> None:
    route = respx.get(BASE + "/audits").mock(
        side_effect=[
            httpx.Response(200, content=b'{"audits": [{"id": 1, "ev'),
            httpx.Response(200, json={"audits": []}),
        ]
    )
    http, sleep = make_http()
    assert await http.get_json("audits") == {"audits": []}
    assert route.call_count == 2 and len(sleep.waits) == 1
    assert http.retries == 1


@respx.mock
async def test_cut_bodies_and_refusals_each_get_the_attempts_on_one_read() -> None:
    cut = httpx.Response(200, content=b'{"audits": [')
    route = respx.get(BASE + "/audits").mock(
        side_effect=[
            cut,
            httpx.Response(500),
            httpx.Response(503),
            cut,
            httpx.Response(200, json=[]),
        ]
    )
    http, _ = make_http(max_attempts=3)
    assert await http.get_json("audits") == []
    assert route.call_count == 5
    route.side_effect = [cut, cut, cut]
    with pytest.raises(MalformedResponseError):
        await http.get_json("audits")


@respx.mock
async def test_a_connection_reset_while_reading_is_retried() -> None:
    route = respx.get(BASE + "/t").mock(
        side_effect=[httpx.ReadError("connection reset by peer"), httpx.Response(200, json=[])]
    )
    http, _ = make_http()
    assert await http.get_json("t") == []
    assert route.call_count == 2


@respx.mock
async def test_a_write_answered_with_a_cut_short_body_landed_and_is_not_sent_again() -> None:
    route = respx.put(BASE + "/tickets/1").mock(return_value=httpx.Response(200, content=b'{"ti'))
    http, _ = make_http()
    assert await http.send_json("PUT", "tickets/1", json={"ticket": {}}) == {}
    assert route.call_count == 1


@respx.mock
@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_409_is_the_write_conflict_signal_and_is_not_retried(method: str) -> None:
    route = respx.route(method=method, url=BASE + "/tickets/1").mock(
        return_value=httpx.Response(409, json={"error": "UpdateConflict"})
    )
    http, sleep = make_http()
    with pytest.raises(WriteConflictError, match="409"):
        if method == "GET":
            await http.get_json("tickets/1")
        else:
            await http.send("PUT", "tickets/1", json={})
    assert route.call_count == 1 and sleep.waits == []


class _Rotating:
    """Credentials whose token rotates on renew (a stand-in for an OAuth token source)."""

    def __init__(self) -> None:
        self.version = 1
        self.renewed = 0

    async def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer t{self.version}"}

    async def renew(self, rejected: Mapping[str, str]) -> bool:
        self.renewed += 1
        self.version += 1
        return True

    def describe(self) -> AuthDescription:
        return AuthDescription("test", "rotating")


@respx.mock
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_401_renews_the_credentials_once_and_sends_again(method: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        fresh = request.headers["Authorization"] == "Bearer t2"
        return httpx.Response(200 if fresh else 401, json={"ok": fresh})

    route = respx.route(method=method, url=BASE + "/t").mock(side_effect=answer)
    http, _ = make_http()
    http.credentials = credentials = _Rotating()
    if method == "GET":
        assert await http.get_json("t") == {"ok": True}
    else:
        assert (await http.send("POST", "t", json={})).status_code == 200
    assert route.call_count == 2 and credentials.renewed == 1 and http.renewals == 1


@respx.mock
async def test_a_401_that_renewing_cannot_cure_reaches_the_caller_after_one_renewal() -> None:
    route = respx.get(BASE + "/t").mock(return_value=httpx.Response(401, json={}))
    http, _ = make_http()
    http.credentials = credentials = _Rotating()
    with pytest.raises(CredentialsRejectedError):
        await http.get_json("t")
    assert route.call_count == 2 and credentials.renewed == 1


async def test_static_credentials_describe_themselves_without_the_secret() -> None:
    creds = StaticCredentials(
        {"Authorization": basic_header("a@b.example/token", "s3cret")},
        method="api_token",
        label="API token of a@b.example",
    )
    assert not await creds.renew({})
    assert "s3cret" not in repr(creds.describe().details())
