"""The values the store reads and writes: frozen dataclasses, every instant in UTC µs.

They mirror the table rows one to one so the store converts without a mapping layer;
the daemon builds ``TicketRow`` and ``PlannedStep`` from the core's results and reads
``LedgerRow`` back to fire, reconcile and report. ``LedgerRow``, ``ReportRun`` and the
ledger states are the core's (``core.ledger``, ``core.vocabulary``), so every reader
names a row the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from sla_connector.core.ledger import LedgerRow, ReportRun, WithdrawnTicket
from sla_connector.core.ticket import Ticket, parse_ticket
from sla_connector.core.vocabulary import (
    CANCELLED,
    DONE,
    DORMANT,
    FAILED,
    FINISH_STATES,
    FIRING,
    LEDGER_STATES,
    PLANNED,
    WOULD_FIRE,
)

__all__ = [
    "CANCELLED",
    "DONE",
    "DORMANT",
    "FAILED",
    "FINISH_STATES",
    "FIRING",
    "LEDGER_STATES",
    "PLANNED",
    "REPORT_STATES",
    "WOULD_FIRE",
    "EvidenceCheck",
    "EvidenceEntry",
    "ExclusionRow",
    "LedgerRow",
    "PlannedStep",
    "ReportRun",
    "TicketRow",
    "WithdrawnTicket",
]

REPORT_STATES: Final = frozenset({"running", "sent", "failed"})


@dataclass(frozen=True, slots=True)
class TicketRow:
    """One ticket's latest snapshot and its computed clocks, keyed by (source, id)."""

    source: str
    id: str
    client: str
    tier: str
    rule: str | None
    created_at: int
    updated_at: int
    is_open: bool
    response_state: str
    response_due_at: int | None
    response_breached_at: int | None
    resolution_state: str
    resolution_due_at: int | None
    resolution_breached_at: int | None
    ticket_json: str

    def ticket(self) -> Ticket:
        """The canonical ticket this snapshot was taken from (``Ticket.to_json`` parsed back)."""
        return parse_ticket(orjson.loads(self.ticket_json))


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """An escalation step the core planned; ``key`` is its idempotency key (S18)."""

    key: str
    source: str
    ticket_id: str
    client: str
    tier: str
    step: str
    cycle: int
    due_at: int
    recipient: str
    actions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("planned step: key is empty")
        if self.cycle < 1:
            raise ValueError(f"planned step {self.key}: cycle {self.cycle} < 1")
        if not isinstance(self.actions, tuple):
            # A list would make the frozen value mutable and unhashable; accept and freeze it.
            object.__setattr__(self, "actions", tuple(self.actions))


@dataclass(frozen=True, slots=True)
class EvidenceEntry:
    """One evidence log entry; ``hash`` chains it to the entry before (``prev_hash``)."""

    seq: int
    at: int
    kind: str
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class EvidenceCheck:
    """The verdict of ``verify_evidence``; ``first_bad_seq`` is None when ``ok``.

    ``first_seq..last_seq`` is the range verified intact (up to the first damaged entry)
    and ``head_hash`` the hash of ``last_seq``."""

    ok: bool
    entries: int
    first_bad_seq: int | None
    message: str
    key_id: str | None = None  # the verifier's key (None: verified as an unkeyed chain)
    first_seq: int = 0  # the range verified (0..0 for an empty log)
    last_seq: int = 0
    head_hash: str = ""
    unkeyed_entries: int = 0  # plain SHA-256 entries (written before a key was configured)


@dataclass(frozen=True, slots=True)
class ExclusionRow:
    """A clock of one ticket excluded from contract objectives, and its revocation if any.

    ``clock`` is ``response`` or ``resolution`` (every cycle); instants are µs. A row with
    ``revoked_at`` set no longer excludes anything.
    """

    source: str
    ticket_id: str
    clock: str
    reason: str
    approved_by: str
    approved_at: int
    revoked_by: str | None = None
    revoked_at: int | None = None
    revoke_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None
