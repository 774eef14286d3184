"""A killed daemon restarted with 200 overdue steps keeps to the request rate (issue 10).

The first life of the daemon reads 200 P1 tickets from the Zendesk twin (a request-counting
twin: its journal holds every request), plans their steps and is killed before firing any
of them; the second life starts on the same store with all 200 steps overdue. The test
asserts on the twin's journal that every step is written exactly once and that in no 60 s
window did the daemon, both lives together, send more requests than its configured budget:
the second life starts from the first one's requests, counted in the store.

Time is the twin's manual clock: the connector's budget waits move it (``VirtualSleep``), so
the minutes of waiting take no real time. How long the writes take on the wall clock is a
benchmark figure (``bench/bench_restart.py``), not asserted here.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sla_connector.core.ports import Connector
from sla_connector.runtime.clocks import ManualClock as RuntimeClock
from sla_connector.runtime.daemon import Daemon, DaemonSettings
from sla_connector.runtime.planner import Planner
from sla_connector.runtime.timeline import VirtualTimeline
from sla_connector.store import Store
from tests.twins.clock import ManualClock
from tests.twins.connectors import TwinTime, VirtualSleep, zendesk_connector
from tests.twins.soak_vendors import ZendeskSoak
from tests.twins.test_notify_only import soak_policy
from tests.twins.zendesk import ZendeskTwin

pytestmark = pytest.mark.anyio

STEPS = 200
BUDGET = 100  # requests a minute, the connector's `requests_per_minute`


class TwinClock(RuntimeClock):
    """The daemon's clock reads the twin's (so budget waits move the daemon's time too)."""

    def __init__(self, twin: ManualClock) -> None:
        super().__init__(datetime.fromtimestamp(twin(), UTC))
        self.twin = twin
        self.started_at = twin()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.twin(), UTC)


class SettlingSleep(VirtualSleep):
    """Moves the manual clock only once the requests already let through have been
    answered, as they would be in real time long before a budget wait ends (else the twin
    would stamp them after the jump, in the next minute)."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.sent = lambda: 0
        self.answered = 0

    async def __call__(self, seconds: float) -> None:
        for _ in range(500):  # at most 5 s
            if self.answered >= self.sent():
                break
            await asyncio.sleep(0.01)
        await super().__call__(seconds)


def connector(zendesk: ZendeskTwin, clock: ManualClock, env: Any) -> Connector:
    sleep = SettlingSleep(clock)
    built: Any = zendesk_connector(
        zendesk, TwinTime(clock), environ=env, sleep=sleep, requests_per_minute=BUDGET
    )
    sleep.sent = lambda: int(built.requests_made)

    def answered(_: object) -> None:
        sleep.answered += 1

    built.http.observers.append(answered)
    connector: Connector = built
    return connector


def busiest_minute(instants: list[float]) -> int:
    """The most requests in any 60 s window."""
    ordered = sorted(instants)
    most, start = 0, 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - 60:
            start += 1
        most = max(most, end - start + 1)
    return most


async def test_a_restart_with_200_overdue_steps_writes_each_once_within_the_budget(
    zendesk: ZendeskTwin, clock: ManualClock, env: Any, tmp_path: Path
) -> None:
    soak = ZendeskSoak(zendesk)
    ids = [soak.create(f"P1 {n}: mail down", "P1", n)[0] for n in range(STEPS)]
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    policy = soak_policy("zendesk")
    # The first life: reads every ticket (through the budget the store keeps), plans, dies.
    first = connector(zendesk, clock, env)
    first.keep_budgets(store)  # type: ignore[attr-defined]
    planner = Planner(policy, store, TwinTime(clock), horizon=timedelta(days=1), not_before=0)
    planner.ingest([await first.fetch_ticket(ticket) for ticket in ids])
    await first.aclose()
    overdue = [r for r in store.ledger() if r.step == "p1-director" and r.state == "planned"]
    # Reading took the first life minutes of budget; make sure every step is overdue now
    # (due 90 s after its ticket was created), without leaving the first life's minute.
    latest = max(r.due_at for r in overdue) / 1e6
    clock.advance(max(0.0, latest - clock() + 1))
    assert len(overdue) == STEPS
    # The second life: a new daemon on the same store fires everything due at start.
    daemon_clock = TwinClock(clock)
    daemon = Daemon(
        policy=policy,
        store=store,
        connectors={"zd": connector(zendesk, clock, env)},
        clock=daemon_clock,
        timeline=VirtualTimeline(daemon_clock),
        settings=DaemonSettings(
            poll_intervals={"zd": timedelta(hours=1)},
            reconcile_intervals={"zd": timedelta(days=1)},
            owner="second-life",
            leadership_interval=timedelta(hours=1),
        ),
    )
    daemon_clock.started_at = clock()
    try:
        await daemon.start()  # takes the lead and fires the first slots' worth at once
        for _ in range(STEPS):  # then each timer run takes the next (bounded)
            if not store.due(int(clock() * 1e6), "zd"):
                break
            await daemon.fire("zd")
    finally:
        await daemon.stop()
        store.close()
    writes = [w for w in zendesk.journal.api_writes() if w.principal == soak.integration]
    per_step = Counter(w.step for w in writes if w.kind == "private_comment")
    assert len(per_step) == STEPS and set(per_step.values()) == {1}
    requests = [r.at for r in zendesk.journal.requests() if r.principal == soak.integration]
    assert len(requests) > 2 * BUDGET  # the budget really was the limit
    restart = daemon_clock.started_at
    assert busiest_minute([at for at in requests if abs(at - restart) < 60]) > BUDGET / 2
    assert busiest_minute(requests) <= BUDGET
