"""The report model: what one client (or the whole MSP) got in one period.

Every figure is recomputed by the core (``evaluate`` and ``AdherenceCounter``) from the
stored ticket history, so a report, the audit and the dashboard can never disagree. A
clock counts in the period in which its outcome is decided (DESIGN section 7); periods
are half-open [start, end). ``compute_report`` is pure: it takes the tickets, the ledger
rows and the evidence verdict; ``build_report`` reads them from a store. Escalations and
breaches are the read model the dashboard shows too (``core.readmodel``), and "late" and
"at risk" are ``core.vocabulary``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sla_connector.core.readmodel import BreachLine, EscalationLine
from sla_connector.core.statements import CreditStatement
from sla_connector.reporting.periods import Period

__all__ = [
    "Adherence",
    "AtRiskLine",
    "BreachLine",
    "ClientSummary",
    "EscalationLine",
    "EvidenceLine",
    "Report",
    "TierLine",
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
class TierLine:
    """One client's figures for one tier: adherence per clock kind, volumes, mean times."""

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
class EvidenceLine:
    """Whether the figures are backed by an intact evidence log (hash chain verified)."""

    checked: bool
    ok: bool
    entries: int
    message: str

    @property
    def statement(self) -> str:
        """The sentence every rendering prints under the figures."""
        if not self.checked:
            return "The evidence log was not checked for this report."
        if not self.ok:
            return (
                "WARNING: the evidence log FAILED verification "
                f"({self.message}); these figures are not backed by a verified log."
            )
        if self.entries == 0:
            return (
                "The evidence log is intact but empty: figures are recomputed from the stored "
                "ticket history only."
            )
        return (
            f"Figures recomputed from the stored ticket history; the evidence log "
            f"({self.entries} entries) was verified intact (hash chain checked)."
        )


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
    tiers: tuple[TierLine, ...]
    breaches: tuple[BreachLine, ...]
    escalations: tuple[EscalationLine, ...]
    at_risk: tuple[AtRiskLine, ...]
    evidence: EvidenceLine
    credits: tuple[CreditStatement, ...] = ()
    """Contracted clients' credit statements: the period's month in a monthly report (the
    months of the quarter in a quarterly one), the month to date in a weekly one."""
    roles: Mapping[str, str] = field(default_factory=dict)
    """Escalation step name -> the role it goes to, as a client reads it (Account Director)."""

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
