"""The tables, as SQLAlchemy Core metadata shared by both dialects.

Instants are BIGINT UTC microseconds (the core's unit), JSON is TEXT written by orjson,
strings are TEXT: the same DDL means the same thing on SQLite and PostgreSQL.

These definitions are exactly what migration 1 creates (``metadata.create_all``). A later
migration owns its own DDL (see ``migrations``); one that changes a table must first
freeze migration 1's definitions there, then edit this module. Tables that later
migrations add live in ``later_metadata``, each created by its own migration.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "GENESIS_HASH",
    "cursors",
    "evidence",
    "evidence_head",
    "exclusions",
    "later_metadata",
    "ledger",
    "metadata",
    "report_runs",
    "schema_version",
    "tickets",
    "withdrawals",
]

GENESIS_HASH = "0" * 64

metadata = sa.MetaData()

_US = sa.BigInteger

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", _US, nullable=False),
)

cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("connector", sa.Text, primary_key=True),
    sa.Column("cursor", sa.Text, nullable=True),
    sa.Column("updated_at", _US, nullable=True),
    sa.Column("last_full_read", _US, nullable=True),
)

tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("client", sa.Text, nullable=False),
    sa.Column("tier", sa.Text, nullable=False),
    sa.Column("rule", sa.Text, nullable=True),
    sa.Column("created_at", _US, nullable=False),
    sa.Column("updated_at", _US, nullable=False),
    sa.Column("is_open", sa.Boolean, nullable=False),
    sa.Column("response_state", sa.Text, nullable=False),
    sa.Column("response_due_at", _US, nullable=True),
    sa.Column("response_breached_at", _US, nullable=True),
    sa.Column("resolution_state", sa.Text, nullable=False),
    sa.Column("resolution_due_at", _US, nullable=True),
    sa.Column("resolution_breached_at", _US, nullable=True),
    sa.Column("ticket_json", sa.Text, nullable=False),
    sa.Index("ix_tickets_open", "is_open"),
    sa.Index("ix_tickets_client", "client"),
)

ledger = sa.Table(
    "ledger",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("ticket_id", sa.Text, nullable=False),
    sa.Column("client", sa.Text, nullable=False),
    sa.Column("tier", sa.Text, nullable=False),
    sa.Column("step", sa.Text, nullable=False),
    sa.Column("cycle", sa.Integer, nullable=False),
    sa.Column("due_at", _US, nullable=False),
    sa.Column("recipient", sa.Text, nullable=False),
    sa.Column("actions", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("claimed_at", _US, nullable=True),
    sa.Column("fired_at", _US, nullable=True),
    sa.Column("lateness_us", _US, nullable=True),
    sa.Column("owner", sa.Text, nullable=False, default=""),
    sa.Column("detail", sa.Text, nullable=False, default=""),
    sa.Column("response_json", sa.Text, nullable=True),
    sa.Index("ix_ledger_state_due", "state", "due_at"),
    sa.Index("ix_ledger_ticket", "source", "ticket_id"),
)

report_runs = sa.Table(
    "report_runs",
    metadata,
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("period_start", _US, primary_key=True, autoincrement=False),
    sa.Column("recipient", sa.Text, primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("claimed_at", _US, nullable=False),
    sa.Column("finished_at", _US, nullable=True),
    sa.Column("detail", sa.Text, nullable=False, default=""),
)

evidence = sa.Table(
    "evidence",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", _US, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.Text, nullable=False),
    sa.Column("hash", sa.Text, nullable=False),
)

# One row (id 1): the chain's tip. Appends lock it (FOR UPDATE on PostgreSQL), so two
# writers can never both extend the same tip, even when the log is still empty.
evidence_head = sa.Table(
    "evidence_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.Text, nullable=False),
)

later_metadata = sa.MetaData()

# Migration 3: justified exclusions of a clock from contract objectives (issue 14). One row
# per (source, ticket, clock) holds the latest decision; the evidence log keeps each one.
exclusions = sa.Table(
    "exclusions",
    later_metadata,
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("ticket_id", sa.Text, primary_key=True),
    sa.Column("clock", sa.Text, primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("approved_by", sa.Text, nullable=False),
    sa.Column("approved_at", _US, nullable=False),
    sa.Column("revoked_by", sa.Text, nullable=True),
    sa.Column("revoked_at", _US, nullable=True),
    sa.Column("revoke_reason", sa.Text, nullable=True),
)

# Migration 4: tickets that went away (issue 12 item 3, SEMANTICS S39): one row per ticket
# withdrawn (deleted, merged, spam, out of scope); the snapshot stays in ``tickets``.
withdrawals = sa.Table(
    "withdrawals",
    later_metadata,
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("ticket_id", sa.Text, primary_key=True),
    sa.Column("client", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default=""),
    sa.Column("withdrawn_at", _US, nullable=False),
)
