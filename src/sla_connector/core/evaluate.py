"""Evaluate one ticket under a policy at an instant: tier, clocks, escalation plan.

This is the single entry point the audit, ``explain``, the daemon and the reports share,
so they can never disagree about a ticket. Times inside are UTC microseconds; the
result converts them on demand. A ticket of a client with a contract is measured by the
contract version in force when it was created (S26); its excluded clocks (S32) are
carried along, their outcomes untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sla_connector.core.calendars import from_us, to_us
from sla_connector.core.classify import Classification, TierChange, classify, tier_timeline
from sla_connector.core.clocks import (
    ClockRun,
    ClockState,
    TierSpan,
    build_runs,
    govern_pauses,
    tier_spans,
)
from sla_connector.core.escalation import StepPlan, plan_steps
from sla_connector.core.exclusions import Exclusion, RecordedExclusions, ticket_exclusions
from sla_connector.core.policy import Policy, StatusSets, TermsOf
from sla_connector.core.ticket import Ticket

__all__ = ["ClockResult", "Pause", "TicketEvaluation", "evaluate", "tier_at"]


@dataclass(frozen=True, slots=True)
class Pause:
    """A pause that counted: [start, end) in µs, its reason (the waiting status) and its
    length in business time of the calendar of the tier at the clock's stop (or ``now``)."""

    start: int
    end: int
    reason: str
    business_us: int


@dataclass(frozen=True, slots=True)
class ClockResult:
    """A clock cycle's figures at its stop (frozen, S11) or at ``now``."""

    kind: str
    cycle: int
    tier: str
    started_at: int
    target_us: int
    elapsed_us: int
    remaining_us: int
    due_at: int | None
    stopped_at: int | None
    breached_at: int | None
    breach_tier: str | None
    state: ClockState
    timeline: tuple[tuple[int, str], ...]
    pauses: tuple[Pause, ...] = ()
    pause_limit_at: int | None = None

    @property
    def decided_at(self) -> int | None:
        """When the outcome was decided: the breach instant, or the stop of a met clock."""
        if self.state == "breached":
            return self.breached_at
        if self.state == "met":
            return self.stopped_at
        return None

    @property
    def due(self) -> datetime | None:
        return None if self.due_at is None else from_us(self.due_at)


@dataclass(frozen=True, slots=True)
class TicketEvaluation:
    """Everything the product knows about one ticket at ``now``."""

    ticket: Ticket
    now: int
    tier: str
    classification: Classification
    tier_changes: tuple[TierChange, ...]
    response: ClockResult
    resolutions: tuple[ClockResult, ...]
    steps: tuple[StepPlan, ...]
    unknown_priorities: tuple[str, ...]
    version: int | None = None
    exclusions: Mapping[str, Exclusion] = field(default_factory=dict)

    @property
    def rule(self) -> str | None:
        return self.classification.rule

    @property
    def resolution(self) -> ClockResult:
        """The latest resolution cycle (the one records show, S09)."""
        return self.resolutions[-1]


def tier_at(spans: list[TierSpan], instant: int) -> str:
    """The tier in force at ``instant`` (a change applies from its own instant on)."""
    tier = spans[0].tier
    for span in spans:
        if span.start > instant:
            break
        tier = span.tier
    return tier


def _result(run: ClockRun, terms_of: TermsOf, spans: list[TierSpan]) -> ClockResult:
    crossing = run.crossing(terms_of, spans)
    stopped = run.state_at_horizon == "stopped"
    at = run.stop if stopped and run.stop is not None else run.horizon
    tier = tier_at(spans, at)
    calendar = terms_of(tier).calendar
    target = run.target(terms_of, tier)
    elapsed = run.elapsed(calendar, at)
    remaining = target - elapsed
    due: int | None
    state: ClockState
    if crossing is not None:
        state, due = "breached", crossing.reached
    elif stopped:
        state = "met"
        due = (
            calendar.add_us(at, remaining)
            if remaining >= 0
            else run.reach(calendar, target, extend=False)
        )
    elif run.state_at_horizon == "paused":
        state, due = "paused", None
    else:
        state, due = "running", calendar.add_us(at, max(remaining, 0))
    timeline = list(run.timeline)
    if crossing is not None:
        timeline.append((crossing.at, f"breached under {crossing.tier}"))
    timeline.sort(key=lambda item: item[0])
    return ClockResult(
        kind=run.kind,
        cycle=run.cycle,
        tier=tier,
        started_at=run.start,
        target_us=target,
        elapsed_us=elapsed,
        remaining_us=remaining,
        due_at=due,
        stopped_at=run.stop if stopped else None,
        breached_at=crossing.at if crossing else None,
        breach_tier=crossing.tier if crossing else None,
        state=state,
        timeline=tuple(timeline),
        pauses=tuple(
            Pause(begin, end, reason, calendar.elapsed_us(begin, end))
            for begin, end, reason in run.pauses
        )
        if run.pauses
        else (),
        pause_limit_at=run.pause_limit_at,
    )


_NO_STATUSES = StatusSets()


def evaluate(
    ticket: Ticket,
    policy: Policy,
    now: datetime,
    *,
    classification: Classification | None = None,
    exclusions: RecordedExclusions | None = None,
) -> TicketEvaluation:
    """Classify the ticket and compute its clocks and escalation plan as of ``now``.

    ``classification`` reuses an earlier ``classify`` of the same ticket and policy (it does
    not depend on ``now``). ``exclusions`` are those recorded in the store; the ones the
    ticket's tags give (``policy.exclusion_tags``) are added.
    """
    now_us = max(to_us(now), to_us(ticket.created_at))
    if classification is None:
        classification = classify(ticket, policy)
    changes, unknown = tier_timeline(ticket, policy, classification, now)
    spans = tier_spans(changes)
    sets = policy.sources.get(ticket.source, _NO_STATUSES)
    response_run, cycle_runs = build_runs(ticket, sets, policy.reopen, now_us)
    client = ticket.client
    version = policy.contract_version(client, to_us(ticket.created_at))
    terms_of = policy.terms_of(client, version)
    govern_pauses(cycle_runs, spans, terms_of)
    response = _result(response_run, terms_of, spans)
    resolutions = tuple(_result(run, terms_of, spans) for run in cycle_runs)
    steps = plan_steps(
        policy=policy,
        terms_of=terms_of,
        ticket=ticket,
        spans=spans,
        response_run=response_run,
        response=response,
        cycle_runs=cycle_runs,
        cycles=resolutions,
        now=now_us,
    )
    return TicketEvaluation(
        ticket=ticket,
        now=now_us,
        tier=tier_at(spans, now_us),
        classification=classification,
        tier_changes=tuple(changes),
        response=response,
        resolutions=resolutions,
        steps=steps,
        unknown_priorities=tuple(unknown),
        version=version,
        exclusions=ticket_exclusions(ticket, policy.exclusion_tags, exclusions),
    )
