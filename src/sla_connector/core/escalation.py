"""The escalation plan of one ticket (DESIGN section 6, SEMANTICS S17-S20).

A step of tier T's ladder is triggered at the first instant of its cycle at which T is
in force and its condition holds (a breach, an at-risk share of the target, or the
cycle's pause limit reached, S35); it is due ``after`` later in T's calendar and is
cancelled only when that due instant falls inside a resolution of its cycle (S18). Pure:
the runtime turns the plan into timers and write-backs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from sla_connector.core.clocks import ClockRun, TierSpan
from sla_connector.core.policy import (
    NEXT_BUSINESS_DAY,
    PAUSE_LIMIT_REACHED,
    EscalationStep,
    Policy,
    TermsOf,
)
from sla_connector.core.ticket import Ticket

if TYPE_CHECKING:
    from sla_connector.core.evaluate import ClockResult

__all__ = ["StepPlan", "StepState", "idempotency_key", "plan_steps"]

StepState = Literal["fired", "pending", "cancelled"]


@dataclass(frozen=True, slots=True)
class StepPlan:
    """One triggered ladder step with its due instant, recipient and idempotency key."""

    step: EscalationStep
    tier: str
    cycle: int
    triggered_at: int
    due_at: int
    to: str
    key: str
    state: StepState
    reason: str


def idempotency_key(source: str, ticket_id: str, step: str, cycle: int) -> str:
    """(source, ticket id, step name, cycle) as one string, unique per firing (S18)."""
    return f"{source}:{ticket_id}:{step}:{cycle}"


def _first_in_force(
    spans: list[TierSpan], tier: str, instant: int, window: tuple[int, int], horizon: int
) -> int | None:
    """First instant >= ``instant`` in ``window`` and <= horizon with ``tier`` in force."""
    for span in spans:
        if span.tier != tier:
            continue
        low = max(span.start, instant, window[0])
        high = min(span.end, window[1], horizon + 1)
        if low < high:
            return low
    return None


def _due(terms_of: TermsOf, tier: str, step: EscalationStep, trigger: int) -> int:
    calendar = terms_of(tier).calendar
    if step.after == NEXT_BUSINESS_DAY:
        return calendar.next_business_day_us(trigger)
    if isinstance(step.after, timedelta):
        micros = (
            step.after.days * 86400 + step.after.seconds
        ) * 1_000_000 + step.after.microseconds
        return calendar.add_us(trigger, micros)
    return trigger


def _cancelled(due: int, resolutions: list[tuple[int, int | None]]) -> bool:
    return any(res < due and (reopen is None or due < reopen) for res, reopen in resolutions)


def plan_steps(
    *,
    policy: Policy,
    terms_of: TermsOf,
    ticket: Ticket,
    spans: list[TierSpan],
    response_run: ClockRun,
    response: ClockResult,
    cycle_runs: list[ClockRun],
    cycles: tuple[ClockResult, ...],
    now: int,
) -> tuple[StepPlan, ...]:
    """Every step whose trigger has happened by ``now``, each with its state (S17-S20)."""
    plans: list[StepPlan] = []
    client = ticket.client
    tiers_used = {span.tier for span in spans}
    for run, result in zip(cycle_runs, cycles, strict=True):
        window = (run.start, run.window_end)
        breaches: dict[str, int | None] = {
            "response": response.breached_at if run.cycle == 1 else None,
            "resolution": result.breached_at,
        }
        for tier in sorted(tiers_used):
            for step in policy.ladder(tier):
                found = _trigger(
                    terms_of=terms_of,
                    spans=spans,
                    step=step,
                    tier=tier,
                    run=run,
                    response_run=response_run,
                    breaches=breaches,
                    window=window,
                    now=now,
                )
                if found is None:
                    continue
                trigger, reason = found
                due = _due(terms_of, tier, step, trigger)
                state: StepState
                if _cancelled(due, run.resolutions):
                    state = "cancelled"
                else:
                    state = "fired" if due <= now else "pending"
                plans.append(
                    StepPlan(
                        step=step,
                        tier=tier,
                        cycle=run.cycle,
                        triggered_at=trigger,
                        due_at=due,
                        to=policy.recipient(client, step.to),
                        key=idempotency_key(ticket.source, ticket.id, step.name, run.cycle),
                        state=state,
                        reason=reason,
                    )
                )
    plans.sort(key=lambda plan: (plan.due_at, plan.cycle, plan.step.name))
    return tuple(plans)


def _trigger(
    *,
    terms_of: TermsOf,
    spans: list[TierSpan],
    step: EscalationStep,
    tier: str,
    run: ClockRun,
    response_run: ClockRun,
    breaches: dict[str, int | None],
    window: tuple[int, int],
    now: int,
) -> tuple[int, str] | None:
    if step.at_risk:
        clock = response_run if step.clock == "response" else run
        if step.clock == "response" and run.cycle != 1:
            return None
        crossing = clock.crossing(terms_of, spans, fraction=step.at or 1.0, only_tier=tier)
        if crossing is None or crossing.at > now:
            return None
        return (
            crossing.at,
            f"{step.clock} clock at {round((step.at or 1.0) * 100)}% of its {tier} target",
        )
    if step.on == PAUSE_LIMIT_REACHED:
        if run.pause_limit_at is None:
            return None
        trigger = _first_in_force(spans, tier, run.pause_limit_at, window, now)
        return None if trigger is None else (trigger, "pause limit reached")
    kinds = ("response", "resolution") if step.clock == "any" else (step.clock,)
    best: tuple[int, str] | None = None
    for kind in kinds:
        breach = breaches[kind]
        if breach is None:
            continue
        trigger = _first_in_force(spans, tier, breach, window, now)
        if trigger is not None and (best is None or trigger < best[0]):
            best = (trigger, f"{kind} breached")
    return best
