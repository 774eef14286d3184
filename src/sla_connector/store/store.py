"""``Store``: the daemon's persistent state behind one synchronous API (STORE.md).

Each method is one short transaction, so the runtime can call it from a worker thread
(``asyncio.to_thread``) and a crash between two calls leaves the database consistent.
Iterators page through the table by key instead of holding a cursor open, so a slow
consumer never pins a transaction (or SQLite's WAL) for long.

This module opens, checks and closes a store; the methods of each topic live in their
own module and are composed here: ``coordination`` (leadership, heartbeats, request
budgets, poll cursors), ``snapshots`` (tickets and withdrawals), ``steps`` (the escalation
ledger), ``deliveries`` (report runs and notices) and ``evidence_trail`` (exclusions and
the evidence log), all on ``base.StoreBase``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from sla_connector.core.errors import StoreError
from sla_connector.store.coordination import CoordinationStore
from sla_connector.store.deliveries import DeliveryStore
from sla_connector.store.engine import create_store_engine, parse_store_url, transaction
from sla_connector.store.evidence import EvidenceKey
from sla_connector.store.evidence_trail import EvidenceTrailStore
from sla_connector.store.migrations import LATEST_VERSION, current_version, upgrade
from sla_connector.store.snapshots import SnapshotStore
from sla_connector.store.steps import StepStore

__all__ = ["DEFAULT_MAX_ATTEMPTS", "Store"]

DEFAULT_MAX_ATTEMPTS: Final = 5


class Store(CoordinationStore, SnapshotStore, StepStore, DeliveryStore, EvidenceTrailStore):
    """Cursors, ticket snapshots, the escalation ledger, report runs, exclusions and the
    evidence log."""

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
