"""``Store``: the daemon's persistent state behind one synchronous API (STORE.md).

Each method is one short transaction, so the runtime can call it from a worker thread
(``asyncio.to_thread``) and a crash between two calls leaves the database consistent.
Iterators page through the table by key instead of holding a cursor open, so a slow
consumer never pins a transaction (or SQLite's WAL) for long.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Final

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from sla_connector.core.calendars import from_us
from sla_connector.core.errors import StoreError, TicketError
from sla_connector.core.exclusions import Exclusion, RecordedExclusions
from sla_connector.core.ports import RecalledTicket
from sla_connector.store import evidence as evidence_log
from sla_connector.store import exclusions as exclusion_ops
from sla_connector.store import ledger as ledger_ops
from sla_connector.store import notifications as notification_ops
from sla_connector.store.engine import (
    create_store_engine,
    dialect_insert,
    parse_store_url,
    transaction,
)
from sla_connector.store.evidence import EvidenceKey
from sla_connector.store.locks import Leadership, OwnerLock, acquire_owner_lock
from sla_connector.store.migrations import LATEST_VERSION, current_version, upgrade
from sla_connector.store.records import (
    DORMANT,
    FIRING,
    PLANNED,
    REPORT_STATES,
    EvidenceCheck,
    EvidenceEntry,
    ExclusionRow,
    LedgerRow,
    NotificationRow,
    PlannedStep,
    ReportRun,
    TicketRow,
    WithdrawnTicket,
)
from sla_connector.store.schema import (
    cursors,
    ledger,
    report_runs,
    request_log,
    tickets,
    withdrawals,
)

__all__ = ["DEFAULT_MAX_ATTEMPTS", "Store"]

DEFAULT_MAX_ATTEMPTS: Final = 5
_PAGE: Final = 2000
_BATCH: Final = 5000
_REPLICA: Final = "__replica__:"
_REQUEST_MEMORY_US: Final = 120_000_000
_TICKET_FIELDS: Final = tuple(c.name for c in tickets.columns)
_TICKET_UPDATE: Final = tuple(n for n in _TICKET_FIELDS if n not in ("source", "id"))


class Store:
    """Cursors, ticket snapshots, the escalation ledger, report runs, exclusions and the
    evidence log."""

    def __init__(
        self,
        engine: Engine,
        url: URL,
        *,
        max_attempts: int,
        evidence_key: EvidenceKey | None = None,
    ) -> None:
        """Use ``Store.open``; this only wires an engine that is already migrated."""
        self._engine = engine
        self.evidence_key = evidence_key
        self._url = url
        self.dialect: str = engine.dialect.name
        self.max_attempts = max_attempts
        self._leadership = Leadership(engine) if self.dialect == "postgresql" else None
        self._owner_lock: OwnerLock | None = None

    @classmethod
    def open(
        cls,
        url: str,
        *,
        migrate: bool = True,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        evidence_key: bytes | None = None,
    ) -> Store:
        """Connect, bring the schema up to date (unless ``migrate`` is False) and check it.

        ``evidence_key`` keys the evidence chain (HMAC-SHA256); None leaves it unkeyed.

        ``max_attempts`` bounds the claims of a step that keeps failing (see ``finish``).
        A PostgreSQL URL may pick a schema with ``?options=-csearch_path%3Dname``.
        """
        parsed = parse_store_url(url)
        engine = create_store_engine(parsed)
        shown = parsed.render_as_string(hide_password=True)
        try:
            with transaction(engine, "opening the store", write=migrate) as conn:
                if migrate:
                    upgrade(conn)
                have = current_version(conn)
        except StoreError:
            engine.dispose()
            raise
        if have != LATEST_VERSION:
            engine.dispose()
            raise StoreError(
                f"store {shown}: schema version {have}, this sla-connector needs "
                f"{LATEST_VERSION}; open it with migrations enabled"
            )
        key = EvidenceKey(evidence_key) if evidence_key is not None else None
        return cls(engine, parsed, max_attempts=max_attempts, evidence_key=key)

    @classmethod
    def exists(cls, url: str) -> bool:
        """Whether a store lives at ``url`` (its tables exist), creating nothing: a SQLite
        file that is not there stays absent. For commands that only read a store."""
        parsed = parse_store_url(url)
        database = parsed.database or ""
        if (
            parsed.get_backend_name() == "sqlite"
            and database not in ("", ":memory:")
            and not database.startswith("file:")
            and not Path(database).is_file()
        ):
            return False
        engine = create_store_engine(parsed)
        try:
            with transaction(engine, "opening the store", write=False) as conn:
                return current_version(conn) > 0
        finally:
            engine.dispose()

    def close(self) -> None:
        """Release leadership and the owner lock, then close every connection."""
        if self._leadership is not None:
            self._leadership.close()
        if self._owner_lock is not None:
            self._owner_lock.release()
            self._owner_lock = None
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self._url.render_as_string(hide_password=True)!r})"

    def current_version(self) -> int:
        """The schema version recorded in the database."""
        with self._read("reading the schema version") as conn:
            return current_version(conn)

    def _read(self, what: str) -> AbstractContextManager[Connection]:
        return transaction(self._engine, what, write=False)

    def _write(self, what: str) -> AbstractContextManager[Connection]:
        return transaction(self._engine, what, write=True)

    # --- who may run ------------------------------------------------------------------

    def acquire_sqlite_owner_lock(self) -> OwnerLock:
        """SQLite: lock ``<db>.lock`` so a second ``run`` process fails with a clear message.

        On PostgreSQL (or an in-memory SQLite database) the handle holds nothing: several
        processes are allowed there and coordinate through ``try_lead``.
        """
        if self.dialect != "sqlite" or self._url.database in (None, "", ":memory:"):
            return OwnerLock(None, None)
        if self._owner_lock is None or not self._owner_lock.held:
            self._owner_lock = acquire_owner_lock(self._url.database)
        return self._owner_lock

    def try_lead(self, connector: str) -> bool:
        """Become the connector's leader if no live process is (always True on SQLite)."""
        return True if self._leadership is None else self._leadership.try_lead(connector)

    def leads(self, connector: str) -> bool:
        """Whether this store still leads the connector (its lock connection is alive)."""
        return True if self._leadership is None else self._leadership.leads(connector)

    def release_lead(self, connector: str) -> None:
        """Hand the connector over to a standby."""
        if self._leadership is not None:
            self._leadership.release(connector)

    def heartbeat(self, owner: str, *, at: int) -> None:
        """Say that replica ``owner`` is alive (wall-clock µs), for sharing connectors fairly."""
        with self._write(f"heartbeat of {owner}") as conn:
            self._upsert_cursor(conn, _REPLICA + owner, {"updated_at": at})
        if self._leadership is not None:
            self._leadership.announce(owner)

    def live_replicas(self, *, since: int) -> list[str]:
        """Replicas whose last heartbeat is at or after ``since`` (on PostgreSQL, and whose
        session holds their replica lock), sorted."""
        query = sa.select(cursors.c.connector).where(
            cursors.c.connector.startswith(_REPLICA, autoescape=True), cursors.c.updated_at >= since
        )
        with self._read("reading live replicas") as conn:
            fresh = sorted(name.removeprefix(_REPLICA) for name in conn.execute(query).scalars())
        # On PostgreSQL a fresh heartbeat is not enough: the replica's session must still
        # hold its own lock (a killed process's heartbeat stays fresh for a while).
        return fresh if self._leadership is None else self._leadership.alive(fresh)

    def forget_replica(self, owner: str) -> None:
        """Remove a replica's heartbeat at a clean shutdown."""
        with self._write(f"removing replica {owner}") as conn:
            conn.execute(sa.delete(cursors).where(cursors.c.connector == _REPLICA + owner))

    # --- request budgets (core.ports.RequestLog) ---------------------------------------

    def recent_requests(self, bucket: str, *, since: int) -> list[int]:
        """Instants (µs) of ``bucket``'s requests at or after ``since``, oldest first."""
        query = (
            sa.select(request_log.c.at)
            .where(request_log.c.bucket == bucket, request_log.c.at >= since)
            .order_by(request_log.c.at)
        )
        with self._read(f"reading the request budget {bucket!r}") as conn:
            return [int(at) for at in conn.execute(query).scalars()]

    def record_request(self, bucket: str, *, at: int) -> None:
        """Count a request of ``bucket`` at ``at``; forget the bucket's requests older than
        two minutes (a budget looks back one)."""
        with self._write(f"counting a request of {bucket!r}") as conn:
            conn.execute(sa.insert(request_log).values(bucket=bucket, at=at))
            conn.execute(
                sa.delete(request_log).where(
                    request_log.c.bucket == bucket, request_log.c.at < at - _REQUEST_MEMORY_US
                )
            )

    # --- poll cursors ------------------------------------------------------------------

    def get_cursor(self, connector: str) -> str | None:
        """The connector's incremental poll cursor, None before the first poll."""
        with self._read(f"reading the cursor of {connector!r}") as conn:
            found: str | None = conn.execute(
                sa.select(cursors.c.cursor).where(cursors.c.connector == connector)
            ).scalar()
            return found

    def cursor_saved_at(self, connector: str) -> int | None:
        """When the connector's cursor was last saved (the start of that poll), in µs."""
        with self._read(f"reading the cursor of {connector!r}") as conn:
            found = conn.execute(
                sa.select(cursors.c.updated_at).where(
                    cursors.c.connector == connector, cursors.c.cursor.is_not(None)
                )
            ).scalar()
            return None if found is None else int(found)

    def set_cursor(self, connector: str, cursor: str | None, *, at: int) -> None:
        """Store the cursor to resume polling from."""
        with self._write(f"saving the cursor of {connector!r}") as conn:
            self._upsert_cursor(conn, connector, {"cursor": cursor, "updated_at": at})

    def last_full_read(self, connector: str) -> int | None:
        """When the connector last read every open ticket (reconciliation), in µs."""
        with self._read(f"reading the last full read of {connector!r}") as conn:
            found = conn.execute(
                sa.select(cursors.c.last_full_read).where(cursors.c.connector == connector)
            ).scalar()
            return None if found is None else int(found)

    def set_last_full_read(self, connector: str, at: int) -> None:
        """Record a completed full read."""
        with self._write(f"saving the last full read of {connector!r}") as conn:
            self._upsert_cursor(conn, connector, {"last_full_read": at})

    def _upsert_cursor(self, conn: Connection, connector: str, values: dict[str, Any]) -> None:
        insert = dialect_insert(self.dialect)(cursors).values(connector=connector, **values)
        conn.execute(
            insert.on_conflict_do_update(index_elements=[cursors.c.connector], set_=values)
        )

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
            for start in range(0, len(params), _BATCH):
                conn.execute(stmt, params[start : start + _BATCH])

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
            for start in range(0, len(wanted), _BATCH):
                chunk = wanted[start : start + _BATCH]
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
        query = sa.select(tickets).order_by(tickets.c.source, tickets.c.id).limit(_PAGE)
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
            if len(rows) < _PAGE:
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
            for start in range(0, len(wanted), _BATCH):
                chunk = wanted[start : start + _BATCH]
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

    # --- escalation ledger -------------------------------------------------------------

    def plan(self, steps: Sequence[PlannedStep]) -> None:
        """Merge planned steps: new keys planned, planned rows refreshed, others untouched."""
        with self._write(f"planning {len(steps)} steps") as conn:
            for start in range(0, len(steps), _BATCH):
                ledger_ops.plan(conn, steps[start : start + _BATCH])

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

    # --- exclusions from contract objectives ------------------------------------------

    def exclude(self, row: ExclusionRow) -> None:
        """Exclude a clock (replacing any earlier decision), logged in the evidence log."""
        _check_clock(row.clock)
        if not row.reason.strip() or not row.approved_by.strip():
            raise ValueError("an exclusion needs a reason and who approved it")
        with self._write(f"excluding {row.clock} of {row.source}:{row.ticket_id}") as conn:
            exclusion_ops.record(conn, row, key=self.evidence_key)

    def revoke_exclusion(
        self, source: str, ticket_id: str, clock: str, *, by: str, at: int, reason: str = ""
    ) -> bool:
        """Revoke the clock's active exclusion, logged; False when none is active."""
        _check_clock(clock)
        with self._write(f"revoking the exclusion of {source}:{ticket_id}") as conn:
            return exclusion_ops.revoke(
                conn, source, ticket_id, clock, by=by, at=at, reason=reason, key=self.evidence_key
            )

    def exclusions(
        self, *, active_only: bool = True, source: str | None = None, ticket_id: str | None = None
    ) -> list[ExclusionRow]:
        """Exclusions in (source, ticket, clock) order; revoked ones too unless active_only."""
        with self._read("reading exclusions") as conn:
            return exclusion_ops.read(
                conn, active_only=active_only, source=source, ticket_id=ticket_id
            )

    def recorded_exclusions(self) -> RecordedExclusions:
        """The active exclusions as the core's evaluation takes them (S32)."""
        found: dict[tuple[str, str], dict[str, Exclusion]] = {}
        for row in self.exclusions():
            found.setdefault((row.source, row.ticket_id), {})[row.clock] = Exclusion(
                clock="response" if row.clock == "response" else "resolution",
                reason=row.reason,
                by=row.approved_by,
                at=row.approved_at,
                origin="store",
            )
        return found

    # --- evidence log ------------------------------------------------------------------

    def append_evidence(self, kind: str, payload: Mapping[str, Any], *, at: int) -> str:
        """Append one entry to the hash chain; returns its hash."""
        with self._write(f"appending {kind!r} evidence") as conn:
            return evidence_log.append(conn, kind, payload, at, self.evidence_key)

    def anchor_evidence_key(self, *, at: int) -> bool:
        """With a key configured on a log whose newest entry is not keyed with it, append a
        keyed ``evidence_keyed`` entry, so that a later rewrite without the key shows.
        True when an entry was appended."""
        key = self.evidence_key
        if key is None:
            return False
        with self._write("anchoring the evidence key") as conn:
            seq, tip = evidence_log.head(conn)
            if seq == 0 or evidence_log.hash_key_id(tip) == key.key_id:
                return False
            payload = {"key_id": key.key_id, "previous_key_id": evidence_log.hash_key_id(tip)}
            evidence_log.append(conn, "evidence_keyed", {**payload, "after_seq": seq}, at, key)
            return True

    def verify_evidence(self) -> EvidenceCheck:
        """Recompute the chain: ok, or the first damaged entry and what is wrong."""
        with self._read("verifying the evidence log") as conn:
            return evidence_log.verify_rows(conn, self.evidence_key)

    def evidence_head(self) -> tuple[int, str]:
        """The chain's tip as the head row records it: (last seq, its hash); (0, zeros) empty."""
        with self._read("reading the evidence head") as conn:
            return evidence_log.head(conn)

    def evidence(
        self, *, since_seq: int = 0, since_at: int | None = None
    ) -> Iterator[EvidenceEntry]:
        """Entries with ``seq > since_seq`` (and ``at >= since_at``) in order, page by page."""
        after = since_seq
        while True:
            with self._read("reading the evidence log") as conn:
                page = evidence_log.read_page(conn, after, _PAGE, since_at)
            yield from page
            if len(page) < _PAGE:
                return
            after = page[-1].seq

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


def _subject(ticket_json: str | None) -> str:
    if not ticket_json:
        return ""
    found = orjson.loads(ticket_json).get("subject", "")
    return found if isinstance(found, str) else ""


def _check_clock(clock: str) -> None:
    if clock not in ("response", "resolution"):
        raise ValueError(f"exclusion: clock {clock!r} is not response or resolution")
