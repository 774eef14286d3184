"""What reporting needs from the store, as Protocols.

``reporting`` does not import ``store`` (the layers stay independent, STYLE.md); the
runtime and the CLI pass a ``sla_connector.store.Store``, which satisfies these shapes, and
tests can pass a small fake.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from sla_connector.core.ledger import LedgerRow, ReportRun, WithdrawnTicket
from sla_connector.core.ticket import Ticket

__all__ = [
    "EvidenceRecord",
    "EvidenceVerdict",
    "ReportStore",
    "RunStore",
    "TicketRecord",
]


class TicketRecord(Protocol):
    """A stored ticket snapshot (``store.TicketRow``)."""

    @property
    def client(self) -> str: ...
    @property
    def is_open(self) -> bool: ...
    @property
    def updated_at(self) -> int: ...

    def ticket(self) -> Ticket: ...


class EvidenceVerdict(Protocol):
    """The result of ``store.verify_evidence()``."""

    @property
    def ok(self) -> bool: ...
    @property
    def entries(self) -> int: ...
    @property
    def message(self) -> str: ...
    @property
    def key_id(self) -> str | None: ...
    @property
    def first_seq(self) -> int: ...
    @property
    def last_seq(self) -> int: ...
    @property
    def head_hash(self) -> str: ...


class EvidenceRecord(Protocol):
    """One evidence log entry (``store.EvidenceEntry``)."""

    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...


class ReportStore(Protocol):
    """The reads a report is built from."""

    def iter_tickets(
        self, *, open_only: bool = False, client: str | None = None, source: str | None = None
    ) -> Iterator[TicketRecord]: ...

    def ledger(
        self, *, since: int | None = None, until: int | None = None, client: str | None = None
    ) -> Sequence[LedgerRow]: ...

    def verify_evidence(self) -> EvidenceVerdict: ...

    def evidence(
        self, *, since_seq: int = 0, since_at: int | None = None
    ) -> Iterator[EvidenceRecord]: ...

    def withdrawals(self, *, client: str | None = None) -> Sequence[WithdrawnTicket]:
        """Tickets that went away (S39): left out of the figures, listed as withdrawn."""
        ...


class RunStore(ReportStore, Protocol):
    """A report store that also records deliveries, once per (kind, period, recipient)."""

    def claim_report(self, kind: str, period_start: int, recipient: str, *, at: int) -> bool: ...

    def finish_report(
        self, kind: str, period_start: int, recipient: str, *, state: str, at: int, detail: str = ""
    ) -> None: ...

    def report_runs(self, kind: str | None = None) -> Sequence[ReportRun]: ...
