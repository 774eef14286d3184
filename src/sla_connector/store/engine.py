"""Engine construction and transactions for the two supported dialects.

SQLite: WAL journal (readers never block the writer), a 30 s busy timeout, and explicit
transactions — the stdlib driver's implicit BEGIN is switched off so that a write
transaction starts with ``BEGIN IMMEDIATE``. Taking the write lock up front is what makes
read-then-write sequences (the evidence chain tip, migrations) serial across processes
instead of failing with SQLITE_BUSY half way through.

PostgreSQL: psycopg 3 (``postgresql+psycopg``); ``postgresql://`` and ``postgres://`` are
read as psycopg URLs because that is the driver the ``postgres`` extra installs.

Every database error leaving a transaction becomes a ``StoreError`` that names the URL
with its password masked.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import StaticPool

from sla_connector.core.errors import StoreError

__all__ = [
    "BUSY_TIMEOUT_S",
    "create_store_engine",
    "dialect_insert",
    "mask_url",
    "parse_store_url",
    "transaction",
]

BUSY_TIMEOUT_S: Final = 30.0
_WRITE_OPTION: Final = "sla_write"
_PASSWORD_RE = re.compile(r"(://[^:/@]*:)[^@]*@")


def mask_url(raw: str) -> str:
    """The URL as text with any password replaced by ``***`` (safe to log)."""
    return _PASSWORD_RE.sub(r"\1***@", raw)


def parse_store_url(raw: str) -> URL:
    """Validate ``store.url``: SQLite or PostgreSQL through psycopg 3."""
    try:
        url = sa.make_url(raw)
    except sa.exc.ArgumentError:
        raise StoreError(
            f"store.url {mask_url(raw)!r} is not a database URL; expected "
            "sqlite:///path.db or postgresql+psycopg://user@host/db"
        ) from None
    backend = url.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend == "postgresql" and url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(
            f"store.url {mask_url(raw)!r}: unsupported database {backend!r}; "
            "use sqlite:///path.db or postgresql+psycopg://user@host/db"
        )
    return url


def dialect_insert(dialect: str) -> Any:
    """The dialect's ``insert`` construct: the one offering ``on_conflict_do_update``."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def create_store_engine(url: URL) -> Engine:
    """An engine set up for the store: SQLite pragmas and explicit BEGINs, or psycopg."""
    shown = url.render_as_string(hide_password=True)
    try:
        if url.get_backend_name() == "sqlite":
            engine = _sqlite_engine(url)
        else:
            engine = sa.create_engine(url, pool_pre_ping=True)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StoreError(f"store {shown}: cannot create the engine: {exc}") from exc
    return engine


def _create_private(path: str) -> None:
    """Create an absent SQLite file readable by its owner only (0600).

    SQLite gives the ``-wal`` and ``-shm`` files it makes beside a database the database
    file's permissions, so they are 0600 too. An existing file keeps its mode; a file that
    cannot be made here (a missing directory) is left for SQLite to report.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return
    os.close(fd)


def _sqlite_engine(url: URL) -> Engine:
    memory = url.database in (None, "", ":memory:")
    if not memory and url.database and not url.database.startswith("file:"):
        _create_private(url.database)
    kwargs: dict[str, Any] = {"connect_args": {"timeout": BUSY_TIMEOUT_S}}
    if memory:
        # One shared connection, or every checkout would see a different empty database.
        kwargs.update(poolclass=StaticPool)
        kwargs["connect_args"]["check_same_thread"] = False
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" hook below issues BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not memory:
                _enable_wal(cursor)
                # In WAL mode NORMAL survives a killed process (only power loss can drop the
                # last commits) and spares an fsync on every commit.
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


@contextmanager
def transaction(engine: Engine, what: str, *, write: bool) -> Iterator[Connection]:
    """One transaction; committed on success, rolled back on error.

    ``write`` takes SQLite's write lock at BEGIN; on PostgreSQL it changes nothing (row
    locks and conditional updates serialise writers there). Database errors are re-raised
    as ``StoreError`` naming ``what`` and the masked URL.
    """
    try:
        with engine.connect() as conn:
            if write:
                conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                yield conn
    except sa.exc.DBAPIError as exc:
        shown = engine.url.render_as_string(hide_password=True)
        raise StoreError(f"store {shown}: {what} failed: {exc.orig}") from exc


def _enable_wal(cursor: Any) -> None:
    """Switch a database to WAL, waiting out a concurrent opener.

    Changing the journal mode needs an exclusive lock, and SQLite answers "database is
    locked" at once, without its busy handler, while another process opening the same
    fresh file holds one; so the switch is retried for up to the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
