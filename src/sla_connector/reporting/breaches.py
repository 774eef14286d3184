"""Breaches and the escalation ledger: which fired steps belong to which breach.

A ledger row is an escalation step of one ticket and resolution cycle. A step on one clock
(``response_breach``, ``resolution_at_risk``...) goes with that clock's breach; a step
``on: breach`` (either clock) goes with the first breach of its cycle, so it is listed once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sla_connector.core.calendars import from_us
from sla_connector.core.evaluate import ClockResult
from sla_connector.core.policy import Policy
from sla_connector.core.ticket import Ticket
from sla_connector.reporting.model import LATE_AFTER_US, BreachLine, EscalationLine
from sla_connector.reporting.ports import LedgerRecord

__all__ = ["PendingBreach", "attach_escalations", "escalation_line"]

_SHOWN = frozenset({"done", "would_fire", "failed", "firing", "planned"})


@dataclass(slots=True)
class PendingBreach:
    """A breach found while streaming, before its escalations are attached."""

    ticket: Ticket
    tier: str
    clock: ClockResult
    still_open: bool


def escalation_line(row: LedgerRecord) -> EscalationLine:
    """A ledger row as the report shows it; late when written a minute or more after due."""
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
        due_at=from_us(row.due_at),
        state=row.state,
        fired_at=None if row.fired_at is None else from_us(row.fired_at),
        lateness_s=None if lateness is None else lateness / 1e6,
        late=lateness is not None and lateness >= LATE_AFTER_US,
    )


def attach_escalations(
    policy: Policy, pending: list[PendingBreach], ledger: list[LedgerRecord]
) -> tuple[BreachLine, ...]:
    """Each breach with the ledger steps of its ticket, cycle and clock.

    A step ``on: breach`` (either clock) goes with the first breach of its cycle.
    """
    step_clock = {s.name: s.clock for steps in policy.escalations.values() for s in steps}
    by_ticket: dict[tuple[str, str], list[LedgerRecord]] = defaultdict(list)
    for row in ledger:
        if row.state in _SHOWN:
            by_ticket[(row.source, row.ticket_id)].append(row)
    first: dict[tuple[str, str, int], int] = {}
    for item in pending:
        key = (item.ticket.source, item.ticket.id, item.clock.cycle)
        instant = item.clock.breached_at or 0
        first[key] = min(first.get(key, instant), instant)
    lines: list[BreachLine] = []
    for item in sorted(
        pending, key=lambda p: (p.clock.breached_at or 0, p.ticket.id, p.clock.kind)
    ):
        ticket, clock = item.ticket, item.clock
        is_first = first[(ticket.source, ticket.id, clock.cycle)] == clock.breached_at
        steps = tuple(
            escalation_line(row)
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
                tier=item.tier,
                clock=clock.kind,
                cycle=clock.cycle,
                breached_at=from_us(clock.breached_at or 0),
                due_at=None if clock.due_at is None else from_us(clock.due_at),
                still_open=item.still_open,
                escalations=steps,
            )
        )
    return tuple(lines)
