"""The request budgets' log (migration 4): what a restarted daemon counts from (issue 10)."""

from __future__ import annotations

from collections.abc import Callable

from sla_connector.core.ports import RequestLog
from sla_connector.store import Store

SECOND = 1_000_000


def test_requests_are_counted_per_bucket_and_read_back_oldest_first(
    open_store: Callable[..., Store],
) -> None:
    store = open_store()
    log: RequestLog = store
    for at in (30, 10, 20):
        log.record_request("zd/0/100", at=at * SECOND)
    log.record_request("zd/2/8", at=15 * SECOND)
    assert log.recent_requests("zd/0/100", since=15 * SECOND) == [20 * SECOND, 30 * SECOND]
    assert log.recent_requests("zd/2/8", since=0) == [15 * SECOND]


def test_a_second_process_on_the_same_store_sees_the_first_ones_requests(
    open_store: Callable[..., Store],
) -> None:
    first = open_store()
    first.record_request("cw/0/120", at=100 * SECOND)
    first.close()
    second = open_store()
    assert second.recent_requests("cw/0/120", since=90 * SECOND) == [100 * SECOND]


def test_requests_older_than_two_minutes_are_forgotten(open_store: Callable[..., Store]) -> None:
    store = open_store()
    store.record_request("zd/0/100", at=0)
    store.record_request("zd/0/100", at=121 * SECOND)
    assert store.recent_requests("zd/0/100", since=0) == [121 * SECOND]
