"""Who may run: the SQLite single-process lock and PostgreSQL leadership per connector.

SQLite mode is single-process by design: ``acquire_owner_lock`` takes an exclusive,
non-blocking ``flock`` on ``<db>.lock``, which the kernel releases when the process dies,
so a crashed daemon never leaves a stale lock behind.

On PostgreSQL several ``run`` processes share a database and one leads each connector
through a session-level ``pg_try_advisory_lock``. The lock lives on a dedicated
connection held open for the store's lifetime: when a leader is killed its connection
drops and PostgreSQL frees the lock at once, so a standby can take over on its next try.
Keys are 64-bit digests of the current schema and the connector name, so deployments
in separate schemas of one database never contend.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from sla_connector.core.errors import StoreError

__all__ = ["Leadership", "OwnerLock", "acquire_owner_lock", "advisory_key"]


class OwnerLock:
    """An exclusive OS lock on ``<db>.lock``; held until ``release`` or process exit."""

    def __init__(self, path: str | None, fd: int | None) -> None:
        self.path = path
        self._fd = fd

    @property
    def held(self) -> bool:
        """Whether this handle still holds the lock (False for in-memory and PostgreSQL)."""
        return self._fd is not None

    def release(self) -> None:
        """Drop the lock; calling it twice is harmless."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the descriptor releases the flock

    def __enter__(self) -> OwnerLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def acquire_owner_lock(db_path: str | None) -> OwnerLock:
    """Lock ``<db_path>.lock`` or raise ``StoreError`` naming the file when it is taken."""
    if db_path is None:
        return OwnerLock(None, None)
    lock_path = f"{db_path}.lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreError(f"cannot create the lock file {lock_path}: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        pid = f" (pid {holder})" if holder.isdigit() else ""
        raise StoreError(
            f"another sla-connector run process is using {db_path}{pid}; SQLite mode is "
            "single-process — use PostgreSQL for several replicas"
        ) from None
    # The holder's pid, for the message a second process prints; informational only.
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return OwnerLock(lock_path, fd)


def advisory_key(scope: str, connector: str) -> int:
    """A stable signed 64-bit lock key for a connector within a schema."""
    digest = hashlib.sha256(f"sla-connector:lead:{scope}:{connector}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_HOLDS = sa.text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND objsubid = 1"
    " AND CAST(classid AS bigint) = :hi AND CAST(objid AS bigint) = :lo"
)


class Leadership:
    """Session-level advisory locks on one dedicated PostgreSQL connection (thread-safe)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._scope = ""
        self._held: set[str] = set()
        self._mutex = threading.Lock()

    def try_lead(self, connector: str) -> bool:
        """Take the connector's lock if free; True when this store now leads it."""
        with self._mutex:
            if connector in self._held and self._holds(connector):
                return True
            self._held.discard(connector)
            try:
                conn = self._connection()
                key = advisory_key(self._scope, connector)
                won = bool(conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar())
            except sa.exc.DBAPIError as exc:
                self._drop()
                shown = self._engine.url.render_as_string(hide_password=True)
                raise StoreError(f"store {shown}: leadership of {connector!r}: {exc.orig}") from exc
            if won:
                self._held.add(connector)
            return won

    def leads(self, connector: str) -> bool:
        """Whether the lock is still held: False once the connection has been lost."""
        with self._mutex:
            return connector in self._held and self._holds(connector)

    def release(self, connector: str) -> None:
        """Give the connector up so a standby can lead it."""
        with self._mutex:
            if connector not in self._held:
                return
            self._held.discard(connector)
            if self._conn is None:
                return
            key = advisory_key(self._scope, connector)
            try:
                self._conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
            except sa.exc.DBAPIError:
                self._drop()  # the lock died with the connection anyway

    def close(self) -> None:
        """Unlock everything, then close the dedicated connection.

        The explicit unlock makes the hand-over immediate: a server notices a closed
        socket a moment later, and a standby asking in between would be refused.
        """
        with self._mutex:
            self._held.clear()
            if self._conn is not None:
                # A failure means the connection is gone, and its locks with it.
                with contextlib.suppress(sa.exc.DBAPIError):
                    self._conn.execute(sa.select(sa.func.pg_advisory_unlock_all()))
            self._drop()

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._scope = str(conn.execute(sa.select(sa.func.current_schema())).scalar() or "")
            self._conn = conn
        return self._conn

    def _holds(self, connector: str) -> bool:
        if self._conn is None:
            return False
        key = advisory_key(self._scope, connector) & 0xFFFFFFFFFFFFFFFF
        try:
            found = self._conn.execute(_HOLDS, {"hi": key >> 32, "lo": key & 0xFFFFFFFF}).scalar()
        except sa.exc.DBAPIError:
            self._drop()
            self._held.clear()
            return False
        return bool(found)

    def _drop(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            # Invalidate rather than return to the pool: a pooled connection would keep
            # its session locks alive for whoever checks it out next.
            try:
                conn.invalidate()
                conn.close()
            except sa.exc.DBAPIError:
                pass
