"""Escalation planning (DESIGN section 6, SEMANTICS S17-S20)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sla_connector.core.calendars import from_us
from sla_connector.core.escalation import idempotency_key
from sla_connector.core.evaluate import evaluate
from sla_connector.core.policy import Client, EscalationStep, Rule
from tests.core.policies import SEED_STEPS, make_policy, ticket

P2_RULE = Rule.build("degraded", "P2", keywords=("slow",))
AT_RISK = EscalationStep(
    name="p2-at-risk", on="resolution_at_risk", to="team_lead", actions=("notify",), at=0.75
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def iso(micros: int) -> str:
    return from_us(micros).isoformat().replace("+00:00", "Z")


def test_s17_upgrade_of_a_ticket_already_in_breach_triggers_the_new_tier_ladder() -> None:
    # P2 response breaches at 10:00 (P2 ladder triggered); upgraded to P1 at 12:00.
    t = ticket(
        "2026-11-02T09:00:00Z", ("2026-11-02T12:00:00Z", "priority", "P1"), subject="VPN slow"
    )
    steps = evaluate(t, make_policy(rules=(P2_RULE,)), at("2026-11-02T13:00:00Z")).steps
    by_name = {s.step.name: s for s in steps}
    assert iso(by_name["senior-engineer"].triggered_at) == "2026-11-02T10:00:00Z"
    assert iso(by_name["senior-engineer"].due_at) == "2026-11-02T12:00:00Z"
    assert iso(by_name["account-director"].triggered_at) == "2026-11-02T12:00:00Z"
    assert iso(by_name["account-director"].due_at) == "2026-11-02T12:30:00Z"
    assert by_name["account-director"].to == "dana@msp.example"


def test_s17_breach_means_whichever_clock_breaches_first() -> None:
    t = ticket("2026-11-02T09:00:00Z", subject="VPN slow")
    (step,) = evaluate(t, make_policy(rules=(P2_RULE,)), at("2026-11-02T11:00:00Z")).steps
    assert step.reason == "response breached"
    assert iso(step.triggered_at) == "2026-11-02T10:00:00Z"


def test_s17_at_risk_step_is_triggered_and_due_at_the_fraction_of_the_target() -> None:
    policy = make_policy(rules=(P2_RULE,), escalations={"P2": (AT_RISK,)})
    t = ticket("2026-11-02T09:00:00Z", subject="VPN slow")
    (step,) = evaluate(t, policy, at("2026-11-02T16:00:00Z")).steps
    assert iso(step.triggered_at) == "2026-11-02T15:00:00Z"  # 6h of 8h
    assert iso(step.due_at) == "2026-11-02T15:00:00Z"
    assert step.state == "fired"
    assert evaluate(t, policy, at("2026-11-02T14:59:59Z")).steps == ()


def test_s17_at_risk_needs_its_tier_in_force() -> None:
    policy = make_policy(rules=(P2_RULE,), escalations={"P2": (AT_RISK,)})
    t = ticket(
        "2026-11-02T09:00:00Z", ("2026-11-02T10:00:00Z", "priority", "P3"), subject="VPN slow"
    )
    assert evaluate(t, policy, at("2026-11-02T18:00:00Z")).steps == ()


def test_s17_new_cycle_later_cycles_are_triggered_by_their_resolution_clock_only() -> None:
    t = ticket(
        "2026-11-02T09:00:00Z",
        ("2026-11-02T11:00:00Z", "status", "solved"),
        ("2026-11-03T09:00:00Z", "status", "open"),
        subject="VPN slow",
    )
    steps = evaluate(
        t, make_policy(rules=(P2_RULE,), reopen="new_cycle"), at("2026-11-03T12:00:00Z")
    ).steps
    # Cycle 1: response breached 10:00, due 12:00 -> after the 11:00 resolution: cancelled.
    # Cycle 2 (from Tue 09:00) has not breached its resolution clock by 12:00.
    assert [(s.cycle, s.state) for s in steps] == [(1, "cancelled")]


def test_s18_step_due_after_resolution_is_cancelled_and_not_revived_by_reopen() -> None:
    t = ticket(
        "2026-11-02T09:00:00Z",
        ("2026-11-02T11:00:00Z", "status", "solved"),
        ("2026-11-02T13:00:00Z", "status", "open"),
        subject="VPN slow",
    )
    (step,) = evaluate(t, make_policy(rules=(P2_RULE,)), at("2026-11-02T15:00:00Z")).steps
    assert step.state == "cancelled"  # due 12:00, inside the 11:00-13:00 resolution


def test_s18_step_due_exactly_at_the_resolution_fires() -> None:
    t = ticket(
        "2026-11-02T09:00:00Z", ("2026-11-02T12:00:00Z", "status", "solved"), subject="VPN slow"
    )
    (step,) = evaluate(t, make_policy(rules=(P2_RULE,)), at("2026-11-02T15:00:00Z")).steps
    assert (iso(step.due_at), step.state) == ("2026-11-02T12:00:00Z", "fired")


def test_s18_step_fires_paused_or_not_and_is_pending_before_its_due() -> None:
    t = ticket(
        "2026-11-02T09:00:00Z", ("2026-11-02T10:30:00Z", "status", "pending"), subject="VPN slow"
    )
    (step,) = evaluate(t, make_policy(rules=(P2_RULE,)), at("2026-11-02T11:00:00Z")).steps
    assert step.state == "pending"
    (step,) = evaluate(t, make_policy(rules=(P2_RULE,)), at("2026-11-02T12:00:00Z")).steps
    assert step.state == "fired"


def test_s18_once_per_ticket_and_cycle_with_a_stable_idempotency_key() -> None:
    t = ticket("2026-11-02T09:00:00Z", subject="VPN slow", id="77")
    steps = evaluate(t, make_policy(rules=(P2_RULE,)), at("2026-11-05T00:00:00Z")).steps
    assert [s.key for s in steps] == [idempotency_key("zd", "77", "senior-engineer", 1)]
    assert steps[0].key == "zd:77:senior-engineer:1"


def test_s18_new_cycle_steps_fire_again_in_each_cycle() -> None:
    t = ticket(
        "2026-11-02T09:00:00Z",
        ("2026-11-02T09:05:00Z", "public_reply", "agent"),
        ("2026-11-03T09:00:00Z", "status", "solved"),
        ("2026-11-03T10:00:00Z", "status", "open"),
        subject="VPN slow",
    )
    steps = evaluate(
        t, make_policy(rules=(P2_RULE,), reopen="new_cycle"), at("2026-11-05T00:00:00Z")
    ).steps
    assert [(s.cycle, s.state) for s in steps] == [(1, "fired"), (2, "fired")]
    assert len({s.key for s in steps}) == 2


def test_s19_next_business_day_after_a_friday_evening_breach_is_monday_opening() -> None:
    t = ticket("2026-11-06T14:00:00Z")  # Friday 14:00, P3 response breaches Friday 18:00
    (step,) = evaluate(t, make_policy(), at("2026-11-10T00:00:00Z")).steps
    assert iso(step.triggered_at) == "2026-11-06T18:00:00Z"
    assert iso(step.due_at) == "2026-11-09T08:00:00Z"


def test_s19_next_business_day_skips_a_bank_holiday_monday() -> None:
    t = ticket("2026-05-01T13:00:00Z")  # Friday 1 May 2026, 14:00 BST; 4 May is a bank holiday
    (step,) = evaluate(t, make_policy(), at("2026-05-07T00:00:00Z")).steps
    assert iso(step.due_at) == "2026-05-05T07:00:00Z"  # Tuesday 08:00 BST


def test_s19_a_half_day_counts_as_a_business_day() -> None:
    half = {
        "timezone": "Europe/London",
        "hours": {"mon-fri": ["08:00-18:00"], "sat": ["09:00-13:00"]},
    }
    client = Client(key="retail", calendar="shop")
    policy = make_policy(clients={"retail": client}, extra_calendars={"shop": half})
    t = ticket("2026-11-06T14:00:00Z", client="retail")
    (step,) = evaluate(t, policy, at("2026-11-10T00:00:00Z")).steps
    assert iso(step.due_at) == "2026-11-07T09:00:00Z"


def test_s20_recipient_comes_from_client_roles_then_policy_roles_then_role_name() -> None:
    client = Client(key="acme", roles={"senior_engineer": "lee@acme-msp.example"})
    unmapped = EscalationStep(name="odd", on="breach", to="duty_manager", actions=("notify",))
    policy = make_policy(
        rules=(P2_RULE,),
        clients={"acme": client},
        escalations={"P2": (SEED_STEPS["P2"][0], unmapped)},
    )
    steps = evaluate(
        ticket("2026-11-02T09:00:00Z", client="acme", subject="VPN slow"),
        policy,
        at("2026-11-03T00:00:00Z"),
    ).steps
    assert {s.step.name: s.to for s in steps} == {
        "senior-engineer": "lee@acme-msp.example",
        "odd": "duty_manager",
    }
    other = evaluate(
        ticket("2026-11-02T09:00:00Z", subject="VPN slow"), policy, at("2026-11-03T00:00:00Z")
    ).steps
    assert {s.step.name: s.to for s in other}["senior-engineer"] == "sam@msp.example"


def test_step_after_zero_is_due_at_its_trigger() -> None:
    immediate = EscalationStep(
        name="now", on="response_breach", to="team_lead", actions=("tag",), after=timedelta(0)
    )
    policy = make_policy(escalations={"P3": (immediate,)})
    (step,) = evaluate(ticket("2026-11-02T09:00:00Z"), policy, at("2026-11-02T14:00:00Z")).steps
    assert step.due_at == step.triggered_at
