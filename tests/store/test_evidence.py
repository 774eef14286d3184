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
    monkeypatch.setattr(store, "_page", 2)
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


# --- issue 11 finding 2: the chain is keyed ----------------------------------------------

KEY = b"evidence-key-for-the-tests-0123456789"


def _rewrite_unkeyed(raw: Engine, payloads: dict[int, dict[str, object]]) -> None:
    """What an attacker with database access but no key can do: rewrite every entry (and
    the head) as a perfectly chained plain SHA-256 log, with some payloads changed."""
    with raw.begin() as conn:
        rows = conn.execute(sa.text("SELECT seq, at, kind, payload FROM evidence ORDER BY seq"))
        prev = GENESIS_HASH
        for row in rows.all():
            text = orjson.dumps(payloads.get(row.seq, orjson.loads(row.payload))).decode()
            digest = entry_hash(prev, row.seq, row.at, row.kind, text)
            conn.execute(
                sa.text(
                    "UPDATE evidence SET payload = :p, prev_hash = :v, hash = :h WHERE seq = :s"
                ),
                {"p": text, "v": prev, "h": digest, "s": row.seq},
            )
            prev = digest
        conn.execute(sa.text("UPDATE evidence_head SET hash = :h"), {"h": prev})


def test_finding_2_a_keyed_chain_names_its_key_and_range(
    open_store: Callable[..., Store],
) -> None:
    store = open_store(evidence_key=KEY)
    hashes = _fill(store, 3)
    assert all(h.startswith("hmac-sha256:") for h in hashes)
    assert KEY.decode() not in "".join(hashes)
    check = store.verify_evidence()
    key_id = store.evidence_key.key_id if store.evidence_key else ""
    assert (check.ok, check.key_id, check.first_seq, check.last_seq) == (True, key_id, 1, 3)
    assert check.head_hash == hashes[-1]
    assert "entries 1..3" in check.message and f"key {key_id}" in check.message
    assert len(key_id) == 12 and key_id not in KEY.hex()


def test_finding_2_the_wrong_key_or_no_key_fails(open_store: Callable[..., Store]) -> None:
    _fill(open_store(evidence_key=KEY), 3)
    wrong = open_store(evidence_key=b"another key entirely").verify_evidence()
    assert (wrong.ok, wrong.first_bad_seq) == (False, 1)
    assert "not the configured key" in wrong.message
    none = open_store().verify_evidence()
    assert (none.ok, none.first_bad_seq) == (False, 1)
    assert "no evidence key is configured" in none.message


def test_finding_2_a_full_rewrite_without_the_key_fails(
    open_store: Callable[..., Store], raw: Engine
) -> None:
    store = open_store(evidence_key=KEY)
    _fill(store, 4)
    _rewrite_unkeyed(raw, {2: {"key": "forged"}})
    check = store.verify_evidence()
    assert not check.ok
    assert "rewritten" in check.message
    # The unkeyed SHA-256 chain the attacker made is internally consistent: only the key
    # tells it apart.
    assert open_store().verify_evidence().ok


def test_finding_2_a_keyed_entry_with_a_recomputed_unkeyed_hash_is_refused(
    open_store: Callable[..., Store], raw: Engine
) -> None:
    store = open_store(evidence_key=KEY)
    _fill(store, 3)
    with raw.begin() as conn:
        row = conn.execute(sa.text("SELECT prev_hash, at, kind FROM evidence WHERE seq = 3")).one()
        forged = orjson.dumps({"key": "forged"}).decode()
        digest = entry_hash(row.prev_hash, 3, row.at, row.kind, forged)
        conn.execute(
            sa.text("UPDATE evidence SET payload = :p, hash = :h WHERE seq = 3"),
            {"p": forged, "h": digest},
        )
        conn.execute(sa.text("UPDATE evidence_head SET hash = :h"), {"h": digest})
    check = store.verify_evidence()
    assert (check.ok, check.first_bad_seq) == (False, 3)
    assert "not keyed but follows keyed entries" in check.message


def test_finding_2_unkeyed_entries_stay_verifiable_once_a_key_is_configured(
    open_store: Callable[..., Store], raw: Engine
) -> None:
    _fill(open_store(), 2)  # written before the key was configured
    keyed = open_store(evidence_key=KEY)
    before = keyed.verify_evidence()
    assert not before.ok and "not keyed with key" in before.message
    assert keyed.anchor_evidence_key(at=T0 + 10)
    assert not keyed.anchor_evidence_key(at=T0 + 11), "anchored once"
    _fill(keyed, 1)
    check = keyed.verify_evidence()
    assert (check.ok, check.unkeyed_entries, check.last_seq) == (True, 2, 4)
    assert "from entry 3" in check.message
    anchor = [e for e in keyed.evidence() if e.kind == "evidence_keyed"]
    assert [e.payload["after_seq"] for e in anchor] == [2]
    # Rewriting the keyed tail without the key is still caught.
    _rewrite_unkeyed(raw, {})
    assert not keyed.verify_evidence().ok


def test_finding_2_an_unkeyed_chain_says_so(store: Store) -> None:
    _fill(store, 2)
    check = store.verify_evidence()
    assert check.ok and check.key_id is None and "unkeyed" in check.message
