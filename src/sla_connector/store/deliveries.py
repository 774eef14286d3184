"""Messages sent at most once: report deliveries and escalation notices.

Part of ``Store`` (see ``store.base``). Both follow one pattern: a sender claims a
delivery before sending and records how it ended, so two replicas (or a restart) never
send it twice, and a failed one can be claimed again.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa

from sla_connector.core.errors import StoreError
from sla_connector.store import notifications as notification_ops
from sla_connector.store.base import StoreBase
from sla_connector.store.engine import dialect_insert
from sla_connector.store.records import REPORT_STATES, NotificationRow, ReportRun
from sla_connector.store.schema import report_runs

__all__ = ["DeliveryStore"]


class DeliveryStore(StoreBase):
    """Report runs and the notification ledger."""

    # --- report runs -------------------------------------------------------------------

    def claim_report(self, kind: str, period_start: int, recipient: str, *, at: int) -> bool:
        """Claim one report delivery; True for the one caller that may send it.

        A run that failed before can be claimed again; a running or sent one cannot.
        """
        key = (
            report_runs.c.kind == kind,
            report_runs.c.period_start == period_start,
            report_runs.c.recipient == recipient,
        )
        insert = dialect_insert(self.dialect)(report_runs).values(
            kind=kind,
            period_start=period_start,
            recipient=recipient,
            state="running",
            claimed_at=at,
            finished_at=None,
            detail="",
        )
        with self._write(f"claiming report {kind}/{period_start}/{recipient}") as conn:
            # RETURNING, not rowcount: drivers need not report a count for an INSERT.
            inserted = insert.on_conflict_do_nothing().returning(report_runs.c.kind)
            if conn.execute(inserted).first() is not None:
                return True
            retried = conn.execute(
                sa.update(report_runs)
                .where(*key, report_runs.c.state == "failed")
                .values(state="running", claimed_at=at, finished_at=None)
            )
            return retried.rowcount == 1

    def finish_report(
        self, kind: str, period_start: int, recipient: str, *, state: str, at: int, detail: str = ""
    ) -> None:
        """Record a delivery as 'sent' or 'failed'."""
        if state not in REPORT_STATES - {"running"}:
            raise ValueError(f"report run: cannot finish as {state!r}; use 'sent' or 'failed'")
        with self._write(f"finishing report {kind}/{period_start}/{recipient}") as conn:
            result = conn.execute(
                sa.update(report_runs)
                .where(
                    report_runs.c.kind == kind,
                    report_runs.c.period_start == period_start,
                    report_runs.c.recipient == recipient,
                )
                .values(state=state, finished_at=at, detail=detail)
            )
            if result.rowcount != 1:
                raise StoreError(f"report run {kind}/{period_start}/{recipient} was never claimed")

    def report_runs(self, kind: str | None = None) -> list[ReportRun]:
        """Report deliveries, oldest period first."""
        query = sa.select(report_runs).order_by(
            report_runs.c.period_start, report_runs.c.kind, report_runs.c.recipient
        )
        if kind is not None:
            query = query.where(report_runs.c.kind == kind)
        with self._read("reading report runs") as conn:
            return [ReportRun(**r._mapping) for r in conn.execute(query)]

    # --- notification ledger ----------------------------------------------------------

    def enqueue_notification(self, row: NotificationRow) -> bool:
        """Record a notice as pending; False when its step's notice is already recorded."""
        with self._write(f"recording notice {row.key}") as conn:
            return notification_ops.enqueue(conn, row)

    def claim_notifications(
        self,
        *,
        now: int,
        wall: int,
        lease_until: int,
        owner: str,
        sources: Collection[str],
        limit: int = 50,
    ) -> list[NotificationRow]:
        """Claim the due notices of ``sources`` for ``owner`` (see ``notifications``)."""
        with self._write("claiming notices") as conn:
            return notification_ops.claim_due(
                conn,
                now=now,
                wall=wall,
                lease_until=lease_until,
                owner=owner,
                sources=sources,
                limit=limit,
            )

    def settle_notification(
        self,
        key: str,
        *,
        owner: str,
        state: str,
        at: int,
        detail: str = "",
        retry_at: int | None = None,
    ) -> bool:
        """Record how ``owner``'s post of a notice ended: sent, failed or pending again."""
        with self._write(f"recording the outcome of notice {key}") as conn:
            return notification_ops.settle(
                conn, key, owner=owner, state=state, at=at, detail=detail, retry_at=retry_at
            )

    def recover_notifications(self, *, owner: str | None, detail: str) -> int:
        """Claimed notices of ``owner`` (every one when None) back to pending."""
        with self._write("recovering claimed notices") as conn:
            return notification_ops.recover(conn, owner=owner, detail=detail)

    def next_notification_at(self, sources: Collection[str]) -> int | None:
        """When the next pending notice of ``sources`` is due to be tried."""
        with self._read("reading the next notice") as conn:
            return notification_ops.next_at(conn, sources)

    def notification(self, key: str) -> NotificationRow | None:
        """The notice recorded for one step, if any."""
        with self._read(f"reading notice {key}") as conn:
            return notification_ops.get(conn, key)

    def notifications(self, *, state: str | None = None) -> list[NotificationRow]:
        """The notification ledger, oldest first (one state when given)."""
        with self._read("reading notices") as conn:
            return notification_ops.read(conn, state=state)
