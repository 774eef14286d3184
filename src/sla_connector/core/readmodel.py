"""The read model the dashboard and the reports share: escalations and breaches as lines.

A ledger row becomes an ``EscalationLine`` and a breached clock a ``BreachLine`` here and
nowhere else, with "late" and "fired" taken from ``core.vocabulary``, so the dashboard,
its JSON API and every rendering of a report describe the same row the same way.

A ticket that went away (``core.vocabulary``: withdrawn) becomes a ``WithdrawnLine``, with
the steps its withdrawal cancelled and those that had already fired; it is never a breach.

A breach carries the escalation steps its breach set off: a step on one clock
(``response_breach``, ``resolution_at_risk``, ...) goes with that clock's breach in the same
resolution cycle; a step ``on: breach`` (either clock) goes with the first breach of its
cycle, so it is listed once.

Adherence per (client, tier) is a ``TierLine``: met and breached clocks per kind in each
named window (the dashboard's ``7d`` and ``30d``, a report's ``period`` and ``previous``),
counted by ``core.adherence.AdherenceCounter`` through one ``TierCounter``. The order of
tiers (``tier_order``: most severe first) and the names a person reads (``tier_name``,
``client_name``) are defined here too, so the dashboard row and the report line of the
same tier and window are the same numbers under the same name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sla_connector.core.adherence import KINDS, AdherenceCounter
from sla_connector.core.calendars import from_us
from sla_connector.core.evaluate import ClockResult, TicketEvaluation
from sla_connector.core.ledger import LedgerRow, WithdrawnTicket
from sla_connector.core.policy import Policy
from sla_connector.core.ticket import Ticket
from sla_connector.core.vocabulary import (
    CANCELLED,
    FIRED_STATES,
    NOT_FIRING_STATES,
    PLANNED,
    Vocabulary,
    is_withdrawn_detail,
)

__all__ = [
    "ALL_TIERS",
    "Breach",
    "BreachLine",
    "Counted",
    "EscalationLine",
    "TierCounter",
    "TierFigures",
    "TierLine",
    "Window",
    "WithdrawnLine",
    "breach_lines",
    "client_name",
    "combined",
    "escalation_line",
    "escalation_lines",
    "tier_figures",
    "tier_name",
    "tier_order",
    "tier_rank",
    "withdrawn_lines",
]


@dataclass(frozen=True, slots=True)
class EscalationLine:
    """One escalation step from the ledger: when it was due, when (and if) it was written,
    and whether that was late."""

    key: str
    source: str
    ticket_id: str
    client: str
    tier: str
    step: str
    cycle: int
    recipient: str
    state: str
    due_at: datetime
    fired_at: datetime | None
    late: bool
    lateness_seconds: float | None
    detail: str


def escalation_line(row: LedgerRow, vocabulary: Vocabulary) -> EscalationLine:
    """A ledger row as every view shows it."""
    lateness = row.lateness_us
    return EscalationLine(
        key=row.key,
        source=row.source,
        ticket_id=row.ticket_id,
        client=row.client,
        tier=row.tier,
        step=row.step,
        cycle=row.cycle,
        recipient=row.recipient,
        state=row.state,
        due_at=from_us(row.due_at),
        fired_at=None if row.fired_at is None else from_us(row.fired_at),
        late=vocabulary.is_late(lateness),
        lateness_seconds=None if lateness is None else lateness / 1e6,
        detail=row.detail,
    )


def escalation_lines(
    rows: Iterable[LedgerRow],
    vocabulary: Vocabulary,
    *,
    states: frozenset[str] | None = None,
    limit: int | None = None,
) -> list[EscalationLine]:
    """The rows in ``states`` (None: all), the most recently fired (else due) first."""
    lines = [
        escalation_line(row, vocabulary) for row in rows if states is None or row.state in states
    ]
    lines.sort(key=lambda line: (line.fired_at or line.due_at, line.key), reverse=True)
    return lines if limit is None else lines[:limit]


@dataclass(frozen=True, slots=True)
class BreachLine:
    """A breached clock of a ticket and the escalations its breach set off.

    ``tier`` is the tier the breach counts under (the one in force at the breach);
    ``over_seconds`` is how far past its target the clock has run (business time).
    """

    source: str
    ticket_id: str
    client: str
    subject: str
    tier: str
    clock: str
    cycle: int
    breached_at: datetime
    due_at: datetime | None
    over_seconds: float
    still_open: bool
    escalations: tuple[EscalationLine, ...]


@dataclass(frozen=True, slots=True)
class Breach:
    """A breached clock found while evaluating tickets, before its escalations are attached."""

    ticket: Ticket
    clock: ClockResult
    still_open: bool


def breach_lines(
    policy: Policy,
    breaches: Sequence[Breach],
    ledger: Iterable[LedgerRow],
    vocabulary: Vocabulary,
) -> tuple[BreachLine, ...]:
    """Each breach, oldest first, with the ledger steps of its ticket, cycle and clock.

    Steps settled without firing (cancelled, dormant) are left out; planned and firing
    ones are listed with their state, except that a closed ticket never shows a step as
    planned (it will not fire: the daemon cancels it at its next look).
    """
    step_clock = {s.name: s.clock for steps in policy.escalations.values() for s in steps}
    by_ticket: dict[tuple[str, str], list[LedgerRow]] = defaultdict(list)
    for row in ledger:
        if row.state not in NOT_FIRING_STATES:
            by_ticket[(row.source, row.ticket_id)].append(row)
    first: dict[tuple[str, str, int], int] = {}
    for item in breaches:
        key = (item.ticket.source, item.ticket.id, item.clock.cycle)
        instant = item.clock.breached_at or 0
        first[key] = min(first.get(key, instant), instant)
    lines: list[BreachLine] = []
    for item in sorted(
        breaches, key=lambda b: (b.clock.breached_at or 0, b.ticket.id, b.clock.kind)
    ):
        ticket, clock = item.ticket, item.clock
        is_first = first[(ticket.source, ticket.id, clock.cycle)] == clock.breached_at
        steps = tuple(
            escalation_line(row, vocabulary)
            for row in by_ticket.get((ticket.source, ticket.id), ())
            if row.cycle == clock.cycle
            and (item.still_open or row.state != PLANNED)
            and (
                step_clock.get(row.step) == clock.kind
                or (step_clock.get(row.step, "any") == "any" and is_first)
            )
        )
        lines.append(
            BreachLine(
                source=ticket.source,
                ticket_id=ticket.id,
                client=ticket.client,
                subject=ticket.subject,
                tier=clock.breach_tier or clock.tier,
                clock=clock.kind,
                cycle=clock.cycle,
                breached_at=from_us(clock.breached_at or 0),
                due_at=None if clock.due_at is None else from_us(clock.due_at),
                over_seconds=max(0, -clock.remaining_us) / 1e6,
                still_open=item.still_open,
                escalations=steps,
            )
        )
    return tuple(lines)


@dataclass(frozen=True, slots=True)
class WithdrawnLine:
    """A withdrawn ticket as every view lists it (S39): why, when, and its steps.

    ``cancelled`` are the steps its withdrawal cancelled; ``fired`` those that had fired
    before it went away (they stay in the escalation lists).
    """

    source: str
    ticket_id: str
    client: str
    tier: str
    subject: str
    reason: str
    detail: str
    withdrawn_at: datetime
    cancelled: tuple[str, ...]
    fired: tuple[str, ...]


def withdrawn_lines(
    withdrawn: Iterable[WithdrawnTicket], ledger: Iterable[LedgerRow]
) -> tuple[WithdrawnLine, ...]:
    """Each withdrawn ticket, latest first, with the ledger steps of its ticket."""
    steps: dict[tuple[str, str], list[LedgerRow]] = defaultdict(list)
    for row in ledger:
        steps[(row.source, row.ticket_id)].append(row)
    lines = []
    for item in sorted(withdrawn, key=lambda w: (w.withdrawn_at, w.ticket_id), reverse=True):
        mine = steps.get((item.source, item.ticket_id), [])
        lines.append(
            WithdrawnLine(
                source=item.source,
                ticket_id=item.ticket_id,
                client=item.client,
                tier=item.tier,
                subject=item.subject,
                reason=item.reason,
                detail=item.detail,
                withdrawn_at=from_us(item.withdrawn_at),
                cancelled=tuple(
                    r.step for r in mine if r.state == CANCELLED and is_withdrawn_detail(r.detail)
                ),
                fired=tuple(r.step for r in mine if r.state in FIRED_STATES),
            )
        )
    return tuple(lines)


Window = tuple[int | None, int | None]
"""[start, end] in µs, both bounds inclusive as ``AdherenceCounter`` counts (None: open).

