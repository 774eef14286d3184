"""Compute a ``Report`` by re-evaluating stored tickets with the core.

``compute_report`` is a pure function of (policy, tickets, ledger rows, evidence verdict
and entries, period, now); ``build_report`` reads those from a store. Tickets are streamed: only the
counters, the period's breaches and the at-risk list are kept in memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

from sla_connector.core.adherence import KINDS
from sla_connector.core.calendars import from_us, to_us
from sla_connector.core.evaluate import ClockResult, TicketEvaluation, evaluate
from sla_connector.core.exclusions import RecordedExclusions, recorded_from
from sla_connector.core.ledger import LedgerRow, WithdrawnTicket
from sla_connector.core.objectives import ObjectiveCounter, assess, month_to_date
from sla_connector.core.policy import Policy
from sla_connector.core.readmodel import (
    ALL_TIERS,
    Breach,
    BreachLine,
    EscalationLine,
    TierCounter,
    TierFigures,
    TierLine,
    breach_lines,
    client_name,
    escalation_line,
    tier_name,
    tier_order,
    tier_rank,
    withdrawn_lines,
)
from sla_connector.core.statements import CreditStatement, credit_statement
from sla_connector.core.ticket import Ticket
from sla_connector.core.vocabulary import FIRED_STATES, Vocabulary
from sla_connector.reporting.attestation import ChainFacts, attest
from sla_connector.reporting.model import (
    Adherence,
    AtRiskLine,
    ClientSummary,
    Report,
    TierSummary,
    adherence,
)
from sla_connector.reporting.periods import Period, period_containing
from sla_connector.reporting.ports import EvidenceRecord, EvidenceVerdict, ReportStore

__all__ = [
    "INTERNAL",
    "Observer",
    "build_report",
    "client_timezone",
    "compute_report",
    "relevant_tickets",
    "role_label",
    "step_roles",
    "worst_first",
]

INTERNAL = "internal"
"""The scope (and recipient key) of the MSP-wide report over all clients."""

_Key = tuple[str, str]
PERIOD, PREVIOUS = "period", "previous"
"""The read model's window names for a report's period and the period before it."""
Observer = Callable[[TicketEvaluation], None]
"""Sees every evaluated ticket of a report's scope (the evidence pack collects its extras)."""


def client_timezone(policy: Policy, client: str | None, default: str) -> str:
    """The time zone a client's report is cut and shown in: its contract's, else its
    calendar's, else ``default`` (``reports.timezone``, also the MSP report's zone)."""
    if client is None or client not in policy.clients:
        return default
    found = policy.client(client)
    if found.contract is not None:
        return found.contract.timezone
    if found.calendar and found.calendar in policy.calendars:
        return str(policy.calendars[found.calendar].tz)
    return default


def role_label(role: str) -> str:
    """``account_director`` -> ``Account Director``; an address is not a role."""
    if "@" in role:
        return "your service team"
    return " ".join(word.capitalize() for word in role.replace("-", "_").split("_") if word)


def step_roles(policy: Policy) -> dict[str, str]:
    """Escalation step name -> the role it goes to, as people read it."""
    return {
        step.name: role_label(step.to) for steps in policy.escalations.values() for step in steps
    }


def worst_first(policy: Policy, breaches: Iterable[BreachLine]) -> tuple[BreachLine, ...]:
    """Breaches as a person wants them: the most severe tier first (P1, ``tier_rank``),
    then the latest past target, then the earliest."""
    return tuple(
        sorted(
            breaches,
            key=lambda b: (
                tier_rank(policy, b.tier)[0],
                -b.over_seconds,
                b.breached_at,
                b.ticket_id,
            ),
        )
    )


@dataclass(slots=True)
class _Tally:
    """Volumes and business-time sums of one (client, tier)."""

    created: int = 0
    previous_created: int = 0
    responded: int = 0
    respond_us: int = 0
    resolved: int = 0
    resolve_us: int = 0


