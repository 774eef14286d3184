"""Schema versions: an ordered list of migration functions and a ``schema_version`` table.

Why not Alembic: this project has one linear history, a handful of tables, and must
migrate itself when the daemon starts (``Store.open``) from an installed wheel, on
SQLite and PostgreSQL alike. Alembic would add a dependency, an ``env.py`` and a script
directory to ship and locate at run time, and its autogenerate (its main benefit) is
not needed for a schema this small. Here a migration is a plain function of a
``Connection``; all missing ones run in one transaction, serialised across processes
(``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on PostgreSQL), and
each applied version is a row of ``schema_version`` — about a hundred lines, tested in
``tests/store/test_migrations.py``.

Rules: append new migrations, never edit a released one; migration 1 is
``metadata.create_all`` over ``schema``, so a later migration that alters a table must
first copy migration 1's definitions here (see ``schema``'s docstring).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sla_connector.core.errors import StoreError
from sla_connector.store import schema

__all__ = ["LATEST_VERSION", "MIGRATIONS", "current_version", "upgrade"]

Migration = Callable[[Connection], None]


def _v1_create_tables(conn: Connection) -> None:
    """All tables, and the evidence chain's genesis tip."""
    schema.metadata.create_all(conn, checkfirst=True)
    conn.execute(sa.insert(schema.evidence_head).values(id=1, seq=0, hash=schema.GENESIS_HASH))


def _v2_ledger_by_client(conn: Connection) -> None:
    """Reports and the dashboard read the ledger by client and due instant."""
    conn.execute(
        sa.text("CREATE INDEX IF NOT EXISTS ix_ledger_client_due ON ledger (client, due_at)")
    )


def _v3_exclusions(conn: Connection) -> None:
    """Clocks excluded from contract objectives by ``sla-connector exclude`` (issue 14)."""
    schema.exclusions.create(conn, checkfirst=True)


def _v4_withdrawals(conn: Connection) -> None:
    """Tickets that went away: deleted, merged, spam, out of scope (issue 12, S39)."""
    schema.withdrawals.create(conn, checkfirst=True)


MIGRATIONS: tuple[Migration, ...] = (
    _v1_create_tables,
    _v2_ledger_by_client,
    _v3_exclusions,
    _v4_withdrawals,
)
LATEST_VERSION = len(MIGRATIONS)


def current_version(conn: Connection) -> int:
    """The highest applied version, 0 for a database without the store's tables."""
    if not sa.inspect(conn).has_table(schema.schema_version.name):
        return 0
    found = conn.execute(sa.select(sa.func.max(schema.schema_version.c.version))).scalar()
    return int(found or 0)


def _lock_key(conn: Connection) -> int:
    # Per schema, so isolated schemas in one database (parallel test runs) never wait on
    # each other.
    name = conn.execute(sa.select(sa.func.current_schema())).scalar() or ""
    digest = hashlib.sha256(f"sla-connector:migrate:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def upgrade(conn: Connection, target: int = LATEST_VERSION) -> list[int]:
    """Apply every missing migration up to ``target`` inside the caller's write transaction.

    Returns the versions applied (empty when already current). A database newer than
    this code is refused rather than guessed at.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_lock_key(conn))))
    have = current_version(conn)
    if have > LATEST_VERSION:
        raise StoreError(
            f"the database schema is version {have}, newer than this sla-connector "
            f"understands ({LATEST_VERSION}); upgrade sla-connector"
        )
    if have == 0:
        schema.schema_version.create(conn, checkfirst=True)
    applied: list[int] = []
    for version in range(have + 1, target + 1):
        MIGRATIONS[version - 1](conn)
        conn.execute(
            sa.insert(schema.schema_version).values(
                version=version, applied_at=time.time_ns() // 1000
            )
        )
        applied.append(version)
    return applied
