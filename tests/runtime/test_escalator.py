"""The daemon's enforcement rules on a scripted PSA (issue 4 items 3-6).

A fake PSA serves hand-made tickets whose events appear as virtual time passes, so each
test can place a reply, an outage or a crash at an exact instant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sla_connector.core.errors import RetriableConnectorError
from sla_connector.core.ports import CheckResult, PollPage, WriteResult
from sla_connector.core.ticket import Ticket, parse_ticket
from sla_connector.runtime.clocks import ManualClock
from sla_connector.runtime.daemon import Daemon, DaemonSettings
from sla_connector.runtime.timeline import VirtualTimeline
from sla_connector.runtime.writeback import marker_text
from sla_connector.settings import load_config
from sla_connector.store import Store

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
START = datetime.fromisoformat("2026-11-02T09:00:00+00:00")  # Monday, London = UTC
KEY = "sim:1:senior-engineer:1"


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


@dataclass
class ScriptedPsa:
    """A PSA whose single ticket gains events as the clock passes them."""

    clock: ManualClock
    events: list[dict[str, Any]]
    name: str = "sim"
    down: bool = False
    writes: list[tuple[str, str]] = field(default_factory=list)
    fetches: int = 0

    def _ticket(self) -> Ticket:
        now = self.clock.now()
        seen = [e for e in self.events if datetime.fromisoformat(e["at"]) <= now]
        notes = [value for action, value in self.writes if action == "note"]
        return parse_ticket(
            {
                "id": "1",
                "source": "sim",
                "client": "globex",
                "subject": "VPN slow",
                "created_at": START.isoformat(),
                "events": seen,
                "notes": notes,
            }
        )

    async def fetch_changed(self, since_cursor: str | None) -> AsyncIterator[PollPage]:
        if self.down:
            raise RetriableConnectorError("PSA unreachable")
        yield PollPage((self._ticket(),), cursor=self.clock.now().isoformat())

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        self.fetches += 1
        if self.down:
            raise RetriableConnectorError("PSA unreachable")
        return self._ticket()

    async def apply(self, ticket: Ticket, actions: list[tuple[str, str]]) -> WriteResult:
        if self.down:
            raise RetriableConnectorError("PSA unreachable")
        self.writes.extend(actions)
        return WriteResult(True, "written")

    async def assign(self, ticket: Ticket, person_or_group: str) -> WriteResult:
        raise AssertionError("apply is used")

    set_priority = add_internal_note = add_tag = assign  # type: ignore[assignment]

    async def check(self) -> CheckResult:
        return CheckResult(True, "ok")

    async def aclose(self) -> None:
        return None


async def _daemon(
    tmp_path: Path,
    psa: ScriptedPsa,
    clock: ManualClock,
    *,
    dry_run: bool = False,
    poll: timedelta = timedelta(minutes=5),
) -> tuple[Daemon, VirtualTimeline, Store]:
    config = load_config(ROOT / "examples" / "policy.yaml")
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    timeline = VirtualTimeline(clock)
    settings = DaemonSettings(
        poll_intervals={"sim": poll},
        reconcile_intervals={"sim": timedelta(days=1)},
        owner="test",
        dry_run=dry_run,
        leadership_interval=timedelta(hours=1),
        retry_backoff=timedelta(minutes=1),
    )
    daemon = Daemon(
        policy=config.policy,
        store=store,
        connectors={"sim": psa},
        clock=clock,  # type: ignore[dict-item]
        timeline=timeline,
        settings=settings,
    )
    await daemon.start()
    return daemon, timeline, store


def _row(store: Store) -> Any:
    return next(row for row in store.ledger() if row.key == KEY)


async def test_step_fires_at_its_due_instant_exactly_once(tmp_path: Path) -> None:
    # P2 ("slow"): the response breaches at 10:00 and the senior engineer is due at 12:00.
    clock = ManualClock(START)
    psa = ScriptedPsa(clock, [])
    daemon, timeline, store = await _daemon(tmp_path, psa, clock)
    await timeline.run_until(at(6 * 60))
    row = _row(store)
    assert (row.state, row.lateness_us) == ("done", 0)
    assert [a for a, _ in psa.writes].count("note") == 1
    assert any(marker_text(KEY) in v for a, v in psa.writes if a == "note")
    await daemon.stop()


async def test_reply_between_two_polls_just_before_the_breach_cancels_the_write(
    tmp_path: Path,
) -> None:
    # Polls at 09:00 and 13:00 only: the 09:00 poll plans the step (response breach at
    # 10:00 + 2 h = 12:00); the 09:59:55 reply lands between the polls, and only the re-read
    # just before the 12:00 write can see it.
    clock = ManualClock(START)
    reply = {"at": at(59 + 55 / 60).isoformat(), "type": "public_reply", "by": "agent"}
    psa = ScriptedPsa(clock, [reply])
    daemon, timeline, store = await _daemon(tmp_path, psa, clock, poll=timedelta(hours=4))
    await timeline.run_until(at(60))
    assert _row(store).state == "planned"
    assert psa.fetches == 0
    await timeline.run_until(at(3 * 60 + 30))
    assert psa.fetches == 1  # re-read at 12:00, before the 13:00 poll
    assert psa.writes == []
    row = _row(store)
    assert (row.state, row.detail) == ("dormant", "verified before firing: not triggered")
    await daemon.stop()


async def test_shadow_mode_records_would_fire_and_writes_nothing(tmp_path: Path) -> None:
    clock = ManualClock(START)
    psa = ScriptedPsa(clock, [])
    daemon, timeline, store = await _daemon(tmp_path, psa, clock, dry_run=True)
    await timeline.run_until(at(6 * 60))
    assert _row(store).state == "would_fire"
    assert psa.writes == []
    await daemon.stop()


async def test_outage_queues_the_step_and_marks_it_late(tmp_path: Path) -> None:
    clock = ManualClock(START)
    psa = ScriptedPsa(clock, [])
    daemon, timeline, store = await _daemon(tmp_path, psa, clock)
    await timeline.run_until(at(100))
    psa.down = True  # 10:40 to 12:40: the 12:00 step cannot be written
    await timeline.run_until(at(220))
    assert _row(store).state == "planned"
    assert psa.writes == []
    psa.down = False
    await timeline.run_until(at(6 * 60))
    row = _row(store)
    assert row.state == "done"
    assert row.lateness_us >= 40 * 60 * 1_000_000  # due 12:00, written after 12:40
    note = next(v for a, v in psa.writes if a == "note")
    assert "Fired late by" in note
    await daemon.stop()


async def test_a_step_left_firing_by_a_crash_is_reconciled_through_its_marker(
    tmp_path: Path,
) -> None:
    clock = ManualClock(START)
    psa = ScriptedPsa(clock, [])
    daemon, timeline, store = await _daemon(tmp_path, psa, clock)
    await timeline.run_until(at(100))
    # Simulate a crash after the PSA accepted the write but before the ledger said so.
    assert store.claim(KEY, at=0, owner="crashed")
    psa.writes.append(("note", f"escalated\n{marker_text(KEY)}"))
    await daemon.stop()
    restarted, timeline2, _ = await _daemon(tmp_path, psa, clock)
    row = _row(store)
    assert row.state == "done"
    assert "reconciled" in row.detail
    assert [a for a, _ in psa.writes].count("note") == 1
    await timeline2.run_until(at(6 * 60))
    assert [a for a, _ in psa.writes].count("note") == 1
    await restarted.stop()
