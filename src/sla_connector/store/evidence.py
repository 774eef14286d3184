"""The append-only evidence log and its hash chain (issue 4 item 7).

Entry ``n`` stores ``hash = sha256(prev_hash + canonical_json(seq, at, kind, payload))``
in hex, where ``prev_hash`` is entry ``n-1``'s hash (64 zeros for the first) and the
canonical JSON is orjson with sorted keys. Editing a payload breaks that entry's hash;
deleting or reordering entries breaks the sequence or the chain at the first damaged
place. The one-row ``evidence_head`` table records the tip, so deleting the newest entries
is caught as well (unless the head is rewritten too: quote the head hash in reports to
anchor it outside the database).

Appends lock the head row (``FOR UPDATE`` on PostgreSQL; on SQLite the write
transaction already holds the database lock), so concurrent writers never fork the chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sla_connector.core.errors import StoreError
from sla_connector.store.records import EvidenceCheck, EvidenceEntry
from sla_connector.store.schema import GENESIS_HASH, evidence, evidence_head

__all__ = ["append", "canonical_payload", "entry_hash", "head", "read_page", "verify_rows"]


def canonical_payload(payload: Mapping[str, Any]) -> str:
    """The payload as canonical JSON text (sorted keys), as stored and hashed."""
    try:
        return orjson.dumps(dict(payload), option=orjson.OPT_SORT_KEYS).decode()
    except TypeError as exc:
        raise StoreError(f"evidence payload is not JSON-serialisable: {exc}") from exc


def entry_hash(prev_hash: str, seq: int, at: int, kind: str, payload_text: str) -> str:
    """sha256 hex of ``prev_hash`` + canonical JSON of (seq, at, kind, payload)."""
    body = orjson.dumps(
        {"seq": seq, "at": at, "kind": kind, "payload": orjson.loads(payload_text)},
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()


def append(conn: Connection, kind: str, payload: Mapping[str, Any], at: int) -> str:
    """Add one entry at the chain's tip inside the caller's write transaction."""
    text = canonical_payload(payload)
    head = sa.select(evidence_head.c.seq, evidence_head.c.hash).where(evidence_head.c.id == 1)
    if conn.dialect.name == "postgresql":
        head = head.with_for_update()
    row = conn.execute(head).one()
    seq = int(row.seq) + 1
    digest = entry_hash(row.hash, seq, at, kind, text)
    conn.execute(
        sa.insert(evidence).values(
            seq=seq, at=at, kind=kind, payload=text, prev_hash=row.hash, hash=digest
        )
    )
    conn.execute(
        sa.update(evidence_head).where(evidence_head.c.id == 1).values(seq=seq, hash=digest)
    )
    return digest


def head(conn: Connection) -> tuple[int, str]:
    """(seq, hash) of the head row: the tip the next append chains to."""
    row = conn.execute(
        sa.select(evidence_head.c.seq, evidence_head.c.hash).where(evidence_head.c.id == 1)
    ).one()
    return int(row.seq), str(row.hash)


def read_page(conn: Connection, after_seq: int, limit: int) -> list[EvidenceEntry]:
    """Up to ``limit`` entries with ``seq > after_seq``, in order."""
    rows = conn.execute(
        sa.select(evidence).where(evidence.c.seq > after_seq).order_by(evidence.c.seq).limit(limit)
    )
    return [
        EvidenceEntry(
            seq=int(r.seq),
            at=int(r.at),
            kind=r.kind,
            payload=orjson.loads(r.payload),
            prev_hash=r.prev_hash,
            hash=r.hash,
        )
        for r in rows
    ]


def verify_rows(conn: Connection, page_size: int = 2000) -> EvidenceCheck:
    """Recompute the whole chain inside one read transaction (one consistent snapshot).

    ``entries`` counts the entries verified before the first damaged one.
    """
    expected_seq = 1
    prev_hash = GENESIS_HASH
    count = 0
    while True:
        rows = conn.execute(
            sa.select(evidence)
            .where(evidence.c.seq >= expected_seq)
            .order_by(evidence.c.seq)
            .limit(page_size)
        ).all()
        for r in rows:
            seq = int(r.seq)
            if seq != expected_seq:
                return _bad(count, expected_seq, f"entry {expected_seq} is missing (next is {seq})")
            if r.prev_hash != prev_hash:
                return _bad(count, seq, f"entry {seq} does not follow entry {seq - 1}")
            if entry_hash(prev_hash, seq, int(r.at), r.kind, r.payload) != r.hash:
                return _bad(count, seq, f"entry {seq} was altered: its hash does not match")
            prev_hash = r.hash
            expected_seq += 1
            count += 1
        if len(rows) < page_size:
            break
    head = conn.execute(sa.select(evidence_head).where(evidence_head.c.id == 1)).one()
    if int(head.seq) != count or head.hash != prev_hash:
        return _bad(
            count,
            count + 1,
            f"the log ends at entry {count} but its head records entry {head.seq}: "
            "newest entries were removed",
        )
    message = f"{count} entries, chain intact (head {prev_hash})"
    return EvidenceCheck(ok=True, entries=count, first_bad_seq=None, message=message)


def _bad(count: int, seq: int, message: str) -> EvidenceCheck:
    return EvidenceCheck(ok=False, entries=count, first_bad_seq=seq, message=message)
