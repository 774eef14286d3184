"""Persistent state of the daemon: SQLite by default, PostgreSQL for several replicas.

``Store.open(url)`` is the entry point; the records it reads and writes are frozen
dataclasses with every instant in UTC microseconds. The contract is STORE.md (issue 4).
"""

from __future__ import annotations

from sla_connector.store.locks import OwnerLock
from sla_connector.store.migrations import LATEST_VERSION
from sla_connector.store.records import (
    CANCELLED,
    DONE,
    FAILED,
    FIRING,
    PLANNED,
    WOULD_FIRE,
    EvidenceCheck,
    EvidenceEntry,
    ExclusionRow,
    LedgerRow,
    PlannedStep,
    ReportRun,
    TicketRow,
    WithdrawnTicket,
)
from sla_connector.store.store import DEFAULT_MAX_ATTEMPTS, Store

__all__ = [
    "CANCELLED",
    "DEFAULT_MAX_ATTEMPTS",
    "DONE",
    "FAILED",
    "FIRING",
    "LATEST_VERSION",
    "PLANNED",
    "WOULD_FIRE",
    "EvidenceCheck",
    "EvidenceEntry",
    "ExclusionRow",
    "LedgerRow",
    "OwnerLock",
    "PlannedStep",
    "ReportRun",
    "Store",
    "TicketRow",
    "WithdrawnTicket",
]
