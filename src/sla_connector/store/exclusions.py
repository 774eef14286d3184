"""The exclusion statements: record, revoke and read (issue 14 item 4).

Each decision changes the one row of its (source, ticket, clock) and appends an evidence
entry in the same transaction, so the log holds every exclusion and revocation, in order,
even after a later decision replaced the row.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from sla_connector.store import evidence as evidence_log
from sla_connector.store.engine import dialect_insert
from sla_connector.store.evidence import EvidenceKey
from sla_connector.store.records import ExclusionRow
from sla_connector.store.schema import exclusions

__all__ = ["EXCLUDED", "REVOKED", "read", "record", "revoke"]

EXCLUDED = "clock_excluded"
REVOKED = "exclusion_revoked"
_FIELDS = tuple(column.name for column in exclusions.columns)
_KEY = frozenset({"source", "ticket_id", "clock"})


def _row(r: Row[Any]) -> ExclusionRow:
    return ExclusionRow(**r._mapping)


def record(conn: Connection, row: ExclusionRow, *, key: EvidenceKey | None = None) -> None:
    """Exclude the clock (replacing an earlier decision) and log it as evidence."""
    values = {name: getattr(row, name) for name in _FIELDS}
    values.update(revoked_by=None, revoked_at=None, revoke_reason=None)
    insert = dialect_insert(conn.dialect.name)(exclusions).values(**values)
    keys = [exclusions.c.source, exclusions.c.ticket_id, exclusions.c.clock]
    changed = {name: value for name, value in values.items() if name not in _KEY}
    conn.execute(insert.on_conflict_do_update(index_elements=keys, set_=changed))
    payload = {
        "source": row.source,
        "ticket_id": row.ticket_id,
        "clock": row.clock,
        "reason": row.reason,
        "by": row.approved_by,
    }
    evidence_log.append(conn, EXCLUDED, payload, row.approved_at, key)


def revoke(
    conn: Connection,
    source: str,
    ticket_id: str,
    clock: str,
    *,
    by: str,
    at: int,
    reason: str,
    key: EvidenceKey | None = None,
) -> bool:
    """Revoke an active exclusion and log it; False when there is none to revoke."""
    result = conn.execute(
        sa.update(exclusions)
        .where(
            exclusions.c.source == source,
            exclusions.c.ticket_id == ticket_id,
            exclusions.c.clock == clock,
            exclusions.c.revoked_at.is_(None),
        )
        .values(revoked_by=by, revoked_at=at, revoke_reason=reason)
    )
    if result.rowcount != 1:
        return False
    payload = {"source": source, "ticket_id": ticket_id, "clock": clock, "by": by}
    evidence_log.append(conn, REVOKED, {**payload, "reason": reason}, at, key)
    return True


def read(
    conn: Connection, *, active_only: bool, source: str | None, ticket_id: str | None
) -> list[ExclusionRow]:
    """Rows in (source, ticket, clock) order."""
    query = sa.select(exclusions).order_by(
        exclusions.c.source, exclusions.c.ticket_id, exclusions.c.clock
    )
    if active_only:
        query = query.where(exclusions.c.revoked_at.is_(None))
    if source is not None:
        query = query.where(exclusions.c.source == source)
    if ticket_id is not None:
        query = query.where(exclusions.c.ticket_id == ticket_id)
    return [_row(r) for r in conn.execute(query)]
