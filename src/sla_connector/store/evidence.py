"""The append-only evidence log and its hash chain (issue 4 item 7), keyed (issue 11 item 2).

Entry ``n`` stores ``hash = H(prev_hash + canonical_json(seq, at, kind, payload))``, where
``prev_hash`` is entry ``n-1``'s hash (64 zeros for the first) and the canonical JSON is
orjson with sorted keys. With an evidence key configured (``store.evidence_key_env``), ``H``
is HMAC-SHA256 under that key and the stored hash reads ``hmac-sha256:<key id>:<hex>``; the
key id is a short fingerprint of the key (an HMAC of a fixed label, never the key). Without
a key ``H`` is plain SHA-256 (64 hex digits): the chain still catches an edited, deleted or
reordered entry, but whoever can write the database can rewrite the whole chain, so such a
log is reported as *unkeyed*.

Editing a payload breaks that entry's hash; deleting or reordering entries breaks the
sequence or the chain at the first damaged place. The one-row ``evidence_head`` table
records the tip, so deleting the newest entries is caught as well. With a key, a rewrite
without it is caught too: a keyed entry cannot be forged, an unkeyed entry after a keyed
one is refused (no downgrade), and the newest entry must be keyed with the verifier's key
(``Store.anchor_evidence_key`` appends a keyed entry when a key is first configured on an
existing log). Entries written before a key was configured stay verifiable as they were.

Appends lock the head row (``FOR UPDATE`` on PostgreSQL; on SQLite the write
transaction already holds the database lock), so concurrent writers never fork the chain.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sla_connector.core.errors import StoreError
from sla_connector.store.records import EvidenceCheck, EvidenceEntry
from sla_connector.store.schema import GENESIS_HASH, evidence, evidence_head

__all__ = [
    "KEYED_PREFIX",
    "EvidenceKey",
    "append",
    "canonical_payload",
    "entry_hash",
    "hash_key_id",
    "head",
    "read_page",
    "verify_rows",
]

KEYED_PREFIX = "hmac-sha256:"
_KEY_ID_LABEL = b"sla-connector evidence key id"


@dataclass(frozen=True, slots=True)
class EvidenceKey:
    """The secret the chain is keyed with, and its public fingerprint ``key_id``."""

    secret: bytes = field(repr=False)
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        if not self.secret:
            raise StoreError("the evidence key is empty")
        digest = hmac.new(self.secret, _KEY_ID_LABEL, hashlib.sha256).hexdigest()
        object.__setattr__(self, "key_id", digest[:12])


def hash_key_id(stored_hash: str) -> str | None:
    """The key id a stored hash was made with; None for a plain SHA-256 (unkeyed) entry."""
    if not stored_hash.startswith(KEYED_PREFIX):
        return None
    return stored_hash[len(KEYED_PREFIX) :].split(":", 1)[0]


def canonical_payload(payload: Mapping[str, Any]) -> str:
    """The payload as canonical JSON text (sorted keys), as stored and hashed."""
    try:
        return orjson.dumps(dict(payload), option=orjson.OPT_SORT_KEYS).decode()
    except TypeError as exc:
        raise StoreError(f"evidence payload is not JSON-serialisable: {exc}") from exc


def entry_hash(
    prev_hash: str,
    seq: int,
    at: int,
    kind: str,
    payload_text: str,
    *,
    key: EvidenceKey | None = None,
) -> str:
    """H(``prev_hash`` + canonical JSON of (seq, at, kind, payload)): sha256 hex, or with
    ``key`` ``hmac-sha256:<key id>:`` + the HMAC-SHA256 hex."""
    body = orjson.dumps(
        {"seq": seq, "at": at, "kind": kind, "payload": orjson.loads(payload_text)},
        option=orjson.OPT_SORT_KEYS,
    )
    message = prev_hash.encode() + body
    if key is None:
        return hashlib.sha256(message).hexdigest()
    mac = hmac.new(key.secret, message, hashlib.sha256).hexdigest()
    return f"{KEYED_PREFIX}{key.key_id}:{mac}"


def head(conn: Connection) -> tuple[int, str]:
    """The chain's tip: (seq, hash); (0, genesis) for an empty log."""
    row = conn.execute(
        sa.select(evidence_head.c.seq, evidence_head.c.hash).where(evidence_head.c.id == 1)
    ).one()
    return int(row.seq), str(row.hash)


def append(
    conn: Connection,
    kind: str,
    payload: Mapping[str, Any],
    at: int,
    key: EvidenceKey | None = None,
) -> str:
    """Add one entry at the chain's tip inside the caller's write transaction."""
    text = canonical_payload(payload)
    head = sa.select(evidence_head.c.seq, evidence_head.c.hash).where(evidence_head.c.id == 1)
    if conn.dialect.name == "postgresql":
        head = head.with_for_update()
    row = conn.execute(head).one()
    seq = int(row.seq) + 1
    digest = entry_hash(row.hash, seq, at, kind, text, key=key)
    conn.execute(
        sa.insert(evidence).values(
            seq=seq, at=at, kind=kind, payload=text, prev_hash=row.hash, hash=digest
        )
    )
    conn.execute(
        sa.update(evidence_head).where(evidence_head.c.id == 1).values(seq=seq, hash=digest)
    )
    return digest


