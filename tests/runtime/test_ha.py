"""Issue 4 acceptance, HA on PostgreSQL: two `run` processes, kill the leader, no duplicates.

Both replicas share one PostgreSQL schema and one simulated PSA served over loopback.
One leads the connector (an advisory lock held by its session); SIGKILL ends that session,
and the standby takes the lead on its next leadership tick. The PSA's write log then
shows every escalation note once.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from tests.runtime.crash_support import SIM_START, Daemon, Setup, free_port, notes_by_key, stop

PG_URL = os.environ.get("SLA_TEST_POSTGRES_URL")
SPEED = 600.0


def _leading(daemon: Daemon) -> datetime | None:
    """When the replica logged that it leads the connector (wall clock), if it has."""
    for entry in daemon.lines():
        if entry.get("msg") == "leading":
            return datetime.fromisoformat(entry["ts"])
    return None


def _replica_config(setup: Setup, url: str, name: str) -> Path:
    data = yaml.safe_load(setup.config_path.read_text())
    data["store"] = {"url": url}
    data["dashboard"] = {"bind": "127.0.0.1", "port": free_port()}
    data["runtime"]["owner"] = name
    path = setup.root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.slow
@pytest.mark.skipif(not PG_URL, reason="SLA_TEST_POSTGRES_URL is not set (PostgreSQL HA test)")
def test_killing_the_leader_hands_over_within_15_seconds_without_duplicates(
    tmp_path: Path,
) -> None:
    assert PG_URL is not None
    schema = f"ha_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    setup = Setup.create(tmp_path, speed=SPEED)
    daemons: list[Daemon] = []
    try:
        with setup.server():
            for name in ("replica-a", "replica-b"):
                setup.config_path = _replica_config(setup, url, name)
                daemon = setup.spawn()
                assert daemon.wait_started(60) is not None, daemon.log.read_text()[-3000:]
                daemons.append(daemon)
            deadline = time.monotonic() + 30
            while not any(_leading(d) for d in daemons) and time.monotonic() < deadline:
                time.sleep(0.2)
            leaders = [d for d in daemons if _leading(d)]
            assert len(leaders) == 1, "exactly one replica leads the connector"
            leader = leaders[0]
            standby = next(d for d in daemons if d is not leader)
            # Let the leader fire some escalations (a working morning), then kill it mid-flight.
            setup.wait_until(SIM_START + timedelta(hours=4), daemon=leader)
            assert setup.wait_for_write(60), "the leader wrote nothing"
            killed_at = datetime.now(UTC)
            stop(leader.process, signal.SIGKILL, 5)
            deadline = time.monotonic() + 30
            while _leading(standby) is None and time.monotonic() < deadline:
                assert standby.process.poll() is None, standby.log.read_text()[-3000:]
                time.sleep(0.1)
            took_over = _leading(standby)
            assert took_over is not None, "the standby never took the lead"
            assert (took_over - killed_at).total_seconds() <= 15
            before = len(setup.writes())
            setup.wait_until(setup.now() + timedelta(hours=3), daemon=standby)
            assert len(setup.writes()) > before, "the new leader wrote nothing"
            assert stop(standby.process, signal.SIGTERM, 10) == 0
        counts = Counter({key: len(notes) for key, notes in notes_by_key(setup.writes()).items()})
        assert counts, "no escalation was written"
        duplicates = {key: n for key, n in counts.items() if n > 1}
        assert not duplicates, f"escalations written twice: {duplicates}"
    finally:
        for daemon in daemons:
            stop(daemon.process, signal.SIGKILL, 5)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
