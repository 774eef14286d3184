"""The escalation ledger as the daemon drives it: plan, find what is due, claim, finish.

Part of ``Store`` (see ``store.base``). Each call is one transaction around a state
transition of ``store.ledger``, which holds the rules (what may move from which state);
here are the queries that pick the steps and the bounds of each transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from sla_connector.store import ledger as ledger_ops
from sla_connector.store.base import StoreBase
from sla_connector.store.records import DORMANT, FIRING, PLANNED, LedgerRow, PlannedStep
from sla_connector.store.schema import ledger

__all__ = ["StepStore"]


class StepStore(StoreBase):
    """Planned, due, firing and finished escalation steps."""

    # --- escalation ledger -------------------------------------------------------------

    def plan(self, steps: Sequence[PlannedStep]) -> None:
        """Merge planned steps: new keys planned, planned rows refreshed, others untouched."""
        with self._write(f"planning {len(steps)} steps") as conn:
            for start in range(0, len(steps), self._batch):
                ledger_ops.plan(conn, steps[start : start + self._batch])

    def cancel_planned(self, key: str, reason: str, at: int) -> bool:
        """planned -> cancelled with the reason; False when the step is not planned."""
        with self._write(f"cancelling step {key}") as conn:
            return ledger_ops.cancel(conn, key, reason, at)

    def park_planned(self, keys: Sequence[str], reason: str, at: int) -> int:
        """planned -> dormant for several keys: not expected to fire unless planned again."""
        if not keys:
            return 0
        with self._write(f"parking {len(keys)} steps") as conn:
            return sum(
                1
                for key in dict.fromkeys(keys)
                if ledger_ops.cancel(conn, key, reason, at, state=DORMANT)
            )

    def next_due(self, connector: str | None = None) -> int | None:
        """The earliest due instant of any planned step (of one connector when given)."""
        query = sa.select(sa.func.min(ledger.c.due_at)).where(ledger.c.state == PLANNED)
        if connector is not None:
            query = query.where(ledger.c.source == connector)
        with self._read("reading the next due step") as conn:
            found = conn.execute(query).scalar()
            return None if found is None else int(found)

    def due(self, until: int, connector: str | None = None, limit: int = 500) -> list[LedgerRow]:
        """Planned steps due at or before ``until``, earliest first."""
        query = (
            sa.select(ledger)
            .where(ledger.c.state == PLANNED, ledger.c.due_at <= until)
            .order_by(ledger.c.due_at, ledger.c.key)
            .limit(limit)
        )
        if connector is not None:
            query = query.where(ledger.c.source == connector)
        with self._read("reading due steps") as conn:
            return [ledger_ops.to_row(r) for r in conn.execute(query)]

    def due_of_ticket(
        self, until: int, connector: str, ticket_id: str, limit: int = 20
    ) -> list[LedgerRow]:
        """One ticket's planned steps due at or before ``until``, earliest first (fired
        together, they share one verify read: ``runtime.ticket_reads``)."""
        query = (
            sa.select(ledger)
            .where(
                ledger.c.state == PLANNED,
                ledger.c.due_at <= until,
                ledger.c.source == connector,
                ledger.c.ticket_id == ticket_id,
            )
            .order_by(ledger.c.due_at, ledger.c.key)
            .limit(limit)
        )
        with self._read("reading a ticket's due steps") as conn:
            return [ledger_ops.to_row(r) for r in conn.execute(query)]

    def claim(self, key: str, *, at: int, owner: str) -> bool:
        """Atomically planned -> firing; True only for the single caller that won."""
        with self._write(f"claiming step {key}") as conn:
            return ledger_ops.claim(conn, key, at, owner)

    def finish(
        self,
        key: str,
        *,
        state: str,
        at: int,
        lateness_us: int,
        detail: str = "",
        response: Mapping[str, Any] | None = None,
        final: bool = False,
    ) -> None:
        """Record the outcome of a planned or firing step (see ``ledger.finish``); a
        ``final`` failure is not retried."""
        with self._write(f"finishing step {key}") as conn:
            ledger_ops.finish(
                conn,
                key,
                state=state,
                at=at,
                lateness_us=lateness_us,
                detail=detail,
                response=response,
                max_attempts=self.max_attempts,
                final=final,
            )

    def release(self, key: str, *, error: str) -> None:
        """firing -> planned so the step is retried; no-op unless it is firing.

        The claim still counts in ``attempts``, but only ``finish(state='failed')`` ever
        makes a step terminal, so an outage never exhausts a step by itself.
        """
        with self._write(f"releasing step {key}") as conn:
            ledger_ops.release(conn, key, error)

    def firing(self, connector: str | None = None) -> list[LedgerRow]:
        """Steps left claimed, e.g. by a crash: reconcile them before firing again."""
        query = sa.select(ledger).where(ledger.c.state == FIRING).order_by(ledger.c.due_at)
        if connector is not None:
            query = query.where(ledger.c.source == connector)
        with self._read("reading firing steps") as conn:
            return [ledger_ops.to_row(r) for r in conn.execute(query)]

    def ledger(
        self, *, since: int | None = None, until: int | None = None, client: str | None = None
    ) -> list[LedgerRow]:
        """Steps due in [since, until) (either bound optional), for reports and the dashboard."""
        query = sa.select(ledger).order_by(ledger.c.due_at, ledger.c.key)
        if since is not None:
            query = query.where(ledger.c.due_at >= since)
        if until is not None:
            query = query.where(ledger.c.due_at < until)
        if client is not None:
            query = query.where(ledger.c.client == client)
        with self._read("reading the ledger") as conn:
            return [ledger_ops.to_row(r) for r in conn.execute(query)]
