"""The escalation ledger's statements: plan, claim, finish, release (issue 4 item 4).

Exactly-once rests on two facts the database guarantees on both dialects: the key is
the primary key (a step exists once), and a claim is one conditional
``UPDATE ... WHERE key = ? AND state = 'planned'`` whose row count tells the single winner
(PostgreSQL re-checks the condition after waiting for a concurrent writer's row lock;
SQLite runs writers one at a time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from sla_connector.core.errors import StoreError
from sla_connector.store.engine import dialect_insert
from sla_connector.store.records import (
    CANCELLED,
    DORMANT,
    FAILED,
    FINISH_STATES,
    FIRING,
    PLANNED,
    LedgerRow,
    PlannedStep,
)
from sla_connector.store.schema import ledger

__all__ = ["cancel", "cancel_ticket", "claim", "finish", "plan", "release", "to_row"]

_OPEN_STATES = (PLANNED, FIRING)


def to_row(r: Row[Any]) -> LedgerRow:
    """A ledger table row as a ``LedgerRow``."""
    return LedgerRow(
        key=r.key,
        source=r.source,
        ticket_id=r.ticket_id,
        client=r.client,
        tier=r.tier,
        step=r.step,
        cycle=int(r.cycle),
        due_at=int(r.due_at),
        recipient=r.recipient,
        actions=tuple(orjson.loads(r.actions)),
        state=r.state,
        attempts=int(r.attempts),
        claimed_at=r.claimed_at,
        fired_at=r.fired_at,
        lateness_us=r.lateness_us,
        owner=r.owner,
        detail=r.detail,
        response_json=r.response_json,
    )


def plan(conn: Connection, steps: Sequence[PlannedStep]) -> None:
    """Insert new keys as planned; refresh planned rows, revive dormant ones; leave the rest."""
    if not steps:
        return
    insert = dialect_insert(conn.dialect.name)(ledger)
    stmt = insert.on_conflict_do_update(
        index_elements=[ledger.c.key],
        set_={
            name: insert.excluded[name]
            for name in ("client", "tier", "due_at", "recipient", "actions", "state")
        },
        where=sa.or_(ledger.c.state == PLANNED, ledger.c.state == DORMANT),
    )
    # The last plan of a key wins within one batch, as it would across batches.
    unique = {step.key: step for step in steps}
    params = [
        {
            "key": s.key,
            "source": s.source,
            "ticket_id": s.ticket_id,
            "client": s.client,
            "tier": s.tier,
            "step": s.step,
            "cycle": s.cycle,
            "due_at": s.due_at,
            "recipient": s.recipient,
            "actions": orjson.dumps(list(s.actions)).decode(),
            "state": PLANNED,
            "attempts": 0,
            "owner": "",
            "detail": "",
        }
        for s in unique.values()
    ]
    conn.execute(stmt, params)


def claim(conn: Connection, key: str, at: int, owner: str) -> bool:
    """planned -> firing for exactly one caller."""
    result = conn.execute(
        sa.update(ledger)
        .where(ledger.c.key == key, ledger.c.state == PLANNED)
        .values(
            state=FIRING,
            attempts=ledger.c.attempts + 1,
            claimed_at=at,
            owner=owner,
        )
    )
    return result.rowcount == 1


def cancel(conn: Connection, key: str, reason: str, at: int, state: str = CANCELLED) -> bool:
    """planned -> cancelled (or dormant: not expected to fire unless planned again)."""
    result = conn.execute(
        sa.update(ledger)
        .where(ledger.c.key == key, ledger.c.state == PLANNED)
        .values(state=state, detail=reason, fired_at=None if state == DORMANT else at)
    )
    return result.rowcount == 1


def cancel_ticket(
    conn: Connection, source: str, ticket_id: str, reason: str, at: int
) -> list[LedgerRow]:
    """Every planned or dormant step of one ticket -> cancelled with the reason; the rows
    as they are now.

    A ``firing`` step is left to the process writing it (its re-read finds the ticket gone).
    """
    where = (
        ledger.c.source == source,
        ledger.c.ticket_id == ticket_id,
        ledger.c.state.in_((PLANNED, DORMANT)),
    )
    keys = sorted(conn.execute(sa.select(ledger.c.key).where(*where)).scalars())
    if not keys:
        return []
    conn.execute(
        sa.update(ledger)
        .where(*where, ledger.c.key.in_(keys))
        .values(state=CANCELLED, detail=reason, fired_at=at)
    )
    query = sa.select(ledger).where(ledger.c.key.in_(keys)).order_by(ledger.c.due_at, ledger.c.key)
    return [to_row(r) for r in conn.execute(query)]


def finish(
    conn: Connection,
    key: str,
    *,
    state: str,
    at: int,
    lateness_us: int,
    detail: str,
    response: Mapping[str, Any] | None,
    max_attempts: int,
    final: bool = False,
) -> None:
    """Record a step's outcome; 'failed' goes back to planned while attempts remain
    (unless ``final``: retrying cannot help, e.g. a second write conflict)."""
    if state not in FINISH_STATES:
        raise ValueError(
            f"ledger {key}: cannot finish as {state!r}; use one of {sorted(FINISH_STATES)}"
        )
    values: dict[str, Any] = {
        "state": state,
        "fired_at": at,
        "lateness_us": lateness_us,
        "detail": detail,
        "response_json": None if response is None else orjson.dumps(dict(response)).decode(),
    }
    if state == FAILED and not final:
        exhausted = ledger.c.attempts >= max_attempts
        values["state"] = sa.case((exhausted, FAILED), else_=PLANNED)
        values["fired_at"] = sa.case((exhausted, at), else_=None)
    result = conn.execute(
        sa.update(ledger)
        .where(ledger.c.key == key, ledger.c.state.in_(_OPEN_STATES))
        .values(**values)
    )
    if result.rowcount != 1:
        current = conn.execute(sa.select(ledger.c.state).where(ledger.c.key == key)).scalar()
        if current is None:
            raise StoreError(f"ledger: no step with key {key!r}")
        raise StoreError(f"ledger {key}: already {current}; cannot record {state!r}")


def release(conn: Connection, key: str, error: str) -> None:
    """firing -> planned for a later retry; a no-op when the step is not firing."""
    conn.execute(
        sa.update(ledger)
        .where(ledger.c.key == key, ledger.c.state == FIRING)
        .values(state=PLANNED, detail=error)
    )
