"""Handing a connector over to another replica waits for the writes in flight (issue 10).

A replica that leads more than its fair share gives connectors up; if it released the lead
while one of its writes was still in flight, the next leader would reconcile that step
(re-read, no marker yet) and write it again. Here a replica leads two connectors when a
second replica's heartbeat appears (so its share is one), while a write of the connector it
must give up is still running: the hand-over waits for it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sla_connector.runtime.clocks import ManualClock
from sla_connector.runtime.daemon import Daemon, DaemonSettings
from sla_connector.runtime.timeline import VirtualTimeline
from sla_connector.store import Store
from tests.web.dataset import POLICY

pytestmark = pytest.mark.anyio
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _daemon(tmp_path: Path) -> tuple[Daemon, Store]:
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    clock = ManualClock(START)
    names = ("a", "b")
    settings = DaemonSettings(
        poll_intervals=dict.fromkeys(names, timedelta(minutes=5)),
        reconcile_intervals=dict.fromkeys(names, timedelta(days=1)),
        owner="me",
    )
    connectors: dict[str, Any] = {name: object() for name in names}
    daemon = Daemon(
        policy=POLICY,
        store=store,
        connectors=connectors,
        clock=clock,
        timeline=VirtualTimeline(clock),
        settings=settings,
    )
    for status in daemon.status.values():
        status.leading = True
    return daemon, store


async def test_a_connector_is_handed_over_only_once_its_write_in_flight_has_ended(
    tmp_path: Path,
) -> None:
    daemon, store = _daemon(tmp_path)
    try:
        store.heartbeat("other", at=int(time.time() * 1_000_000))
        landed = asyncio.Event()
        order: list[str] = []

        async def write_in_flight() -> None:
            await landed.wait()
            order.append("write landed")

        writing = asyncio.create_task(write_in_flight())
        daemon._busy.add(writing)
        leading = asyncio.create_task(daemon._lead())
        await asyncio.sleep(0.05)
        assert not leading.done(), "the hand-over waits for the write"
        landed.set()
        await leading
        order.append("handed over")
        assert order == ["write landed", "handed over"]
        assert [name for name, s in daemon.status.items() if s.leading] == ["a"]
    finally:
        store.close()


async def test_a_write_that_does_not_end_keeps_the_lead_for_now(tmp_path: Path) -> None:
    daemon, store = _daemon(tmp_path)
    try:
        store.heartbeat("other", at=int(time.time() * 1_000_000))
        stuck = asyncio.create_task(asyncio.sleep(60))
        daemon._busy.add(stuck)
        daemon._quiet = _impatient(daemon)  # type: ignore[method-assign]
        await daemon._lead()
        assert all(s.leading for s in daemon.status.values()), "not released mid-write"
        stuck.cancel()
    finally:
        store.close()


def _impatient(daemon: Daemon) -> Any:
    quiet = daemon._quiet

    async def short() -> bool:
        return await quiet(timeout=0.05)

    return short
