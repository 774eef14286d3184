"""Compute a ``Report`` by re-evaluating stored tickets with the core.

``compute_report`` is a pure function of (policy, tickets, ledger rows, evidence verdict
and entries, period, now); ``build_report`` reads those from a store. Tickets are streamed: only the
counters, the period's breaches and the at-risk list are kept in memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

from sla_connector.core.adherence import AdherenceCounter
from sla_connector.core.calendars import from_us, to_us
from sla_connector.core.evaluate import ClockResult, TicketEvaluation, evaluate
from sla_connector.core.ledger import LedgerRow, WithdrawnTicket
from sla_connector.core.policy import Policy
from sla_connector.core.readmodel import (
    Breach,
    BreachLine,
    EscalationLine,
    breach_lines,
    escalation_line,
    withdrawn_lines,
)
from sla_connector.core.ticket import Ticket
from sla_connector.core.vocabulary import FIRED_STATES, Vocabulary
from sla_connector.reporting.attestation import ChainFacts, attest
from sla_connector.reporting.model import (
    Adherence,
    AtRiskLine,
    ClientSummary,
    Report,
    TierLine,
    adherence,
)
from sla_connector.reporting.periods import Period
from sla_connector.reporting.ports import EvidenceRecord, EvidenceVerdict, ReportStore

__all__ = ["INTERNAL", "build_report", "compute_report"]

INTERNAL = "internal"
"""The scope (and recipient key) of the MSP-wide report over all clients."""

_Key = tuple[str, str]


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
    current: AdherenceCounter = field(init=False)
    before: AdherenceCounter = field(init=False)
    tallies: dict[_Key, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    breaches: list[Breach] = field(default_factory=list)
    at_risk: list[AtRiskLine] = field(default_factory=list)
    clients: set[str] = field(default_factory=set)
    read: set[tuple[str, str]] = field(default_factory=set)  # (source, id) of every ticket
    current_index: dict[tuple[str, str, str], tuple[int, int]] = field(default_factory=dict)
    before_index: dict[tuple[str, str, str], tuple[int, int]] = field(default_factory=dict)

    def finish(self) -> None:
        """Freeze the counters into lookup tables once every ticket is in."""
        self.current_index = _index(self.current)
        self.before_index = _index(self.before)

    def __post_init__(self) -> None:
        # The core counts [start, end]; a report period is half-open.
        self.current = AdherenceCounter(self.period.start_us, self.period.end_us - 1)
        self.before = AdherenceCounter(self.previous.start_us, self.previous.end_us - 1)

    def add(self, ev: TicketEvaluation) -> None:
        ticket, key = ev.ticket, (ev.ticket.client, ev.tier)
        self.clients.add(ticket.client)
        self.read.add((ticket.source, ticket.id))
        self.current.add(ev)
        self.before.add(ev)
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


def _index(counter: AdherenceCounter) -> dict[tuple[str, str, str], tuple[int, int]]:
    return {(r.client, r.tier, r.kind): (r.met, r.breached) for r in counter.rows()}


def _cells(
    acc: _Accumulator, target: float | None, wanted: set[_Key] | None
) -> dict[str, Adherence]:
    """Adherence per kind summed over the (client, tier) rows in ``wanted`` (None = all)."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for offset, index in ((0, acc.current_index), (2, acc.before_index)):
        for (client, tier, kind), (met, breached) in index.items():
            if wanted is None or (client, tier) in wanted:
                sums[kind][offset] += met
                sums[kind][offset + 1] += breached
    return {
        kind: adherence(sums[kind][0], sums[kind][1], sums[kind][2], sums[kind][3], target)
        for kind in ("response", "resolution", "ticket")
    }


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
) -> Report:
    """The report of ``client`` (None: every client, the MSP's report) for ``period``.

    Tickets of other clients are ignored; ``now`` is the evaluation instant (clocks are
    evaluated as of ``now``, so at-risk lines are live and breaches after the period's end
    do not count in it). ``chain`` holds the evidence log's entries from the period's
    start on: the figures are cross-checked against the outcomes they record
    (``reporting.attestation``). A ticket in ``withdrawn`` is left out of every figure
    (S39) and listed as withdrawn when its withdrawal falls in the period.
    """
    terms = vocabulary or Vocabulary()
    acc = _Accumulator(period, period.previous(), to_us(now), terms)
    gone = [w for w in withdrawn if client is None or w.client == client]
    skip = {(w.source, w.ticket_id) for w in gone}
    for ticket in tickets:
        if (client is None or ticket.client == client) and (ticket.source, ticket.id) not in skip:
            acc.add(evaluate(ticket, policy, now))
    acc.finish()
    ledger_rows = [r for r in ledger if client is None or r.client == client]
    clients = _scope_clients(policy, client, acc.clients)
    breaches = breach_lines(policy, acc.breaches, ledger_rows, terms)
    at_risk = tuple(sorted(acc.at_risk, key=lambda line: (line.seconds_to_breach, line.ticket_id)))
    scope = client if client is not None else INTERNAL
    scope_target = policy.client(client).target_adherence if client is not None else None
    scope_name = (policy.client(client).name or client) if client is not None else "All clients"

    found = _Found(acc, breaches, at_risk)
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
    tiers = sorted(policy.tiers, key=lambda key: (policy.severity(key), key))
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
                policy.client(key).name or key,
                policy.client(key).target_adherence,
                {(key, tier) for tier in tiers},
            )
            for key in clients
        ),
        tiers=tuple(
            _tier_line(
                acc,
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
    )


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


def _common(acc: _Accumulator, target: float | None, wanted: set[_Key] | None) -> _Common:
    """Adherence per kind and ticket volumes over the (client, tier) keys in ``wanted``."""
    cells = _cells(acc, target, wanted)
    tallies = [t for k, t in acc.tallies.items() if wanted is None or k in wanted]
    return _Common(
        response=cells["response"],
        resolution=cells["resolution"],
        ticket=cells["ticket"],
        created=sum(t.created for t in tallies),
        previous_created=sum(t.previous_created for t in tallies),
    )


def _tier_line(
    acc: _Accumulator,
    policy: Policy,
    *,
    scope: str,
    tier: str,
    target: float | None,
    wanted: set[_Key],
) -> TierLine:
    """One tier's figures over the (client, tier) keys in ``wanted``."""
    tallies = [acc.tallies[k] for k in wanted if k in acc.tallies]
    responded = sum(t.responded for t in tallies)
    resolved = sum(t.resolved for t in tallies)
    name = policy.terms(scope, tier).tier.name if scope != INTERNAL else policy.tiers[tier].name
    return TierLine(
        client=scope,
        tier=tier,
        tier_name=name,
        **_common(acc, target, wanted),
        responded=responded,
        mean_respond_s=_mean(sum(t.respond_us for t in tallies), responded),
        resolved=resolved,
        mean_resolve_s=_mean(sum(t.resolve_us for t in tallies), resolved),
    )


@dataclass(frozen=True, slots=True)
class _Found:
    """What the tickets of a report gave: the counters, the breaches, the at-risk clocks."""

    acc: _Accumulator
    breaches: tuple[BreachLine, ...]
    at_risk: tuple[AtRiskLine, ...]

    def summary(
        self, key: str, name: str, target: float | None, wanted: set[_Key] | None
    ) -> ClientSummary:
        """A client's figures over ``wanted`` (None: the whole scope, the report's total)."""

        def mine(client: str) -> bool:
            return wanted is None or client == key

        return ClientSummary(
            client=key,
            name=name,
            target=target,
            **_common(self.acc, target, wanted),
            breaches=sum(1 for b in self.breaches if mine(b.client)),
            at_risk=sum(1 for a in self.at_risk if mine(a.client)),
        )


def _relevant_tickets(store: ReportStore, client: str | None, since: int) -> Iterator[Ticket]:
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
) -> Report:
    """Read tickets, ledger and the evidence verdict from ``store`` and compute the report.

    ``evidence`` skips verifying the log again when the caller has just done it (a run of
    several reports verifies once).
    """
    previous = period.previous()
    verdict = evidence if evidence is not None else store.verify_evidence()
    ledger = store.ledger(since=previous.start_us, client=client)
    withdrawn = store.withdrawals(client=client)
    return compute_report(
        policy,
        _relevant_tickets(store, client, previous.start_us),
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
    )