def read_page(
    conn: Connection, after_seq: int, limit: int, since_at: int | None = None
) -> list[EvidenceEntry]:
    """Up to ``limit`` entries with ``seq > after_seq`` (and ``at >= since_at``), in order."""
    query = sa.select(evidence).where(evidence.c.seq > after_seq)
    if since_at is not None:
        query = query.where(evidence.c.at >= since_at)
    rows = conn.execute(query.order_by(evidence.c.seq).limit(limit))
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


def verify_rows(
    conn: Connection, key: EvidenceKey | None = None, page_size: int = 2000
) -> EvidenceCheck:
    """Recompute the whole chain inside one read transaction (one consistent snapshot).

    ``entries`` counts the entries verified before the first damaged one. With ``key``,
    keyed entries are checked with it and the newest entry must be keyed with it; without,
    a keyed entry cannot be checked and fails.
    """
    walk = _Walk(key)
    while True:
        rows = conn.execute(
            sa.select(evidence)
            .where(evidence.c.seq >= walk.expected_seq)
            .order_by(evidence.c.seq)
            .limit(page_size)
        ).all()
        for r in rows:
            problem = walk.step(r)
            if problem is not None:
                return walk.bad(problem)
        if len(rows) < page_size:
            break
    seq, tip = head(conn)
    if seq != walk.count or tip != walk.prev_hash:
        walk.expected_seq = walk.count + 1
        return walk.bad(
            f"the log ends at entry {walk.count} but its head records entry {seq}: "
            "newest entries were removed"
        )
    if key is not None and walk.count and hash_key_id(walk.prev_hash) != key.key_id:
        walk.expected_seq = walk.count
        return walk.bad(
            f"the newest entry ({walk.count}) is not keyed with key {key.key_id}: the log was "
            "rewritten without the key, or nothing was written since the key was configured "
            "(start the daemon once to anchor it)"
        )
    return walk.good()


@dataclass(slots=True)
class _Walk:
    """The state of one pass over the chain."""

    key: EvidenceKey | None
    expected_seq: int = 1
    prev_hash: str = GENESIS_HASH
    count: int = 0
    unkeyed: int = 0
    keyed_seen: bool = False

    def step(self, row: sa.Row[Any]) -> str | None:
        """Check one entry; a problem, or None when it chains on."""
        seq, kind, payload = int(row.seq), row.kind, row.payload
        try:
            at = int(row.at)
        except (ValueError, TypeError):
            return f"entry {seq} was altered: its payload or time is unreadable"
        prev_hash, stored = row.prev_hash, row.hash
        if seq != self.expected_seq:
            return f"entry {self.expected_seq} is missing (next is {seq})"
        if prev_hash != self.prev_hash:
            return f"entry {seq} does not follow entry {seq - 1}"
        key_id = hash_key_id(stored)
        if key_id is None:
            if self.keyed_seen:
                return f"entry {seq} is not keyed but follows keyed entries: it was rewritten"
            self.unkeyed += 1
            use = None
        elif self.key is None:
            return (
                f"entry {seq} is keyed (key {key_id}) but no evidence key is configured: "
                "set store.evidence_key_env to verify it"
            )
        elif key_id != self.key.key_id:
            return (
                f"entry {seq} is keyed with key {key_id}, not the configured key {self.key.key_id}"
            )
        else:
            self.keyed_seen = True
            use = self.key
        try:
            digest = entry_hash(prev_hash, seq, at, kind, payload, key=use)
        except (ValueError, TypeError):  # orjson.JSONDecodeError is a ValueError
            return f"entry {seq} was altered: its payload or time is unreadable"
        if not hmac.compare_digest(digest, stored):
            return f"entry {seq} was altered: its hash does not match"
        self.prev_hash = stored
        self.expected_seq += 1
        self.count += 1
        return None

    def _check(self, ok: bool, message: str, first_bad: int | None) -> EvidenceCheck:
        return EvidenceCheck(
            ok=ok,
            entries=self.count,
            first_bad_seq=first_bad,
            message=message,
            key_id=None if self.key is None else self.key.key_id,
            first_seq=1 if self.count else 0,
            last_seq=self.count,
            head_hash=self.prev_hash,
            unkeyed_entries=self.unkeyed,
        )

    def bad(self, message: str) -> EvidenceCheck:
        return self._check(False, message, self.expected_seq)

    def good(self) -> EvidenceCheck:
        if self.key is None:
            how = "unkeyed (SHA-256 only: whoever can write the store could rewrite it)"
        elif self.unkeyed:
            how = f"keyed with key {self.key.key_id} from entry {self.unkeyed + 1}"
        else:
            how = f"keyed with key {self.key.key_id}"
        span = f"entries 1..{self.count}" if self.count else "no entries"
        return self._check(True, f"{span}, chain intact, {how} (head {self.prev_hash})", None)
