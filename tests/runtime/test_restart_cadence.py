"""A restarted daemon keeps the poll cadence of the life before it (issue 10).

In a crash loop each start used to poll at once; on Zendesk every poll start costs two of
the incremental endpoints' ten requests a minute, so restarts every few seconds spent that
budget on reads that showed nothing new, and the poll that would have shown a new ticket
waited a minute for it. A start polls at once only when the last poll stored its cursor at
least an interval ago.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from sla_connector.core.calendars import to_us
from sla_connector.core.ports import PollPage
from sla_connector.runtime.clocks import ManualClock
from sla_connector.runtime.daemon import Daemon, DaemonSettings
from sla_connector.runtime.timeline import VirtualTimeline
from sla_connector.store import Store
from tests.runtime.scripted import START, ScriptedPsa
from tests.runtime.test_ticket_reads import _policy

pytestmark = pytest.mark.anyio


@dataclass
class CountingPsa(ScriptedPsa):
    polls: list[float] = field(default_factory=list)  # seconds after START of each poll

    async def fetch_changed(self, since_cursor: str | None) -> AsyncIterator[PollPage]:
        self.polls.append((self.clock.now() - START).total_seconds())
        async for page in super().fetch_changed(since_cursor):
            yield page


async def _start(store: Store, clock: ManualClock) -> tuple[Daemon, VirtualTimeline, CountingPsa]:
    psa = CountingPsa(clock, {"A": START, "B": START + timedelta(minutes=5)})
    timeline = VirtualTimeline(clock)
    daemon = Daemon(
        policy=_policy(),
        store=store,
        connectors={"sim": psa},
        clock=clock,  # type: ignore[dict-item]
        timeline=timeline,
        settings=DaemonSettings(
            poll_intervals={"sim": timedelta(seconds=30)},
            reconcile_intervals={"sim": timedelta(days=1)},
            owner="test",
            leadership_interval=timedelta(hours=1),
        ),
    )
    await daemon.start()
    return daemon, timeline, psa


async def test_a_restart_seconds_after_a_poll_waits_for_the_interval(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    clock = ManualClock(START)
    store.set_cursor("sim", "c1", at=to_us(START))  # the killed life polled at 0 s
    clock.advance(timedelta(seconds=4))  # and was restarted 4 s later
    daemon, timeline, psa = await _start(store, clock)
    await timeline.run_until(START + timedelta(seconds=65))
    assert psa.polls == [30.0, 60.0]  # not at 4 s: the cadence of the life before
    await daemon.stop()
    # A start long after the last poll polls at once.
    clock.advance(timedelta(minutes=5))
    daemon, timeline, psa = await _start(store, clock)
    await timeline.run_until(clock.now() + timedelta(seconds=1))
    assert psa.polls == [365.0]
    await daemon.stop()
    store.close()
