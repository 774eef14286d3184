"""Issue 11 finding 10 / item 9: a store that takes no writes (full disk, read-only) makes
the daemon not ready, back off, and log once a minute of its clock, never a traceback per
timer tick; when the store takes writes again the daemon carries on."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from sla_connector.core.errors import StoreError
from sla_connector.runtime.clocks import ManualClock
from sla_connector.runtime.storehealth import LOG_EVERY, StoreHealth
from sla_connector.store import Store
from tests.runtime.harness import START, Harness, sim_config

pytestmark = pytest.mark.anyio

FULL = StoreError("store sqlite:///state.db: saving the cursor failed: database or disk is full")


def _lines(caplog: pytest.LogCaptureFixture, message: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == message]


def test_finding_10_a_failing_store_is_logged_once_a_minute_not_every_100_ms(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock(START)
    health = StoreHealth(clock)
    caplog.set_level(logging.INFO)
    for _ in range(600):  # a timer every 100 ms for a minute
        health.failed(FULL, "poll:sim")
        clock.advance(timedelta(milliseconds=100))
    assert len(_lines(caplog, "store unwritable; backing off")) == 1
    health.failed(FULL, "poll:sim")  # 60 s after the first line
    lines = _lines(caplog, "store unwritable; backing off")
    assert len(lines) == 2 and lines[1].failures == 600  # type: ignore[attr-defined]
    assert not any(r.exc_info for r in caplog.records)
    assert not health.ok and health.backing_off()
    health.succeeded()
    assert health.ok and not health.backing_off()
    assert len(_lines(caplog, "store writable again")) == 1


def test_back_off_doubles_to_five_minutes() -> None:
    clock = ManualClock(START)
    health = StoreHealth(clock)
    waits = []
    for _ in range(10):
        health.failed(FULL, "fire:sim")
        assert health.retry_at is not None
        waits.append((health.retry_at - clock.now()).total_seconds())
    assert waits == [5, 10, 20, 40, 80, 160, 300, 300, 300, 300]


@contextmanager
def read_only(store: Store) -> Iterator[None]:
    """Every connection of the store refuses writes (SQLITE_READONLY) while inside."""
    engine = store._engine

    def query_only(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA query_only=ON")

    event.listen(engine, "connect", query_only)
    engine.dispose()
    try:
        yield
    finally:
        event.remove(engine, "connect", query_only)
        engine.dispose()


async def _readyz(harness: Harness) -> httpx.Response:
    transport = httpx.ASGITransport(app=harness.service.dashboard)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        return await http.get("/readyz")


async def test_finding_10_a_read_only_store_makes_the_daemon_not_ready_and_back_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    harness = await Harness.start(sim_config(tmp_path, retry_backoff="5s"))
    try:
        await harness.run_for(timedelta(hours=2))
        assert (await _readyz(harness)).status_code == 200
        done_before = len(harness.store.ledger())
        caplog.clear()
        with read_only(harness.store):
            await harness.run_for(timedelta(minutes=30))
            ready = await _readyz(harness)
        failing = _lines(caplog, "store unwritable; backing off")
        tracebacks = [r for r in caplog.records if r.exc_info]
        health_failures = harness.daemon.store_health.failures
        await harness.run_for(timedelta(hours=1))
        recovered = await _readyz(harness)
        done_after = len(harness.store.ledger())
    finally:
        await harness.close()
    assert ready.status_code == 503
    body = ready.json()
    assert body["ready"] is False and body["store"]["ok"] is False
    assert "readonly" in body["store"]["problem"] or "read-only" in body["store"]["problem"]
    assert 1 <= len(failing) <= 31, "at most one line per minute of the clock"
    assert not tracebacks, "no traceback for a store failure"
    assert health_failures >= len(failing)
    assert recovered.status_code == 200 and recovered.json()["store"]["ok"] is True
    assert len(_lines(caplog, "store writable again")) == 1
    assert done_after > done_before, "escalation goes on once the store takes writes"


def test_log_every_is_a_minute() -> None:
    assert timedelta(minutes=1) == LOG_EVERY
