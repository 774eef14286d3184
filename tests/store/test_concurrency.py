"""Several writers on one database: claims, the SQLite owner lock, PostgreSQL leadership."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from sla_connector.core.errors import StoreError
from sla_connector.store import Store
from sla_connector.store.engine import parse_store_url
from sla_connector.store.locks import advisory_key
from tests.store.support import T0, step

KEYS = [f"zd:{n}:notify:1" for n in range(150)]


def test_two_stores_racing_for_every_step_each_win_it_exactly_once(
    open_store: Callable[..., Store],
) -> None:
    stores = [open_store(), open_store()]
    stores[0].plan([step(key) for key in KEYS])
    barrier = threading.Barrier(len(stores))
    won: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def racer(store: Store, owner: str) -> None:
        mine: list[str] = []
        try:
            barrier.wait()
            mine.extend(key for key in KEYS if store.claim(key, at=T0, owner=owner))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        won[owner] = mine

    threads = [threading.Thread(target=racer, args=(s, f"r{n}")) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    wins = Counter(key for keys in won.values() for key in keys)
    assert set(wins) == set(KEYS)
    assert set(wins.values()) == {1}
    owners = {row.key: row.owner for row in stores[1].firing()}
    assert all(owners[key] == owner for owner, keys in won.items() for key in keys)
    assert {row.attempts for row in stores[1].firing()} == {1}


# --- SQLite owner lock ----------------------------------------------------------------

_HOLDER = """
import sys, time
from sla_connector.store import Store
store = Store.open(sys.argv[1])
try:
    store.acquire_sqlite_owner_lock()
except Exception as exc:
    print(f"REFUSED {type(exc).__name__}: {exc}", flush=True)
    sys.exit(3)
print("LOCKED", flush=True)
time.sleep(120)
"""


def _run_holder(url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _HOLDER, url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_second_process_on_the_same_sqlite_file_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    url = f"sqlite:///{db}"
    with Store.open(url) as store:
        handle = store.acquire_sqlite_owner_lock()
        assert handle.held
        refused = subprocess.run(
            [sys.executable, "-c", _HOLDER, url],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 3, refused.stderr
        assert "REFUSED StoreError: another sla-connector run process is using" in refused.stdout
        assert str(db) in refused.stdout
        assert f"(pid {os.getpid()})" in refused.stdout
        assert "use PostgreSQL for several replicas" in refused.stdout
        handle.release()
        second = _run_holder(url)
        try:
            assert second.stdout is not None
            assert second.stdout.readline().strip() == "LOCKED"
        finally:
            second.kill()
            second.wait()


def test_a_killed_owner_frees_the_sqlite_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    Store.open(url).close()
    holder = _run_holder(url)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "LOCKED"
        with Store.open(url) as store, pytest.raises(StoreError, match="another sla-connector"):
            store.acquire_sqlite_owner_lock()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with Store.open(url) as store:
        assert store.acquire_sqlite_owner_lock().held


def test_owner_lock_is_a_no_op_and_leadership_always_true_on_sqlite(tmp_path: Path) -> None:
    with (
        Store.open(f"sqlite:///{tmp_path / 'a.db'}") as a,
        Store.open(f"sqlite:///{tmp_path / 'a.db'}") as b,
    ):
        assert a.try_lead("zd") and b.try_lead("zd")
        assert a.leads("zd")
        a.release_lead("zd")
    with Store.open("sqlite://") as memory:
        assert not memory.acquire_sqlite_owner_lock().held


# --- PostgreSQL leadership ------------------------------------------------------------


def test_only_one_store_leads_a_connector_until_it_closes(postgres_url: str) -> None:
    leader, standby = Store.open(postgres_url), Store.open(postgres_url)
    try:
        assert leader.try_lead("zd")
        assert leader.try_lead("zd")  # asking again keeps it, without stacking the lock
        assert not standby.try_lead("zd")
        assert standby.try_lead("cw")
        assert not leader.try_lead("cw")
        assert leader.leads("zd") and not standby.leads("zd")
        leader.close()
        assert standby.try_lead("zd")
        assert standby.leads("zd")
    finally:
        leader.close()
        standby.close()


def test_release_lead_hands_the_connector_over(postgres_url: str) -> None:
    with Store.open(postgres_url) as a, Store.open(postgres_url) as b:
        assert a.try_lead("zd")
        assert a.try_lead("zd")
        a.release_lead("zd")
        assert not a.leads("zd")
        assert b.try_lead("zd")
        assert not a.try_lead("zd")


def test_a_leader_whose_connection_dies_knows_it_no_longer_leads(postgres_url: str) -> None:
    with Store.open(postgres_url) as a, Store.open(postgres_url) as b:
        assert a.try_lead("zd")
        engine = sa.create_engine(parse_store_url(postgres_url))
        with engine.begin() as conn:
            scope = conn.execute(sa.text("SELECT current_schema()")).scalar()
            key = advisory_key(str(scope), "zd") & 0xFFFFFFFFFFFFFFFF
            killed = conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND CAST(classid AS bigint) = :hi AND CAST(objid AS bigint) = :lo"
                ),
                {"hi": key >> 32, "lo": key & 0xFFFFFFFF},
            ).all()
        engine.dispose()
        assert len(killed) == 1
        assert _eventually(lambda: b.try_lead("zd"))
        assert not a.leads("zd")
        assert not a.try_lead("zd")


_PG_LEADER = """
import sys, time
from sla_connector.store import Store
store = Store.open(sys.argv[1])
print("LEADING" if store.try_lead("zd") else "STANDBY", flush=True)
time.sleep(120)
"""


def test_a_killed_leader_process_hands_over(postgres_url: str) -> None:
    leader = subprocess.Popen(
        [sys.executable, "-c", _PG_LEADER, postgres_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert leader.stdout is not None
        assert leader.stdout.readline().strip() == "LEADING"
        with Store.open(postgres_url) as standby:
            assert not standby.try_lead("zd")
            leader.send_signal(signal.SIGKILL)
            leader.wait()
            assert _eventually(lambda: standby.try_lead("zd"))
    finally:
        leader.kill()
        leader.wait()


def _eventually(probe: Callable[[], bool], tries: int = 100) -> bool:
    """PostgreSQL frees a dead session's locks once it notices the socket closed."""
    for _ in range(tries):
        if probe():
            return True
        time.sleep(0.05)
    return False


_PG_REPLICA = """
import sys, time
from sla_connector.store import Store
store = Store.open(sys.argv[1])
store.heartbeat("replica-a", at=int(sys.argv[2]))
print("ALIVE", flush=True)
time.sleep(120)
"""


def test_a_killed_replica_stops_counting_at_once_though_its_heartbeat_is_fresh(
    postgres_url: str,
) -> None:
    now = int(time.time() * 1_000_000)
    other = subprocess.Popen(
        [sys.executable, "-c", _PG_REPLICA, postgres_url, str(now)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None
        assert other.stdout.readline().strip() == "ALIVE"
        with Store.open(postgres_url) as store:
            store.heartbeat("replica-b", at=now)
            assert store.live_replicas(since=now - 1) == ["replica-a", "replica-b"]
            other.send_signal(signal.SIGKILL)
            other.wait()
            # Its heartbeat row is as fresh as ours, but its session (and lock) is gone.
            assert _eventually(lambda: store.live_replicas(since=now - 1) == ["replica-b"])
    finally:
        other.kill()
        other.wait()


def test_live_replicas_on_sqlite_are_the_fresh_heartbeats(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        store.heartbeat("a", at=100)
        store.heartbeat("b", at=50)
        assert store.live_replicas(since=60) == ["a"]
