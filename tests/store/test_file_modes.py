"""Issue 11 finding 10 / item 8: the files the SQLite store creates are 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sla_connector.store import Store


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_finding_10_store_files_are_created_readable_by_their_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "sla.db"
    old = os.umask(0o022)  # the usual default, under which SQLite would make 0644 files
    try:
        with Store.open(f"sqlite:///{db}") as store:
            store.set_cursor("zd", "c1", at=1)
            store.append_evidence("test", {"n": 1}, at=1)
            lock = store.acquire_sqlite_owner_lock()
            made = sorted(p.name for p in tmp_path.iterdir())
            modes = {p.name: _mode(p) for p in tmp_path.iterdir()}
            lock.release()
    finally:
        os.umask(old)
    assert {"sla.db", "sla.db-wal", "sla.db-shm", "sla.db.lock"} <= set(made)
    assert modes == dict.fromkeys(made, 0o600)


def test_an_existing_store_file_keeps_its_mode(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    db.touch(mode=0o640)
    os.chmod(db, 0o640)
    with Store.open(f"sqlite:///{db}"):
        pass
    assert _mode(db) == 0o640
