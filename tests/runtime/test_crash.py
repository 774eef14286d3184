"""Issue 4 acceptance, the crash test: SIGKILL `sla-connector run` at 50+ random moments.

A simulated day of escalations plays out against the simulator served over loopback HTTP
while the daemon is killed and restarted again and again, sometimes during start-up,
mostly while it polls and writes. Then it runs undisturbed to the end of the day, 02:00 UTC
(New York's working day ends at 23:00 UTC; after it only 24x7 P1 steps fall due), and is
stopped with SIGTERM. The PSA's write log and the ledger are compared with the steps
the core computes from the PSA's final tickets: none missed, none written twice, and
those that fell due while the daemon was down fired late and say so.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.runtime.crash_support import (
    SIM_START,
    Daemon,
    Setup,
    expected_steps,
    notes_by_key,
    stop,
    us,
)

SPEED = 720.0  # a simulated day in 120 s of wall time
KILLS = 50
SEED = 20261005
QUIET = timedelta(hours=2)  # virtual time left undisturbed after the last kill, at least
DAY = timedelta(hours=20)  # 06:00 to 02:00 UTC; the 4 h more to 06:00 cost 20 s of wall time
MARGIN_US = 60_000_000  # a virtual minute clear of the kill and the restart around a window
# Each write's answer waits this long after the PSA applied it, so a kill right after a
# write landed is sure to fall before the daemon records it (the marker reconciliation is
# tested every run, not by the chance of a kill within a few milliseconds).
WRITE_DELAY = 0.25


def down_windows(
    setup: Setup, daemons: list[Daemon], kills: list[datetime]
) -> list[tuple[int, int]]:
    """Virtual (from, to) spans in which no daemon could fire: a kill to the next start."""
    starts = [started for d in daemons if (started := d.started_at()) is not None]
    windows = []
    for killed in kills:
        following = [setup.virtual(s) for s in starts if setup.virtual(s) > killed]
        if following:
            windows.append((us(killed), us(min(following))))
    return windows


@pytest.mark.slow
def test_sigkill_at_random_moments_misses_no_escalation_and_duplicates_none(
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    setup = Setup.create(tmp_path, speed=SPEED)
    end = SIM_START + DAY
    daemons: list[Daemon] = []
    kills: list[datetime] = []
    with setup.server(write_delay=WRITE_DELAY):
        daemons.append(setup.spawn())
        try:
            loop_deadline = time.monotonic() + 150
            while len(kills) < KILLS and time.monotonic() < loop_deadline:
                daemon = daemons[-1]
                moment = rng.random()
                if moment < 0.2:
                    time.sleep(rng.uniform(0.0, 1.5))  # somewhere in start-up
                elif moment < 0.5:
                    daemon.wait_started(timeout=20)
                    setup.wait_for_write(timeout=2.0)  # a write landed, its answer held
                else:
                    daemon.wait_started(timeout=20)
                    time.sleep(rng.uniform(0.0, 1.0))  # while it polls and writes
                assert daemon.process.poll() is None, daemon.log.read_text()[-3000:]
                kills.append(setup.now())
                stop(daemon.process, signal.SIGKILL, 10)
                daemons.append(setup.spawn())
            daemon = daemons[-1]
            assert daemon.wait_started(timeout=30) is not None, daemon.log.read_text()[-3000:]
            setup.wait_until(max(end, setup.now() + QUIET), daemon=daemon)
            left = setup.drain(end, daemon, timeout=30)
            assert not left, f"{left} steps due by the end of the day still wait"
            before = setup.now()
            code = stop(daemon.process, signal.SIGTERM, 10)
            after = setup.now()
        finally:
            for each in daemons:
                stop(each.process, signal.SIGKILL, 10)
        tickets = setup.server_tickets()

    assert len(kills) >= KILLS, f"only {len(kills)} kills fitted in the time allowed"
    assert code == 0, "SIGTERM must end the daemon with exit 0 within 10 s"

    not_before = setup.installed_at() - 3600 * 1_000_000
    required = {
        key: due
        for key, due in expected_steps(tickets, setup.policy, before, not_before).items()
        if due <= us(end)
    }
    allowed = expected_steps(tickets, setup.policy, after, not_before)
    ledger = {row.key: row for row in setup.ledger()}
    done = {key for key, row in ledger.items() if row.state == "done"}
    notes = notes_by_key(setup.writes())

    assert len(required) > 40, "a simulated day should escalate plenty"
    assert set(required) <= done, f"missed: {sorted(set(required) - done)[:5]}"
    assert done <= set(allowed), f"fired but never due: {sorted(done - set(allowed))[:5]}"
    twice = {key: len(texts) for key, texts in notes.items() if len(texts) > 1}
    assert not twice, f"escalation notes written more than once: {twice}"
    assert set(notes) == done, (
        f"done without a note: {sorted(done - set(notes))[:5]}, "
        f"note without done: {sorted(set(notes) - done)[:5]}"
    )
    states = Counter(row.state for row in ledger.values())
    assert states["failed"] == 0, [r.detail for r in ledger.values() if r.state == "failed"][:3]
    assert states["firing"] == 0, "SIGTERM must let in-flight writes finish"

    reconciled = [row for row in ledger.values() if row.detail.startswith("reconciled")]
    assert reconciled, "no kill landed mid-step: the marker reconciliation went untested"

    windows = down_windows(setup, daemons, kills)
    while_down = {
        key
        for key, due in required.items()
        if any(lo + MARGIN_US < due < hi - MARGIN_US for lo, hi in windows)
    }
    assert len(while_down) >= 5, "the kills should leave some steps due while the daemon is down"
    not_late = {key for key in while_down if not (ledger[key].lateness_us or 0) > 0}
    assert not not_late, f"due while down but not marked late: {sorted(not_late)[:5]}"
    unsaid = {key for key in while_down if "Fired late by" not in notes[key][0]}
    assert not unsaid, f"late escalations whose note does not say so: {sorted(unsaid)[:5]}"
