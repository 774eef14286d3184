"""Pause governance, the worked examples of docs/semantics.md S33-S36."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sla_connector.core.adherence import PauseCounter
from sla_connector.core.calendars import from_us, to_us
from sla_connector.core.contracts import Contract, ContractTierTerms, ContractVersion
from sla_connector.core.durations import parse_duration
from sla_connector.core.evaluate import evaluate
from sla_connector.core.policy import Client, EscalationStep, Policy, Rule
from tests.core.policies import SEED_STEPS, make_policy, ticket

HOUR = 3_600_000_000
RULES = (
    Rule.build("outage", "P1", keywords=("down",)),
    Rule.build("slow", "P2", keywords=("slow",)),
)


def policy_with(**kwargs: Any) -> Policy:
    """The test policy: "down" is P1 (24x7), "slow" is P2, anything else P3 (uk-office)."""
    return make_policy(rules=RULES, **kwargs)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def governed(policy: Policy, tier: str, **changes: Any) -> Policy:
    """The policy with one tier's pause governance changed (and a fresh terms cache)."""
    tiers = dict(policy.tiers)
    tiers[tier] = replace(tiers[tier], **changes)
    return replace(policy, tiers=tiers)


# S33 ------------------------------------------------------------------------------------


P1_WAIT = ticket(
    "2026-11-03T09:00:00Z",
    ("2026-11-03T09:05:00Z", "public_reply", "agent"),
    ("2026-11-03T10:00:00Z", "status", "pending"),
    ("2026-11-03T13:00:00Z", "status", "open"),
    ("2026-11-03T13:30:00Z", "status", "solved"),
    subject="Email server down",
)


