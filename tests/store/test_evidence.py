"""The evidence log's hash chain: intact logs verify, every kind of tampering is caught."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sla_connector.core.errors import StoreError
from sla_connector.store import Store
from sla_connector.store import store as store_module
from sla_connector.store.evidence import entry_hash
from sla_connector.store.schema import GENESIS_HASH
from tests.store.support import T0


def _fill(store: Store, n: int = 5) -> list[str]:
    return [
        store.append_evidence("escalation", {"key": f"zd:{i}:notify:1", "late_us": i}, at=T0 + i)
        for i in range(1, n + 1)
    ]


def test_empty_log_verifies(store: Store) -> None:
    check = store.verify_evidence()
    assert (check.ok, check.entries, check.first_bad_seq) == (True, 0, None)


def test_entries_chain_each_hash_to_the_previous(store: Store) -> None:
    hashes = _fill(store, 3)
    entries = list(store.evidence())
    assert [e.seq for e in entries] == [1, 2, 3]
    assert [e.hash for e in entries] == hashes
    assert [e.prev_hash for e in entries] == [GENESIS_HASH, *hashes[:2]]
    assert entries[1].payload == {"key": "zd:2:notify:1", "late_us": 2}
    assert entries[1].kind == "escalation"
    assert entries[1].at == T0 + 2
    check = store.verify_evidence()
    assert (check.ok, check.entries) == (True, 3)
    assert hashes[-1] in check.message


def test_hash_is_sha256_of_prev_hash_and_sorted_canonical_json(store: Store) -> None:
    digest = store.append_evidence("clock", {"b": [1, 2], "a": "x"}, at=T0)
    body = b'{"at":%d,"kind":"clock","payload":{"a":"x","b":[1,2]},"seq":1}' % T0
    assert digest == hashlib.sha256(GENESIS_HASH.encode() + body).hexdigest()


def test_evidence_reads_from_a_sequence_number_across_pages(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "_PAGE", 2)
    _fill(store, 5)
    assert [e.seq for e in store.evidence()] == [1, 2, 3, 4, 5]
    assert [e.seq for e in store.evidence(since_seq=2)] == [3, 4, 5]


def test_unserialisable_payload_is_refused_and_leaves_the_log_intact(store: Store) -> None:
    _fill(store, 1)
    with pytest.raises(StoreError, match="JSON"):
        store.append_evidence("bad", {"obj": object()}, at=T0)
    assert store.verify_evidence().entries == 1


def test_edited_payload_is_detected(store: Store, raw: Engine) -> None:
    _fill(store)
    with raw.begin() as conn:
        conn.execute(sa.text('UPDATE evidence SET payload = \'{"key":"forged"}\' WHERE seq = 3'))
    check = store.verify_evidence()
    assert (check.ok, check.first_bad_seq, check.entries) == (False, 3, 2)
    assert "altered" in check.message


def test_edited_entry_with_recomputed_hash_breaks_the_next_link(store: Store, raw: Engine) -> None:
    _fill(store)
    forged = orjson.dumps({"key": "forged"}).decode()
    with raw.begin() as conn:
        row = conn.execute(sa.text("SELECT prev_hash, at, kind FROM evidence WHERE seq = 3")).one()
        new_hash = entry_hash(row.prev_hash, 3, row.at, row.kind, forged)
        conn.execute(
            sa.text("UPDATE evidence SET payload = :p, hash = :h WHERE seq = 3"),
            {"p": forged, "h": new_hash},
        )
    check = store.verify_evidence()
    assert (check.ok, check.first_bad_seq) == (False, 4)


def test_deleted_entry_is_detected(store: Store, raw: Engine) -> None:
    _fill(store)
    with raw.begin() as conn:
        conn.execute(sa.text("DELETE FROM evidence WHERE seq = 2"))
    check = store.verify_evidence()
    assert (check.ok, check.first_bad_seq) == (False, 2)
    assert "missing" in check.message


def test_deleted_newest_entry_is_detected_through_the_head(store: Store, raw: Engine) -> None:
    _fill(store)
    with raw.begin() as conn:
        conn.execute(sa.text("DELETE FROM evidence WHERE seq = 5"))
    check = store.verify_evidence()
    assert (check.ok, check.first_bad_seq) == (False, 5)
    assert "removed" in check.message


def test_reordered_entries_are_detected(store: Store, raw: Engine) -> None:
    _fill(store)
    with raw.begin() as conn:
        conn.execute(sa.text("UPDATE evidence SET seq = -1 WHERE seq = 2"))
        conn.execute(sa.text("UPDATE evidence SET seq = 2 WHERE seq = 3"))
        conn.execute(sa.text("UPDATE evidence SET seq = 3 WHERE seq = -1"))
    check = store.verify_evidence()
    assert (check.ok, check.first_bad_seq) == (False, 2)


def test_concurrent_appends_from_two_stores_never_fork_the_chain(
    open_store: Callable[..., Store],
) -> None:
    stores = [open_store(), open_store()]
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def writer(store: Store, name: str) -> None:
        try:
            barrier.wait()
            for i in range(40):
                store.append_evidence("escalation", {"writer": name, "i": i}, at=T0 + i)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s, f"w{n}")) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    check = stores[0].verify_evidence()
    assert (check.ok, check.entries) == (True, 80)