A report period [start, end) is the window (start, end - 1)."""

ALL_TIERS = "all"
"""The tier key of a line summed over a client's tiers (the dashboard's "All tiers" row)."""
_UNKNOWN_SEVERITY = 1 << 30  # a tier the policy does not define sorts after every known one


def tier_rank(policy: Policy, tier: str) -> tuple[int, str]:
    """Sort key of a tier: most severe first (P1 before P4), unknown tiers last, then key."""
    known = policy.tiers.get(tier)
    return (known.severity if known is not None else _UNKNOWN_SEVERITY, tier)


def tier_order(policy: Policy, tiers: Iterable[str]) -> list[str]:
    """The distinct ``tiers`` in the order every view lists them (``tier_rank``)."""
    return sorted(set(tiers), key=lambda tier: tier_rank(policy, tier))


def tier_name(policy: Policy, tier: str, client: str | None = None) -> str:
    """A tier's name as people read it: the client's own name for it when ``client`` has one
    (``clients.<client>.tiers``), else the policy's; the key for a tier the policy lacks."""
    if tier not in policy.tiers:
        return tier
    if client is None:
        return policy.tiers[tier].name
    return policy.terms(client, tier).tier.name


def client_name(policy: Policy, client: str) -> str:
    """A client's name as people read it: its configured name, else its key."""
    known = policy.clients.get(client)
    return (known.name if known and known.name else client) or "(no client)"