def test_s33_pause_never_keeps_the_clock_running_through_a_wait() -> None:
    never = governed(policy_with(), "P1", pause_allowed=False)
    result = evaluate(P1_WAIT, never, _at("2026-11-04T00:00:00Z")).resolution
    assert (result.state, result.elapsed_us) == ("breached", 4 * HOUR + HOUR // 2)
    assert from_us(result.breached_at or 0) == _at("2026-11-03T13:00:00Z")
    assert result.pauses == ()
    assert (to_us(_at("2026-11-03T10:00:00Z")), "waiting: pending (no pause under P1)") in (
        result.timeline
    )


def test_s33_without_pause_never_the_same_wait_pauses_the_clock() -> None:
    result = evaluate(P1_WAIT, policy_with(), _at("2026-11-04T00:00:00Z")).resolution
    assert (result.state, result.elapsed_us) == ("met", HOUR + HOUR // 2)
    assert [(p.reason, p.business_us) for p in result.pauses] == [("pending", 3 * HOUR)]


def test_s33_a_still_waiting_ticket_under_pause_never_is_running_not_paused() -> None:
    never = governed(policy_with(), "P1", pause_allowed=False)
    result = evaluate(P1_WAIT, never, _at("2026-11-03T11:00:00Z")).resolution
    assert result.state == "running"
    assert result.due_at == to_us(_at("2026-11-03T13:00:00Z"))


def test_s33_an_upgrade_to_a_never_tier_during_a_wait_runs_from_the_upgrade() -> None:
    never = governed(policy_with(), "P1", pause_allowed=False)
    upgraded = ticket(
        "2026-11-03T09:00:00Z",  # a Tuesday; P3 (printer jam), uk-office hours
        ("2026-11-03T10:00:00Z", "status", "pending"),
        ("2026-11-03T11:00:00Z", "priority", "P1"),
        ("2026-11-03T12:00:00Z", "status", "open"),
    )
    result = evaluate(upgraded, never, _at("2026-11-03T12:00:00Z")).resolution
    assert result.tier == "P1"
    assert [(from_us(p.start), from_us(p.end)) for p in result.pauses] == [
        (_at("2026-11-03T10:00:00Z"), _at("2026-11-03T11:00:00Z"))
    ]
    assert result.elapsed_us == 2 * HOUR  # 09-10 running, 10-11 paused under P3, 11-12 runs


def test_s33_a_contract_can_forbid_pauses_for_one_client_only() -> None:
    contract = Contract.single(ContractVersion(start=date.min, pause_allowed=False))
    policy = policy_with(clients={"globex": Client(key="globex", contract=contract)})
    mine = evaluate(P1_WAIT, policy, _at("2026-11-04T00:00:00Z")).resolution
    other = evaluate(replace(P1_WAIT, client="initech"), policy, _at("2026-11-04T00:00:00Z"))
    assert mine.state == "breached"
    assert other.resolution.state == "met"


def test_s33_a_contract_tier_entry_wins_over_the_contract_wide_setting() -> None:
    version = ContractVersion(
        start=date.min,
        pause_allowed=False,
        tiers={"P1": ContractTierTerms(pause_allowed=True)},
    )
    policy = policy_with(
        clients={"globex": Client(key="globex", contract=Contract.single(version))}
    )
    assert evaluate(P1_WAIT, policy, _at("2026-11-04T00:00:00Z")).resolution.state == "met"


# S34 ------------------------------------------------------------------------------------

# Friday 28 August 2026 09:00 London; pending from 16:00; Monday 31 August is the summer
# bank holiday (GB/ENG), so 2bd of pause end on Wednesday 2 September at 16:00.
WAITING_OVER_HOLIDAY = ticket("2026-08-28T08:00:00Z", ("2026-08-28T15:00:00Z", "status", "pending"))
MONDAY_NOON = _at("2026-09-07T11:00:00Z")


def test_s34_max_pause_across_a_weekend_and_a_bank_holiday_releases_the_clock() -> None:
    policy = governed(policy_with(), "P3", max_pause=parse_duration("2bd"))
    result = evaluate(WAITING_OVER_HOLIDAY, policy, MONDAY_NOON).resolution
    assert result.target_us == 30 * HOUR
    assert from_us(result.pause_limit_at or 0) == _at("2026-09-02T15:00:00Z")  # Wed 16:00
    assert [(from_us(p.end), p.business_us) for p in result.pauses] == [
        (_at("2026-09-02T15:00:00Z"), 20 * HOUR)
    ]
    assert result.state == "breached"
    assert from_us(result.breached_at or 0) == _at("2026-09-07T08:00:00Z")  # Mon 09:00


def test_s34_without_max_pause_the_same_ticket_is_still_paused() -> None:
    result = evaluate(WAITING_OVER_HOLIDAY, policy_with(), MONDAY_NOON).resolution
    assert (result.state, result.elapsed_us, result.pause_limit_at) == ("paused", 7 * HOUR, None)


def test_s34_pauses_add_up_over_the_cycle_and_later_waits_do_not_pause() -> None:
    policy = governed(policy_with(), "P2", max_pause=parse_duration("2h"))
    two_waits = ticket(
        "2026-11-03T09:00:00Z",  # Tuesday, P2 (8h), uk-office (GMT in November)
        ("2026-11-03T10:00:00Z", "status", "pending"),
        ("2026-11-03T11:30:00Z", "status", "open"),
        ("2026-11-03T12:00:00Z", "status", "hold"),
        ("2026-11-03T14:00:00Z", "status", "open"),
        ("2026-11-03T15:00:00Z", "status", "pending"),
        ("2026-11-03T16:00:00Z", "status", "solved"),
        subject="Printer slow",
    )
    result = evaluate(two_waits, policy, _at("2026-11-04T00:00:00Z")).resolution
    assert [(p.reason, p.business_us) for p in result.pauses] == [
        ("pending", 90 * 60_000_000),
        ("hold", 30 * 60_000_000),
    ]
    assert from_us(result.pause_limit_at or 0) == _at("2026-11-03T12:30:00Z")
    assert result.elapsed_us == 7 * HOUR - 2 * HOUR  # 7 h from 09:00 to 16:00, 2 h paused


def test_s34_a_new_cycle_starts_with_no_pause_used() -> None:
    policy = governed(policy_with(reopen="new_cycle"), "P2", max_pause=parse_duration("1h"))
    reopened = ticket(
        "2026-11-03T09:00:00Z",
        ("2026-11-03T10:00:00Z", "status", "pending"),
        ("2026-11-03T11:00:00Z", "status", "solved"),
        ("2026-11-04T09:00:00Z", "status", "open"),
        ("2026-11-04T10:00:00Z", "status", "pending"),
        ("2026-11-04T10:30:00Z", "status", "solved"),
        subject="Printer slow",
    )
    first, second = evaluate(reopened, policy, _at("2026-11-05T00:00:00Z")).resolutions
    assert [p.business_us for p in first.pauses] == [HOUR]
    assert [p.business_us for p in second.pauses] == [HOUR // 2]
    assert first.pause_limit_at == to_us(_at("2026-11-03T11:00:00Z"))
    assert second.pause_limit_at is None


# S35 ------------------------------------------------------------------------------------

WAIT_STEP = EscalationStep(
    name="waiting-too-long",
    on="pause_limit_reached",
    to="team_lead",
    actions=("notify", "reassign"),
)


def test_s35_pause_limit_reached_triggers_its_ladder_step_once() -> None:
    steps = {**SEED_STEPS, "P3": (*SEED_STEPS["P3"], WAIT_STEP)}
    policy = governed(policy_with(escalations=steps), "P3", max_pause=parse_duration("2bd"))
    plans = evaluate(WAITING_OVER_HOLIDAY, policy, MONDAY_NOON).steps
    waiting = [plan for plan in plans if plan.step.name == "waiting-too-long"]
    assert len(waiting) == 1
    (plan,) = waiting
    assert (plan.state, plan.reason, plan.to, plan.cycle) == (
        "fired",
        "pause limit reached",
        "terry@msp.example",
        1,
    )
    assert from_us(plan.due_at) == _at("2026-09-02T15:00:00Z")
    assert WAIT_STEP.clock == "resolution"


def test_s35_no_limit_reached_no_step() -> None:
    steps = {**SEED_STEPS, "P3": (WAIT_STEP,)}
    policy = governed(policy_with(escalations=steps), "P3", max_pause=parse_duration("2bd"))
    tuesday = _at("2026-09-01T12:00:00Z")
    assert evaluate(WAITING_OVER_HOLIDAY, policy, tuesday).steps == ()


# S36 ------------------------------------------------------------------------------------


def test_s36_pause_reasons_are_kept_and_totalled_per_client_tier_and_reason() -> None:
    waits = ticket(
        "2026-11-03T09:00:00Z",
        ("2026-11-03T10:00:00Z", "status", "pending"),
        ("2026-11-03T13:00:00Z", "status", "hold"),
        ("2026-11-03T14:00:00Z", "status", "open"),
        ("2026-11-03T15:00:00Z", "status", "solved"),
        subject="Printer slow",
    )
    policy = policy_with()
    evaluation = evaluate(waits, policy, _at("2026-11-04T00:00:00Z"))
    assert [(p.reason, p.business_us) for p in evaluation.resolution.pauses] == [
        ("pending", 3 * HOUR),
        ("hold", HOUR),
    ]
    counter = PauseCounter()
    counter.add(evaluation)
    counter.add(evaluate(replace(waits, id="T2"), policy, _at("2026-11-04T00:00:00Z")))
    other = PauseCounter()
    other.add(evaluate(replace(waits, id="T3", client="acme"), policy, _at("2026-11-04T00:00:00Z")))
    counter.merge(other)
    assert [(r.client, r.tier, r.reason, r.pauses, r.business_us) for r in counter.rows()] == [
        ("acme", "P2", "hold", 1, HOUR),
        ("acme", "P2", "pending", 1, 3 * HOUR),
        ("globex", "P2", "hold", 2, 2 * HOUR),
        ("globex", "P2", "pending", 2, 6 * HOUR),
    ]


def test_s36_pause_counter_window_keeps_pauses_that_started_inside_it() -> None:
    evaluation = evaluate(
        ticket("2026-11-03T09:00:00Z", ("2026-11-03T10:00:00Z", "status", "pending")),
        policy_with(),
        _at("2026-11-03T12:00:00Z"),
    )
    inside = PauseCounter(start=to_us(_at("2026-11-03T10:00:00Z")))
    outside = PauseCounter(start=to_us(_at("2026-11-03T10:00:01Z")))
    inside.add(evaluation)
    outside.add(evaluation)
    assert [r.business_us for r in inside.rows()] == [2 * HOUR]
    assert outside.rows() == []


def test_s34_pause_taken_under_an_unlimited_tier_counts_towards_a_later_limit() -> None:
    policy = governed(policy_with(), "P2", max_pause=parse_duration("2h"))
    downgraded = ticket(
        "2026-11-03T09:00:00Z",  # P3 (no limit), then a person sets P2 (2h limit)
        ("2026-11-03T10:00:00Z", "status", "pending"),
        ("2026-11-03T11:30:00Z", "priority", "P2"),
        ("2026-11-03T13:00:00Z", "status", "open"),
    )
    result = evaluate(downgraded, policy, _at("2026-11-03T13:00:00Z")).resolution
    assert from_us(result.pause_limit_at or 0) == _at("2026-11-03T12:00:00Z")
    assert [(from_us(p.start), from_us(p.end)) for p in result.pauses] == [
        (_at("2026-11-03T10:00:00Z"), _at("2026-11-03T11:30:00Z")),
        (_at("2026-11-03T11:30:00Z"), _at("2026-11-03T12:00:00Z")),
    ]