@dataclass(slots=True)
class _Accumulator:
    period: Period
    previous: Period
    now_us: int
    vocabulary: Vocabulary
    policy: Policy
    observers: Sequence[Observer] = ()
    objectives: ObjectiveCounter = field(init=False)
    counter: TierCounter = field(init=False)
    tallies: dict[_Key, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    breaches: list[Breach] = field(default_factory=list)
    at_risk: list[AtRiskLine] = field(default_factory=list)
    clients: set[str] = field(default_factory=set)
    read: set[tuple[str, str]] = field(default_factory=set)  # (source, id) of every ticket

    def finish(self) -> TierFigures:
        """The read model's tier lines, once every ticket is in."""
        return self.counter.figures(self.policy)

    def __post_init__(self) -> None:
        # The core counts [start, end]; a report period is half-open.
        self.counter = TierCounter(
            {
                PERIOD: (self.period.start_us, self.period.end_us - 1),
                PREVIOUS: (self.previous.start_us, self.previous.end_us - 1),
            }
        )
        self.objectives = ObjectiveCounter(end=self.now_us)

    def add(self, ev: TicketEvaluation) -> None:
        ticket, key = ev.ticket, (ev.ticket.client, ev.tier)
        self.clients.add(ticket.client)
        self.read.add((ticket.source, ticket.id))
        self.counter.add(ev)
        self.objectives.add(ev, self.policy)
        for observer in self.observers:
            observer(ev)
        tally = self.tallies[key]
        created = to_us(ticket.created_at)
        if self._inside(self.period, created):
            tally.created += 1
        elif self._inside(self.previous, created):
            tally.previous_created += 1
        still_open = ev.resolution.stopped_at is None
        for clock in (ev.response, *ev.resolutions):
            self._clock(ev, clock, tally, still_open)
        for clock in self.vocabulary.at_risk_clocks(ev):
            self._at_risk(ev, clock)

    def _clock(
        self, ev: TicketEvaluation, clock: ClockResult, tally: _Tally, still_open: bool
    ) -> None:
        stopped = clock.stopped_at
        if stopped is not None and self._inside(self.period, stopped):
            if clock.kind == "response":
                tally.responded += 1
                tally.respond_us += clock.elapsed_us
            else:
                tally.resolved += 1
                tally.resolve_us += clock.elapsed_us
        breached = clock.breached_at
        if breached is not None and self._inside(self.period, breached):
            self.breaches.append(Breach(ev.ticket, clock, still_open))

    def _at_risk(self, ev: TicketEvaluation, clock: ClockResult) -> None:
        due_at = clock.due_at or 0  # an at-risk clock runs, so it has a due instant
        self.at_risk.append(
            AtRiskLine(
                source=ev.ticket.source,
                ticket_id=ev.ticket.id,
                client=ev.ticket.client,
                subject=ev.ticket.subject,
                tier=clock.tier,
                clock=clock.kind,
                used=clock.elapsed_us / clock.target_us,
                due_at=from_us(due_at),
                seconds_to_breach=(due_at - self.now_us) / 1e6,
            )
        )

    @staticmethod
    def _inside(period: Period, instant: int) -> bool:
        return period.start_us <= instant < period.end_us


def _cells(line: TierLine, target: float | None) -> dict[str, Adherence]:
    """Adherence per kind of a read-model line, the period against the one before."""
    found = {}
    for kind in KINDS:
        now, before = line.count(kind, PERIOD), line.count(kind, PREVIOUS)
        found[kind] = adherence(now.met, now.breached, before.met, before.breached, target)
    return found


def _mean(total_us: int, count: int) -> float | None:
    return total_us / count / 1e6 if count else None


def _scope_clients(policy: Policy, client: str | None, seen: set[str]) -> list[str]:
    if client is not None:
        return [client]
    return sorted(set(policy.clients) | seen)


def compute_report(
    policy: Policy,
    tickets: Iterable[Ticket],
    ledger: Iterable[LedgerRow],
    evidence: EvidenceVerdict | None,
    period: Period,
    *,
    now: datetime,
    client: str | None = None,
    timezone: str = "UTC",
    vocabulary: Vocabulary | None = None,
    chain: Iterable[EvidenceRecord] = (),
    withdrawn: Iterable[WithdrawnTicket] = (),
    exclusions: RecordedExclusions | None = None,
    observers: Sequence[Observer] = (),
) -> Report:
    """The report of ``client`` (None: every client, the MSP's report) for ``period``.

    Tickets of other clients are ignored; ``now`` is the evaluation instant (clocks are
    evaluated as of ``now``, so at-risk lines are live and breaches after the period's end
    do not count in it). ``chain`` holds the evidence log's entries from the period's
    start on: the figures are cross-checked against the outcomes they record
    (``reporting.attestation``). Breaches are listed worst first (``worst_first``).
    ``exclusions`` (recorded in the store) count in the contracted clients' credit
    statements only. A ticket in ``withdrawn`` is left out of every figure (S39) and listed
    as withdrawn when its withdrawal falls in the period.
    """
    terms = vocabulary or Vocabulary()
    acc = _Accumulator(period, period.previous(), to_us(now), terms, policy, observers)
    gone = [w for w in withdrawn if client is None or w.client == client]
    skip = {(w.source, w.ticket_id) for w in gone}
    for ticket in tickets:
        if (client is None or ticket.client == client) and (ticket.source, ticket.id) not in skip:
            acc.add(evaluate(ticket, policy, now, exclusions=exclusions))
    figures = acc.finish()
    ledger_rows = [r for r in ledger if client is None or r.client == client]
    clients = _scope_clients(policy, client, acc.clients)
    breaches = worst_first(policy, breach_lines(policy, acc.breaches, ledger_rows, terms))
    at_risk = tuple(sorted(acc.at_risk, key=lambda line: (line.seconds_to_breach, line.ticket_id)))
    scope = client if client is not None else INTERNAL
    scope_target = policy.client(client).target_adherence if client is not None else None
    scope_name = client_name(policy, client) if client is not None else "All clients"

    found = _Found(acc, figures, breaches, at_risk)
    escalations = _fired_in(period, ledger_rows, terms)
    attestation = None
    if evidence is not None:
        attestation = attest(
            evidence,
            ChainFacts.read(chain),
            period=period,
            client=client,
            breached={(b.ticket.source, b.ticket.id, b.clock.kind) for b in acc.breaches},
            read=acc.read,
            fired={line.key for line in escalations},
        )
    tiers = tier_order(policy, policy.tiers)
    return Report(
        scope=scope,
        scope_name=scope_name,
        client=client,
        period=period,
        previous_period=acc.previous,
        generated_at=from_us(acc.now_us),
        timezone=timezone,
        total=found.summary(scope, scope_name, scope_target, None),
        clients=tuple(
            found.summary(
                key,
                client_name(policy, key),
                policy.client(key).target_adherence,
                {(key, tier) for tier in tiers},
            )
            for key in clients
        ),
        tiers=tuple(
            found.tier(
                policy,
                scope=scope,
                tier=tier,
                target=scope_target,
                wanted={(c, tier) for c in clients},
            )
            for tier in tiers
        ),
        breaches=breaches,
        escalations=escalations,
        at_risk=at_risk,
        evidence=attestation,
        withdrawn=withdrawn_lines(
            (w for w in gone if period.start_us <= w.withdrawn_at < period.end_us), ledger_rows
        ),
        credits=_credits(policy, acc, clients),
        roles=step_roles(policy),
    )


def _credits(policy: Policy, acc: _Accumulator, clients: list[str]) -> tuple[CreditStatement, ...]:
    """The credit statements a report carries (``Report.credits``).

    A weekly report shows the month to date at ``now``; a monthly or quarterly one the
    months of its period, each in the contract's own months.
    """
    wanted = [c for c in clients if c in policy.clients and policy.client(c).contract]
    if not wanted:
        return ()
    if acc.period.kind == "weekly":
        current = month_to_date(policy, acc.objectives, acc.now_us)
        return tuple(credit_statement(current[c]) for c in wanted if c in current)
    found: list[CreditStatement] = []
    for assessment in assess(policy, acc.objectives, acc.now_us):
        if assessment.client not in wanted:
            continue
        contract = policy.client(assessment.client).contract
        assert contract is not None
        start = contract.months.start_us(assessment.month)
        if acc.period.start_us <= start < acc.period.end_us:
            found.append(credit_statement(assessment))
    return tuple(found)


def _fired_in(
    period: Period, ledger: Iterable[LedgerRow], vocabulary: Vocabulary
) -> tuple[EscalationLine, ...]:
    """The steps fired in the period, in the order they fired."""
    return tuple(
        escalation_line(row, vocabulary)
        for row in sorted(ledger, key=lambda r: (r.fired_at or 0, r.key))
        if row.state in FIRED_STATES
        and row.fired_at is not None
        and period.start_us <= row.fired_at < period.end_us
    )


class _Common(TypedDict):
    """The figures a tier line and a client summary both carry."""

    response: Adherence
    resolution: Adherence
    ticket: Adherence
    created: int
    previous_created: int


def _common(
    acc: _Accumulator, line: TierLine, target: float | None, wanted: set[_Key] | None
) -> _Common:
    """Adherence per kind of ``line`` (the read model's sum over the (client, tier) keys in
    ``wanted``, None: all) and ticket volumes over the same keys."""
    cells = _cells(line, target)
    tallies = [t for k, t in acc.tallies.items() if wanted is None or k in wanted]
    return _Common(
        response=cells["response"],
        resolution=cells["resolution"],
        ticket=cells["ticket"],
        created=sum(t.created for t in tallies),
        previous_created=sum(t.previous_created for t in tallies),
    )


@dataclass(frozen=True, slots=True)
class _Found:
    """What the tickets of a report gave: the tier lines, the breaches, the at-risk clocks."""

    acc: _Accumulator
    figures: TierFigures
    breaches: tuple[BreachLine, ...]
    at_risk: tuple[AtRiskLine, ...]

    def _line(self, wanted: set[_Key] | None, *, client: str, tier: str, name: str) -> TierLine:
        """The read model's lines of ``wanted`` (None: every line) summed."""
        pairs = self.figures.lines if wanted is None else wanted
        return self.figures.total(pairs, client=client, tier=tier, name=name)

    def tier(
        self,
        policy: Policy,
        *,
        scope: str,
        tier: str,
        target: float | None,
        wanted: set[_Key],
    ) -> TierSummary:
        """One tier's figures over the (client, tier) keys in ``wanted``."""
        tallies = [self.acc.tallies[k] for k in wanted if k in self.acc.tallies]
        responded = sum(t.responded for t in tallies)
        resolved = sum(t.resolved for t in tallies)
        name = tier_name(policy, tier, None if scope == INTERNAL else scope)
        line = self._line(wanted, client=scope, tier=tier, name=name)
        return TierSummary(
            client=scope,
            tier=tier,
            tier_name=line.tier_name,
            **_common(self.acc, line, target, wanted),
            responded=responded,
            mean_respond_s=_mean(sum(t.respond_us for t in tallies), responded),
            resolved=resolved,
            mean_resolve_s=_mean(sum(t.resolve_us for t in tallies), resolved),
        )

    def summary(
        self, key: str, name: str, target: float | None, wanted: set[_Key] | None
    ) -> ClientSummary:
        """A client's figures over ``wanted`` (None: the whole scope, the report's total)."""

        def mine(client: str) -> bool:
            return wanted is None or client == key

        line = self._line(wanted, client=key, tier=ALL_TIERS, name=name)
        return ClientSummary(
            client=key,
            name=name,
            target=target,
            **_common(self.acc, line, target, wanted),
            breaches=sum(1 for b in self.breaches if mine(b.client)),
            at_risk=sum(1 for a in self.at_risk if mine(a.client)),
        )


def relevant_tickets(store: ReportStore, client: str | None, since: int) -> Iterator[Ticket]:
    """Open tickets, and closed ones whose snapshot is recent enough to matter.

    A closed ticket decided every clock by its last stop, which is no later than the
    snapshot's ``updated_at``; one last written before ``since`` cannot count in the report.
    """
    for row in store.iter_tickets(client=client):
        if row.is_open or row.updated_at >= since:
            yield row.ticket()


def build_report(
    store: ReportStore,
    policy: Policy,
    period: Period,
    now: datetime,
    *,
    client: str | None = None,
    timezone: str = "UTC",
    evidence: EvidenceVerdict | None = None,
    vocabulary: Vocabulary | None = None,
    observers: Sequence[Observer] = (),
    since_us: int | None = None,
) -> Report:
    """Read tickets, ledger and the evidence verdict from ``store`` and compute the report.

    ``evidence`` skips verifying the log again when the caller has just done it (a run of
    several reports verifies once). ``observers`` see every ticket evaluated, from those
    touched since ``since_us`` on (default: what the report itself needs).
    """
    previous = period.previous()
    verdict = evidence if evidence is not None else store.verify_evidence()
    ledger = store.ledger(since=previous.start_us, client=client)
    withdrawn = store.withdrawals(client=client)
    since = _credit_history_start(period, previous)
    return compute_report(
        policy,
        relevant_tickets(store, client, since if since_us is None else min(since, since_us)),
        ledger,
        verdict,
        period,
        now=now,
        client=client,
        timezone=timezone,
        vocabulary=vocabulary,
        # A clock decided in the period is logged when polled, so no earlier than its
        # decision: the entries from the period's start on hold every outcome to check.
        chain=store.evidence(since_at=period.start_us),
        withdrawn=withdrawn,
        exclusions=recorded_from(store.exclusions()),
        observers=observers,
    )


def _credit_history_start(period: Period, previous: Period) -> int:
    """Where the tickets a report reads begin: the period before, and for a weekly report
    also the start of the month it is in (its month-to-date credit exposure)."""
    if period.kind != "weekly":
        return previous.start_us
    month = period_containing("monthly", period.end)
    return min(previous.start_us, month.start_us)
