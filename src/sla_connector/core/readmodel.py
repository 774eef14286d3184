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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sla_connector.core.calendars import from_us
from sla_connector.core.evaluate import ClockResult
from sla_connector.core.ledger import LedgerRow, WithdrawnTicket
from sla_connector.core.policy import Policy
from sla_connector.core.ticket import Ticket
from sla_connector.core.vocabulary import (
    CANCELLED,
    FIRED_STATES,
    NOT_FIRING_STATES,
    Vocabulary,
    is_withdrawn_detail,
)

__all__ = [
    "Breach",
    "BreachLine",
    "EscalationLine",
    "WithdrawnLine",
    "breach_lines",
    "escalation_line",
    "escalation_lines",
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
    ones are listed with their state.
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
