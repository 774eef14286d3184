"""From polled tickets to stored clocks and a planned escalation ledger.

Each changed ticket is evaluated twice with the core: at ``now`` for its clocks, and at a
far horizon for the steps that will fall due if nothing changes. Clocks are computed from
timestamps, not from polling, so a PSA outage does not stop them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import orjson

from sla_connector.core.calendars import to_us
from sla_connector.core.escalation import StepPlan
from sla_connector.core.evaluate import ClockResult, TicketEvaluation, evaluate
from sla_connector.core.policy import Policy
from sla_connector.core.ports import Clock
from sla_connector.core.ticket import Ticket
from sla_connector.store import PlannedStep, Store, TicketRow

__all__ = ["PlanOutcome", "Planner", "decided_outcome", "planned_step", "ticket_row"]

log = logging.getLogger("sla_connector.runtime")


def ticket_row(evaluation: TicketEvaluation, ticket_json: str) -> TicketRow:
    """The stored snapshot of a ticket and its clocks."""
    ticket = evaluation.ticket
    response, resolution = evaluation.response, evaluation.resolution
    return TicketRow(
        source=ticket.source,
        id=ticket.id,
        client=ticket.client,
        tier=evaluation.tier,
        rule=evaluation.rule,
        created_at=to_us(ticket.created_at),
        updated_at=evaluation.now,
        is_open=resolution.stopped_at is None,
        response_state=response.state,
        response_due_at=response.due_at,
        response_breached_at=response.breached_at,
        resolution_state=resolution.state,
        resolution_due_at=resolution.due_at,
        resolution_breached_at=resolution.breached_at,
        ticket_json=ticket_json,
    )


@dataclass(slots=True)
class PlanOutcome:
    """What one ingest changed."""

    tickets: int = 0
    planned: int = 0
    parked: int = 0
    outcomes: list[dict[str, str | int]] = field(default_factory=list)


class Planner:
    """Evaluates changed tickets and merges their plans into the store."""

    def __init__(
        self, policy: Policy, store: Store, clock: Clock, *, horizon: timedelta, not_before: int
    ) -> None:
        self.policy = policy
        self.store = store
        self.clock = clock
        self.horizon = horizon
        self.not_before = not_before  # steps due before the product was switched on are history

    def evaluate_now(self, ticket: Ticket) -> TicketEvaluation:
        return evaluate(ticket, self.policy, self.clock.now())

    def ingest(self, tickets: Sequence[Ticket]) -> PlanOutcome:
        """Store the tickets' clocks, merge their plans, and return what changed."""
        now = self.clock.now()
        now_us = to_us(now)
        horizon = now + self.horizon
        outcome = PlanOutcome()
        rows: list[TicketRow] = []
        steps: list[PlannedStep] = []
        cancelled: list[str] = []
        previous: dict[tuple[str, str], TicketRow] = {}
        for source in {ticket.source for ticket in tickets}:
            ids = [ticket.id for ticket in tickets if ticket.source == source]
            for ticket_id, row in self.store.get_tickets(source, ids).items():
                previous[(source, ticket_id)] = row
        for ticket in tickets:
            current = evaluate(ticket, self.policy, now)
            rows.append(ticket_row(current, orjson.dumps(ticket.to_json()).decode()))
            before = previous.get((ticket.source, ticket.id))
            for kind, clock in (("response", current.response), ("resolution", current.resolution)):
                old = None
                if before is not None:
                    old = before.response_state if kind == "response" else before.resolution_state
                if clock.state in ("met", "breached") and clock.state != old:
                    outcome.outcomes.append(decided_outcome(ticket, kind, clock))
            future = evaluate(ticket, self.policy, horizon, classification=current.classification)
            for plan in future.steps:
                if plan.state == "cancelled":
                    cancelled.append(plan.key)
                elif plan.due_at >= self.not_before:
                    steps.append(planned_step(plan, ticket))
        self.store.upsert_tickets(rows)
        self.store.plan(steps)
        # Only a prediction: a reopen before the due instant would bring the step back (S18).
        outcome.parked = self.store.park_planned(
            cancelled, "expected to fall due while the ticket is resolved", now_us
        )
        outcome.tickets = len(rows)
        outcome.planned = len(steps)
        return outcome


def decided_outcome(ticket: Ticket, kind: str, clock: ClockResult) -> dict[str, str | int]:
    """A decided clock as the evidence log records it (``clock_outcomes``): with its client
    and the instant it was decided, so that a report can cross-check its figures."""
    decided = clock.breached_at if clock.state == "breached" else clock.stopped_at
    return {
        "source": ticket.source,
        "ticket": ticket.id,
        "client": ticket.client,
        "clock": kind,
        "outcome": clock.state,
        "decided_at": decided if decided is not None else 0,
    }


def planned_step(plan: StepPlan, ticket: Ticket) -> PlannedStep:
    return PlannedStep(
        key=plan.key,
        source=ticket.source,
        ticket_id=ticket.id,
        client=ticket.client,
        tier=plan.tier,
        step=plan.step.name,
        cycle=plan.cycle,
        due_at=plan.due_at,
        recipient=plan.to,
        actions=plan.step.actions,
    )
