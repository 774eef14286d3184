"""The last snapshot of every ticket, and the tickets that went away (SEMANTICS S39).

Part of ``Store`` (see ``store.base``). A snapshot is the canonical ticket as last read
(JSON), with its client, tier and clock states as columns to filter on; withdrawing a
ticket closes its snapshot and cancels its steps in the same transaction, so no step of a
deleted ticket can fire.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

import orjson
import sqlalchemy as sa

from sla_connector.core.calendars import from_us
from sla_connector.core.errors import TicketError
from sla_connector.core.ports import RecalledTicket
from sla_connector.store import ledger as ledger_ops
from sla_connector.store.base import StoreBase
from sla_connector.store.engine import dialect_insert
from sla_connector.store.records import LedgerRow, TicketRow, WithdrawnTicket
from sla_connector.store.schema import tickets, withdrawals

__all__ = ["SnapshotStore"]

_TICKET_FIELDS: Final = tuple(c.name for c in tickets.columns)
_TICKET_UPDATE: Final = tuple(n for n in _TICKET_FIELDS if n not in ("source", "id"))


class SnapshotStore(StoreBase):
    """Ticket snapshots and withdrawals."""

    # --- tickets -----------------------------------------------------------------------

    def upsert_tickets(self, rows: Sequence[TicketRow]) -> None:
        """Insert or replace snapshots in one transaction (idempotent; last row of a key wins)."""
        if not rows:
            return
        unique = {(r.source, r.id): r for r in rows}
        params = [{n: getattr(r, n) for n in _TICKET_FIELDS} for r in unique.values()]
        insert = dialect_insert(self.dialect)(tickets)
        stmt = insert.on_conflict_do_update(
            index_elements=[tickets.c.source, tickets.c.id],
            set_={n: insert.excluded[n] for n in _TICKET_UPDATE},
        )
        with self._write(f"saving {len(params)} tickets") as conn:
            for start in range(0, len(params), self._batch):
                conn.execute(stmt, params[start : start + self._batch])

    def get_ticket(self, source: str, ticket_id: str) -> TicketRow | None:
        """One snapshot by its key."""
        with self._read(f"reading ticket {source}:{ticket_id}") as conn:
            row = conn.execute(
                sa.select(tickets).where(tickets.c.source == source, tickets.c.id == ticket_id)
            ).first()
            return None if row is None else TicketRow(**row._mapping)

    def get_tickets(self, source: str, ticket_ids: Sequence[str]) -> dict[str, TicketRow]:
        """Several snapshots of one source by id, in one read (ids not stored are absent)."""
        found: dict[str, TicketRow] = {}
        wanted = list(dict.fromkeys(ticket_ids))
        with self._read(f"reading {len(wanted)} tickets of {source}") as conn:
            for start in range(0, len(wanted), self._batch):
                chunk = wanted[start : start + self._batch]
                query = sa.select(tickets).where(
                    tickets.c.source == source, tickets.c.id.in_(chunk)
                )
                for row in conn.execute(query):
                    found[row.id] = TicketRow(**row._mapping)
        return found

    def recall_tickets(self, source: str, ticket_ids: Sequence[str]) -> dict[str, RecalledTicket]:
        """The last snapshots of these tickets with when they were taken
        (``core.ports.TicketMemory``); a snapshot that no longer parses is left out."""
        recalled: dict[str, RecalledTicket] = {}
        for ticket_id, row in self.get_tickets(source, ticket_ids).items():
            try:
                ticket = row.ticket()
            except (ValueError, TicketError):  # an older format: read the ticket afresh
                continue
            recalled[ticket_id] = RecalledTicket(ticket, from_us(row.updated_at))
        return recalled

    def iter_tickets(
        self, *, open_only: bool = False, client: str | None = None, source: str | None = None
    ) -> Iterator[TicketRow]:
        """Snapshots in (source, id) order, read page by page."""
        query = sa.select(tickets).order_by(tickets.c.source, tickets.c.id).limit(self._page)
        if open_only:
            query = query.where(tickets.c.is_open.is_(True))
        if client is not None:
            query = query.where(tickets.c.client == client)
        if source is not None:
            query = query.where(tickets.c.source == source)
        last: tuple[str, str] | None = None
        while True:
            page = query
            if last is not None:
                page = page.where(sa.tuple_(tickets.c.source, tickets.c.id) > sa.tuple_(*last))
            with self._read("reading tickets") as conn:
                rows = [TicketRow(**r._mapping) for r in conn.execute(page)]
            yield from rows
            if len(rows) < self._page:
                return
            last = (rows[-1].source, rows[-1].id)

    def count_tickets(self, *, open_only: bool = False) -> int:
        """How many snapshots (open ones only when asked)."""
        query = sa.select(sa.func.count()).select_from(tickets)
        if open_only:
            query = query.where(tickets.c.is_open.is_(True))
        with self._read("counting tickets") as conn:
            return int(conn.execute(query).scalar() or 0)

    # --- tickets that went away (S39) ---------------------------------------------------

    def withdraw(
        self, source: str, ticket_id: str, *, reason: str, detail: str, cancel_reason: str, at: int
    ) -> tuple[WithdrawnTicket, list[LedgerRow]] | None:
        """Take a ticket out of the open set, in one transaction: record why, mark its
        snapshot closed, cancel its planned and dormant steps with ``cancel_reason``.

        Returns the record and the cancelled steps; None when the ticket was never stored or
        is withdrawn already (a full read that reports it again changes nothing).
        """
        with self._write(f"withdrawing ticket {source}:{ticket_id}") as conn:
            key = (tickets.c.source == source, tickets.c.id == ticket_id)
            snapshot = conn.execute(sa.select(tickets).where(*key)).first()
            if snapshot is None:
                return None
            done = conn.execute(
                sa.select(withdrawals.c.reason).where(
                    withdrawals.c.source == source, withdrawals.c.ticket_id == ticket_id
                )
            ).first()
            if done is not None:
                return None
            row = TicketRow(**snapshot._mapping)
            record = WithdrawnTicket(
                source=source,
                ticket_id=ticket_id,
                client=row.client,
                tier=row.tier,
                subject=row.ticket().subject,
                reason=reason,
                detail=detail,
                withdrawn_at=at,
            )
            conn.execute(
                sa.insert(withdrawals).values(
                    source=source,
                    ticket_id=ticket_id,
                    client=row.client,
                    reason=reason,
                    detail=detail,
                    withdrawn_at=at,
                )
            )
            conn.execute(sa.update(tickets).where(*key).values(is_open=False, updated_at=at))
            cancelled = ledger_ops.cancel_ticket(conn, source, ticket_id, cancel_reason, at)
            return record, cancelled

    def restore_withdrawn(self, source: str, ticket_ids: Sequence[str]) -> list[str]:
        """Forget the withdrawal of tickets a poll delivered again (restored, moved back);
        returns the ids that had been withdrawn. Their cancelled steps stay cancelled."""
        wanted = list(dict.fromkeys(ticket_ids))
        back: list[str] = []
        if not wanted:
            return back
        with self._write(f"restoring withdrawn tickets of {source}") as conn:
            for start in range(0, len(wanted), self._batch):
                chunk = wanted[start : start + self._batch]
                where = (withdrawals.c.source == source, withdrawals.c.ticket_id.in_(chunk))
                found = list(
                    conn.execute(sa.select(withdrawals.c.ticket_id).where(*where)).scalars()
                )
                if found:
                    conn.execute(sa.delete(withdrawals).where(*where))
                    back.extend(found)
        return sorted(back)

    def withdrawals(
        self, *, client: str | None = None, source: str | None = None
    ) -> list[WithdrawnTicket]:
        """Withdrawn tickets (of one client or source), with their last snapshot's tier and
        subject, oldest first."""
        query = (
            sa.select(withdrawals, tickets.c.tier, tickets.c.ticket_json)
            .join(
                tickets,
                sa.and_(
                    tickets.c.source == withdrawals.c.source,
                    tickets.c.id == withdrawals.c.ticket_id,
                ),
                isouter=True,
            )
            .order_by(withdrawals.c.withdrawn_at, withdrawals.c.source, withdrawals.c.ticket_id)
        )
        if client is not None:
            query = query.where(withdrawals.c.client == client)
        if source is not None:
            query = query.where(withdrawals.c.source == source)
        with self._read("reading withdrawn tickets") as conn:
            return [
                WithdrawnTicket(
                    source=r.source,
                    ticket_id=r.ticket_id,
                    client=r.client,
                    tier=r.tier or "",
                    subject=_subject(r.ticket_json),
                    reason=r.reason,
                    detail=r.detail,
                    withdrawn_at=int(r.withdrawn_at),
                )
                for r in conn.execute(query)
            ]


def _subject(ticket_json: str | None) -> str:
    if not ticket_json:
        return ""
    found = orjson.loads(ticket_json).get("subject", "")
    return found if isinstance(found, str) else ""
