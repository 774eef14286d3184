"""The state replicas share to poll a PSA together: who leads each connector, which
replicas are alive, each request budget, and where each connector's poll resumes.

Part of ``Store`` (see ``store.base``). On SQLite one process runs, held by the owner lock
file; on PostgreSQL several replicas coordinate through advisory locks (``store.locks``)
and the heartbeats kept beside the poll cursors.
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sla_connector.store.base import StoreBase
from sla_connector.store.engine import dialect_insert
from sla_connector.store.locks import OwnerLock, acquire_owner_lock
from sla_connector.store.schema import cursors, request_log

__all__ = ["CoordinationStore"]

# A replica's heartbeat is a row of the cursors table under this prefix.
_REPLICA: Final = "__replica__:"
_REQUEST_MEMORY_US: Final = 120_000_000


class CoordinationStore(StoreBase):
    """Leadership, replica heartbeats, request budgets and poll cursors."""

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
