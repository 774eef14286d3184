"""The notification ledger's statements: enqueue, claim, sent, retry or fail, recover.

Exactly once rests on the same two facts as the escalation ledger (``store.ledger``): the
key is the primary key, so a notice is enqueued once however often its step is settled
(an insert that does nothing on conflict), and a claim is one conditional ``UPDATE``
whose row count names the single winner. A claim carries a lease (wall-clock µs): a row
left ``claimed`` by a process that died is taken again once the lease has run out (or at
once by ``recover`` on SQLite, where only one process runs).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from sla_connector.core.ledger import (
    NOTIFY_CLAIMED,
    NOTIFY_FAILED,
    NOTIFY_PENDING,
    NOTIFY_SENT,
    NotificationRow,
)
from sla_connector.store.engine import dialect_insert
from sla_connector.store.schema import notifications

__all__ = ["claim_due", "enqueue", "get", "next_at", "read", "recover", "settle"]


def _row(r: Row[Any]) -> NotificationRow:
    return NotificationRow(**r._mapping)


def enqueue(conn: Connection, row: NotificationRow) -> bool:
    """Insert the notice as pending; False (and nothing changed) when its key exists."""
    values = {column.name: getattr(row, column.name) for column in notifications.columns}
    insert = dialect_insert(conn.dialect.name)(notifications).values(**values)
    inserted = insert.on_conflict_do_nothing().returning(notifications.c.key)
    return conn.execute(inserted).first() is not None


def _claimable(now: int, wall: int) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(notifications.c.state == NOTIFY_PENDING, notifications.c.next_at <= now),
        sa.and_(notifications.c.state == NOTIFY_CLAIMED, notifications.c.lease_until < wall),
    )


def claim_due(
    conn: Connection,
    *,
    now: int,
    wall: int,
    lease_until: int,
    owner: str,
    sources: Collection[str],
    limit: int,
) -> list[NotificationRow]:
    """Claim up to ``limit`` notices of ``sources`` that are due (or whose lease expired)."""
    if not sources:
        return []
    candidates = conn.execute(
        sa.select(notifications.c.key)
        .where(_claimable(now, wall), notifications.c.source.in_(sorted(sources)))
        .order_by(notifications.c.next_at, notifications.c.key)
        .limit(limit)
    ).scalars()
    claimed: list[NotificationRow] = []
    for key in list(candidates):
        won = conn.execute(
            sa.update(notifications)
            .where(notifications.c.key == key, _claimable(now, wall))
            .values(
                state=NOTIFY_CLAIMED,
                attempts=notifications.c.attempts + 1,
                claimed_at=now,
                lease_until=lease_until,
                owner=owner,
            )
        )
        if won.rowcount == 1:
            found = conn.execute(sa.select(notifications).where(notifications.c.key == key))
            claimed.append(_row(found.one()))
    return claimed


def settle(
    conn: Connection,
    key: str,
    *,
    owner: str,
    state: str,
    at: int,
    detail: str,
    retry_at: int | None = None,
) -> bool:
    """Record the outcome of this owner's claim: sent, failed, or pending again at
    ``retry_at``. False when the claim is no longer this owner's (its lease ran out and
    another process took it): the other process's record stands."""
    values: dict[str, Any] = {"state": state, "detail": detail, "lease_until": None}
    if state == NOTIFY_SENT:
        values["sent_at"] = at
    elif state == NOTIFY_PENDING:
        if retry_at is None:
            raise ValueError(f"notification {key}: pending again needs retry_at")
        values["next_at"] = retry_at
    elif state != NOTIFY_FAILED:
        raise ValueError(f"notification {key}: cannot settle as {state!r}")
    result = conn.execute(
        sa.update(notifications)
        .where(
            notifications.c.key == key,
            notifications.c.state == NOTIFY_CLAIMED,
            notifications.c.owner == owner,
        )
        .values(**values)
    )
    return result.rowcount == 1


def recover(conn: Connection, *, owner: str | None, detail: str) -> int:
    """Claimed -> pending for ``owner``'s claims (every claim when None): a restarted
    process takes back what its previous life left, posting it again (at most once)."""
    query = sa.update(notifications).where(notifications.c.state == NOTIFY_CLAIMED)
    if owner is not None:
        query = query.where(notifications.c.owner == owner)
    result = conn.execute(query.values(state=NOTIFY_PENDING, lease_until=None, detail=detail))
    return int(result.rowcount or 0)


def next_at(conn: Connection, sources: Collection[str]) -> int | None:
    """The earliest ``next_at`` of a pending notice of ``sources``."""
    if not sources:
        return None
    found = conn.execute(
        sa.select(sa.func.min(notifications.c.next_at)).where(
            notifications.c.state == NOTIFY_PENDING,
            notifications.c.source.in_(sorted(sources)),
        )
    ).scalar()
    return None if found is None else int(found)


def read(conn: Connection, *, state: str | None = None) -> list[NotificationRow]:
    """Notices in creation order, of one state when given."""
    query = sa.select(notifications).order_by(notifications.c.created_at, notifications.c.key)
    if state is not None:
        query = query.where(notifications.c.state == state)
    return [_row(r) for r in conn.execute(query)]


def get(conn: Connection, key: str) -> NotificationRow | None:
    """The notice of one step, if one was recorded."""
    found = conn.execute(sa.select(notifications).where(notifications.c.key == key)).first()
    return None if found is None else _row(found)
