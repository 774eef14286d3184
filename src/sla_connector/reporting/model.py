"""The report model: what one client (or the whole MSP) got in one period.

Every figure is recomputed by the core (``evaluate`` and ``AdherenceCounter``) from the
stored ticket history, so a report, the audit and the dashboard can never disagree. A
clock counts in the period in which its outcome is decided (DESIGN section 7); periods
are half-open [start, end). ``compute_report`` is pure: it takes the tickets, the ledger
rows, the evidence verdict and the log's entries for the period (cross-checked by
``reporting.attestation``); ``build_report`` reads them from a store. Escalations and
breaches are the read model the dashboard shows too (``core.readmodel``), and "late" and
"at risk" are ``core.vocabulary``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sla_connector.core.readmodel import BreachLine, EscalationLine, WithdrawnLine
from sla_connector.core.statements import CreditStatement
from sla_connector.reporting.periods import Period

__all__ = [
    "Adherence",
    "AtRiskLine",
    "BreachLine",
    "ClientSummary",
    "EscalationLine",
    "EvidenceAttestation",
    "Report",
    "TierSummary",
    "WithdrawnLine",
    "adherence",
]


@dataclass(frozen=True, slots=True)
class Adherence:
    """Met and breached clocks of one kind in the period and the period before."""

    met: int
    breached: int
    previous_met: int
    previous_breached: int
    target: float | None
    rate: float | None
    previous_rate: float | None
    trend: float | None
    meets_target: bool | None

    @property
    def decided(self) -> int:
        return self.met + self.breached


def adherence(
    met: int, breached: int, previous_met: int, previous_breached: int, target: float | None
) -> Adherence:
    """Build an ``Adherence`` with its rates: met / (met + breached), None when nothing counted."""
    rate = met / (met + breached) if met + breached else None
    previous = (
        previous_met / (previous_met + previous_breached)
        if previous_met + previous_breached
        else None
    )
    return Adherence(
        met=met,
        breached=breached,
        previous_met=previous_met,
        previous_breached=previous_breached,
        target=target,
        rate=rate,
        previous_rate=previous,
        trend=None if rate is None or previous is None else rate - previous,
        meets_target=None if rate is None or target is None else rate >= target,
    )


@dataclass(frozen=True, slots=True)
class TierSummary:
    """A report's line for one tier: adherence per clock kind (from the read model's
    ``core.readmodel.TierLine`` of the period and the one before), volumes, mean times."""

    client: str
    tier: str
    tier_name: str
    response: Adherence
    resolution: Adherence
    ticket: Adherence
    created: int
    previous_created: int
    responded: int
    mean_respond_s: float | None
    resolved: int
    mean_resolve_s: float | None


@dataclass(frozen=True, slots=True)
class ClientSummary:
    """A client's figures over all its tiers (or the whole scope, as ``total``)."""

    client: str
    name: str
    target: float | None
    response: Adherence
    resolution: Adherence
    ticket: Adherence
    created: int
    previous_created: int
    breaches: int
    at_risk: int


@dataclass(frozen=True, slots=True)
class AtRiskLine:
    """An open ticket whose running clock is at risk (``Vocabulary.at_risk`` of its target)."""

    source: str
    ticket_id: str
    client: str
    subject: str
    tier: str
    clock: str
    used: float
    due_at: datetime
    seconds_to_breach: float


@dataclass(frozen=True, slots=True)
class EvidenceAttestation:
    """What backs a report's figures: the evidence log range it was checked against.

    ``first_seq..last_seq`` and ``head_hash`` are the entries verified (the head hash is
    the value to quote outside the database); ``key_id`` the fingerprint of the key the
    chain was verified with (None: an unkeyed chain). ``consistent`` is False when the
    tables the figures come from contradict the outcomes the log records for the period
    (``problems`` says how); ``verified`` is False when the chain itself failed.
    """

    key_id: str | None
    first_seq: int
    last_seq: int
    head_hash: str
    consistent: bool
    problems: tuple[str, ...]
    verified: bool = True
    entries: int = 0
    message: str = ""
    cross_checked: int = 0  # outcomes of the period (and scope) looked up in the tables

    @property
    def ok(self) -> bool:
        """The chain verified and the tables agree with it."""
        return self.verified and self.consistent

    @property
    def anchor(self) -> str:
        """The range, head hash and key, as the reports print them."""
        keyed = (
            f"keyed with key {self.key_id} (HMAC-SHA256)"
            if self.key_id
            else "unkeyed (SHA-256 only)"
        )
        return f"entries {self.first_seq}..{self.last_seq}, head {self.head_hash}, {keyed}"

    @property
    def statement(self) -> str:
        """The sentence every rendering prints under the figures."""
        if not self.verified:
            return (
                "WARNING: the evidence log FAILED verification "
                f"({self.message}); these figures are not backed by a verified log."
            )
        if not self.consistent:
            return (
                "WARNING: the stored tables and the evidence log disagree: "
                f"{'; '.join(self.problems)}. These figures are not backed by the evidence "
                f"log ({self.anchor})."
            )
        if self.entries == 0:
            return (
                "The evidence log is intact but empty: figures are recomputed from the stored "
                "ticket history only."
            )
        return (
            "Figures recomputed from the stored ticket history and cross-checked against the "
            f"evidence log ({self.cross_checked} outcomes of the period); the log was "
            f"verified intact (hash chain checked): {self.anchor}."
        )


NOT_CHECKED = "The evidence log was not checked for this report."


@dataclass(frozen=True, slots=True)
class Report:
    """Everything one report shows; times are aware (UTC), rendered in ``timezone``."""

    scope: str
    scope_name: str
    client: str | None
    period: Period
    previous_period: Period
    generated_at: datetime
    timezone: str
    total: ClientSummary
    clients: tuple[ClientSummary, ...]
    tiers: tuple[TierSummary, ...]
    breaches: tuple[BreachLine, ...]
    escalations: tuple[EscalationLine, ...]
    at_risk: tuple[AtRiskLine, ...]
    evidence: EvidenceAttestation | None  # None: the log was not checked
    withdrawn: tuple[WithdrawnLine, ...] = ()
    """Tickets withdrawn in the period (S39): listed, never counted as met or breached."""
    credits: tuple[CreditStatement, ...] = ()
    """Contracted clients' credit statements: the period's month in a monthly report (the
    months of the quarter in a quarterly one), the month to date in a weekly one."""
    roles: Mapping[str, str] = field(default_factory=dict)
    """Escalation step name -> the role it goes to, as a client reads it (Account Director)."""

    @property
    def evidence_statement(self) -> str:
        """What backs the figures, in one sentence (``EvidenceAttestation.statement``)."""
        return NOT_CHECKED if self.evidence is None else self.evidence.statement

    @property
    def kind(self) -> str:
        return self.period.kind

    @property
    def for_client(self) -> bool:
        """A client's own report (what a client receives): roles, never internal addresses."""
        return self.client is not None

    def who(self, line: EscalationLine) -> str:
        """Who a step went to: the role in a client's report, the person in the MSP's."""
        role = self.roles.get(line.step)
        if self.for_client:
            return role or "your service team"
        return f"{role} ({line.recipient})" if role and role != line.recipient else line.recipient

    @property
    def late_escalations(self) -> int:
        return sum(1 for line in self.escalations if line.late)

    @property
    def clients_by_concern(self) -> list[ClientSummary]:
        """Clients worst first: lowest combined adherence, those without figures last."""
        return sorted(
            self.clients,
            key=lambda c: (c.ticket.rate is None, c.ticket.rate or 0.0, -c.breaches, c.client),
        )