@dataclass(frozen=True, slots=True)
class Counted:
    """Clocks met and breached (decided) in one window."""

    met: int = 0
    breached: int = 0

    @property
    def decided(self) -> int:
        return self.met + self.breached

    @property
    def adherence(self) -> float | None:
        """met / (met + breached), None when nothing was decided."""
        return None if self.decided == 0 else self.met / self.decided

    def __add__(self, other: Counted) -> Counted:
        return Counted(self.met + other.met, self.breached + other.breached)


NOTHING = Counted()


@dataclass(frozen=True, slots=True)
class TierLine:
    """Adherence of one client's tier (or a sum of such lines): ``counts[kind][window]``.

    Kinds are ``core.adherence.KINDS``; windows the names given to ``TierCounter``. The
    dashboard's rows and a report's tier lines and summaries are built from these and
    never count clocks themselves.
    """

    client: str
    tier: str
    tier_name: str
    counts: Mapping[str, Mapping[str, Counted]]

    def count(self, kind: str, window: str) -> Counted:
        """Met and breached of ``kind`` in ``window`` (nothing when not counted)."""
        return self.counts.get(kind, {}).get(window, NOTHING)


def combined(
    lines: Iterable[TierLine], windows: Sequence[str], *, client: str, tier: str, name: str
) -> TierLine:
    """The sum of ``lines`` (a client's tiers, a tier over clients), under a new label."""
    sums = {kind: dict.fromkeys(windows, NOTHING) for kind in KINDS}
    for line in lines:
        for kind in KINDS:
            for window in windows:
                sums[kind][window] += line.count(kind, window)
    return TierLine(client, tier, name, sums)


@dataclass(frozen=True, slots=True)
class TierFigures:
    """Every (client, tier) line counted, with the window names they were counted in."""

    policy: Policy
    windows: tuple[str, ...]
    lines: Mapping[tuple[str, str], TierLine]

    def line(self, client: str, tier: str) -> TierLine:
        """The line of ``(client, tier)``; one of zeros when no ticket of it was seen."""
        found = self.lines.get((client, tier))
        if found is not None:
            return found
        return combined((), self.windows, client=client, tier=tier, name=self.name(client, tier))

    def name(self, client: str, tier: str) -> str:
        """What a (client, tier) line is called: the client's name for the tier."""
        return tier_name(self.policy, tier, client)

    def total(
        self, pairs: Iterable[tuple[str, str]], *, client: str, tier: str, name: str
    ) -> TierLine:
        """The sum of the lines of ``pairs`` ((client, tier) keys), labelled as given."""
        chosen = [self.line(c, t) for c, t in pairs]
        return combined(chosen, self.windows, client=client, tier=tier, name=name)


class TierCounter:
    """Streams evaluations into per-(client, tier) counts, one ``AdherenceCounter`` per window.

    Rows are per client and the ticket's tier at ``now`` (S21); a clock counts in a window
    when its outcome was decided in it (DESIGN section 7).
    """

    def __init__(self, windows: Mapping[str, Window]) -> None:
        self.windows = tuple(windows)
        self._counters = {
            name: AdherenceCounter(start, end) for name, (start, end) in windows.items()
        }

    def add(self, evaluation: TicketEvaluation) -> None:
        for counter in self._counters.values():
            counter.add(evaluation)

    def figures(self, policy: Policy) -> TierFigures:
        """The lines counted so far, named from ``policy``."""
        counts: dict[tuple[str, str], dict[str, dict[str, Counted]]] = {}
        for window, counter in self._counters.items():
            for row in counter.rows():
                kinds = counts.setdefault((row.client, row.tier), {kind: {} for kind in KINDS})
                kinds[row.kind][window] = Counted(row.met, row.breached)
        return TierFigures(
            policy,
            self.windows,
            {
                (client, tier): TierLine(client, tier, tier_name(policy, tier, client), kinds)
                for (client, tier), kinds in counts.items()
            },
        )


def tier_figures(
    policy: Policy, evaluations: Iterable[TicketEvaluation], windows: Mapping[str, Window]
) -> TierFigures:
    """Adherence per (client, tier) of ``evaluations`` in each named window."""
    counter = TierCounter(windows)
    for evaluation in evaluations:
        counter.add(evaluation)
    return counter.figures(policy)
