"""The overview cache: one computation per period, shared by callers that waited for it."""

from __future__ import annotations

import itertools
import threading
from typing import Any

from sla_connector.web.app import OverviewCache


def test_callers_waiting_behind_a_computation_share_it_instead_of_recomputing() -> None:
    ticks = itertools.count()
    computing = threading.Event()
    release = threading.Event()
    calls: list[int] = []

    def compute() -> Any:
        calls.append(len(calls))
        computing.set()
        assert release.wait(timeout=30)
        return f"overview {len(calls)}"

    arrived = threading.Event()
    waiting: list[threading.Thread] = []

    def clock() -> float:
        if threading.current_thread() in waiting:
            arrived.set()  # the second caller has arrived (and then waits for the lock)
        return float(next(ticks))

    # ttl 0: without sharing, every caller would compute again
    cache = OverviewCache(compute, ttl=0, monotonic=clock)
    results: dict[str, Any] = {}
    first = threading.Thread(target=lambda: results.setdefault("first", cache.get()))
    first.start()
    assert computing.wait(timeout=30)
    second = threading.Thread(target=lambda: results.setdefault("second", cache.get()))
    waiting.append(second)
    second.start()
    assert arrived.wait(timeout=30)
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert results == {"first": "overview 1", "second": "overview 1"}
    assert len(calls) == 1
    # a caller arriving after it was computed, past the ttl, gets a fresh one
    assert cache.get() == "overview 2" and len(calls) == 2
