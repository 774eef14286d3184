"""Clock semantics, rule by rule (SEMANTICS S01-S14) and the acceptance scenarios of the core issue.

Calendar `uk-office` is Mon-Fri 08:00-18:00 Europe/London with English holidays; November
dates are GMT so UTC times read as local times. P1 is 15m/4h 24x7, P2 1h/8h and P3 4h/3bd
on uk-office.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sla_connector.core.calendars import from_us
from sla_connector.core.evaluate import evaluate
from sla_connector.core.policy import Client, Rule, TierOverride
from tests.core.policies import make_policy, ticket

HOUR = 3600


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def iso(micros: int | None) -> str | None:
    return None if micros is None else from_us(micros).isoformat().replace("+00:00", "Z")


P2_RULE = Rule.build("degraded", "P2", keywords=("slow",))
P1_RULE = Rule.build("outage", "P1", keywords=("down",))


def test_s01_stop_exactly_at_due_is_met() -> None:
    t = ticket("2026-11-02T09:00:00Z", ("2026-11-02T13:00:00Z", "public_reply", "agent"))
    result = evaluate(t, make_policy(), at("2026-11-03T00:00:00Z")).response
    assert result.state == "met"
    assert iso(result.due_at) == "2026-11-02T13:00:00Z"
    assert result.elapsed_us == 4 * HOUR * 1_000_000


def test_s01_one_second_late_is_breached_at_the_due_instant() -> None:
    t = ticket("2026-11-02T09:00:00Z", ("2026-11-02T13:00:01Z", "public_reply", "agent"))
    result = evaluate(t, make_policy(), at("2026-11-03T00:00:00Z")).response
    assert result.state == "breached"
    assert iso(result.breached_at) == "2026-11-02T13:00:00Z"


def test_s01_pause_starting_at_the_due_instant_breaches_only_on_resume() -> None:
    t = ticket(
        "2026-11-02T09:00:00Z",
        ("2026-11-02T17:00:00Z", "status", "pending"),
        ("2026-11-03T10:00:00Z", "status", "open"),
        subject="VPN slow",
    )
    result = evaluate(t, make_policy(rules=(P2_RULE,)), at("2026-11-04T00:00:00Z")).resolution
    assert result.state == "breached"
    assert iso(result.due_at) == "2026-11-02T17:00:00Z"
    assert iso(result.breached_at) == "2026-11-03T10:00:00Z"


def test_s02_target_used_up_at_closing_time_is_due_at_the_close() -> None:
    t = ticket("2026-11-02T10:00:00Z", subject="VPN slow")
    result = evaluate(t, make_policy(rules=(P2_RULE,)), at("2026-11-02T12:00:00Z")).resolution
    assert result.state == "running"
    assert iso(result.due_at) == "2026-11-02T18:00:00Z"


def test_s02_after_offset_starting_at_close_counts_from_next_opening() -> None:
    # P2 resolution breaches Mon 17:00; the senior-engineer step is 2h later in business time.
    t = ticket(
        "2026-11-02T09:00:00Z",
        ("2026-11-02T09:30:00Z", "public_reply", "agent"),
        subject="VPN slow",
    )
    evaluation = evaluate(t, make_policy(rules=(P2_RULE,)), at("2026-11-04T00:00:00Z"))
    assert iso(evaluation.resolution.breached_at) == "2026-11-02T17:00:00Z"
    (step,) = evaluation.steps
    assert step.step.name == "senior-engineer"
    assert iso(step.due_at) == "2026-11-03T09:00:00Z"
    assert step.state == "fired"


def test_s03_three_business_days_from_saturday_afternoon_due_wednesday_close() -> None:
    t = ticket("2026-11-07T14:30:00Z")
    result = evaluate(t, make_policy(), at("2026-11-09T12:00:00Z")).resolution
    assert result.target_us == 30 * HOUR * 1_000_000
    assert iso(result.due_at) == "2026-11-11T18:00:00Z"


def test_s03_business_days_are_extended_by_paused_business_time() -> None:
    t = ticket(
        "2026-11-07T14:30:00Z",
        ("2026-11-09T10:00:00Z", "status", "pending"),
        ("2026-11-09T12:00:00Z", "status", "open"),
    )
    result = evaluate(t, make_policy(), at("2026-11-09T13:00:00Z")).resolution
    assert iso(result.due_at) == "2026-11-12T10:00:00Z"


def test_s04_ticket_created_on_a_public_holiday_starts_counting_after_it() -> None:
    # Christmas 2026 is a Friday; Boxing Day (Sat) is substituted on Monday 28th.
    t = ticket("2026-12-25T10:00:00Z")
    result = evaluate(t, make_policy(), at("2026-12-25T12:00:00Z")).response
    assert iso(result.due_at) == "2026-12-29T12:00:00Z"
    assert result.elapsed_us == 0


def test_s04_p1_on_a_24x7_calendar_runs_through_a_holiday() -> None:
    t = ticket("2026-12-25T10:00:00Z", subject="Mail server down")
    evaluation = evaluate(t, make_policy(rules=(P1_RULE,)), at("2026-12-25T10:05:00Z"))
    assert evaluation.tier == "P1"
    assert iso(evaluation.response.due_at) == "2026-12-25T10:15:00Z"
    assert iso(evaluation.resolution.due_at) == "2026-12-25T14:00:00Z"


def test_ticket_created_outside_hours_is_due_from_the_next_opening() -> None:
    t = ticket("2026-11-03T20:30:00Z")  # Tuesday evening
    result = evaluate(t, make_policy(), at("2026-11-03T21:00:00Z")).response
    assert iso(result.due_at) == "2026-11-04T12:00:00Z"


def test_ticket_created_on_a_weekend_is_due_monday() -> None:
    t = ticket("2026-11-07T11:00:00Z", subject="VPN slow")  # Saturday
    result = evaluate(t, make_policy(rules=(P2_RULE,)), at("2026-11-07T12:00:00Z")).response
    assert iso(result.due_at) == "2026-11-09T09:00:00Z"


def _local_24x7_policy(zone: str):  # type: ignore[no-untyped-def]
    calendar = {"timezone": zone, "hours": {"mon-sun": ["00:00-24:00"]}}
    client = Client(key="night", tiers={"P2": TierOverride(calendar="round-the-clock")})
    return make_policy(
        rules=(P2_RULE,), clients={"night": client}, extra_calendars={"round-the-clock": calendar}
    )


def test_s05_london_fall_back_day_lasts_25_hours_for_the_clock() -> None:
    # 8h resolution from Sat 23:00 BST across the 25 Oct 2026 fall-back: real elapsed time counts.
    t = ticket("2026-10-24T22:00:00Z", subject="VPN slow", client="night")
    result = evaluate(t, _local_24x7_policy("Europe/London"), at("2026-10-25T01:00:00Z")).resolution
    assert iso(result.due_at) == "2026-10-25T06:00:00Z"
    assert result.elapsed_us == 3 * HOUR * 1_000_000


def test_s05_london_spring_forward_hour_counts_nothing_twice() -> None:
    t = ticket("2026-03-28T23:30:00Z", subject="VPN slow", client="night")
    result = evaluate(t, _local_24x7_policy("Europe/London"), at("2026-03-29T03:30:00Z")).resolution
    assert result.elapsed_us == 4 * HOUR * 1_000_000
    assert iso(result.due_at) == "2026-03-29T07:30:00Z"


def test_s05_new_york_dst_changes_use_real_elapsed_time() -> None:
    policy = _local_24x7_policy("America/New_York")
    spring = ticket("2026-03-08T05:00:00Z", subject="VPN slow", client="night")  # 00:00 EST
    assert iso(evaluate(spring, policy, at("2026-03-08T06:00:00Z")).resolution.due_at) == (
        "2026-03-08T13:00:00Z"
    )
    fall = ticket("2026-11-01T04:00:00Z", subject="VPN slow", client="night")  # 00:00 EDT
    assert iso(evaluate(fall, policy, at("2026-11-01T05:00:00Z")).resolution.due_at) == (
        "2026-11-01T12:00:00Z"
    )


def test_us_east_business_hours_shift_with_dst_in_utc() -> None:
    acme = Client(key="acme", calendar="us-east")
    policy = make_policy(clients={"acme": acme})
    # Friday 6 March 2026 18:00 EST; response 4h: 1h Friday, 3h Monday (EDT from the 8th).
    t = ticket("2026-03-06T23:00:00Z", client="acme")
    result = evaluate(t, policy, at("2026-03-07T00:00:00Z")).response
    assert iso(result.due_at) == "2026-03-09T14:00:00Z"


def test_paused_across_a_night_counts_only_open_running_time() -> None:
    t = ticket(
        "2026-11-02T16:00:00Z",
        ("2026-11-02T17:00:00Z", "status", "pending"),
        ("2026-11-03T09:00:00Z", "status", "open"),
        subject="VPN slow",
    )
    result = evaluate(t, make_policy(rules=(P2_RULE,)), at("2026-11-03T10:00:00Z")).resolution
    assert result.elapsed_us == 2 * HOUR * 1_000_000
    assert iso(result.due_at) == "2026-11-03T16:00:00Z"


def test_paused_over_a_weekend_then_resumed() -> None:
    t = ticket(
        "2026-11-06T14:00:00Z",  # Friday
        ("2026-11-06T16:00:00Z", "status", "pending"),
        ("2026-11-09T10:00:00Z", "status", "open"),  # Monday
        subject="VPN slow",
    )
    evaluation = evaluate(t, make_policy(rules=(P2_RULE,)), at("2026-11-07T12:00:00Z"))
    assert evaluation.resolution.state == "paused"
    assert evaluation.resolution.due_at is None
    assert evaluation.resolution.remaining_us == 6 * HOUR * 1_000_000
    later = evaluate(t, make_policy(rules=(P2_RULE,)), at("2026-11-09T11:00:00Z")).resolution
    assert later.state == "running"
    assert iso(later.due_at) == "2026-11-09T16:00:00Z"


def test_s06_events_after_now_are_ignored() -> None:
    t = ticket("2026-11-02T09:00:00Z", ("2026-11-02T10:00:00Z", "public_reply", "agent"))
    result = evaluate(t, make_policy(), at("2026-11-02T09:30:00Z")).response
    assert result.state == "running"
    assert result.stopped_at is None


def test_s06_same_instant_events_apply_in_file_order() -> None:
    t = ticket(
        "2026-11-02T09:00:00Z",
        ("2026-11-02T10:00:00Z", "status", "pending"),
        ("2026-11-02T10:00:00Z", "status", "open"),
    )
    assert evaluate(t, make_policy(), at("2026-11-02T11:00:00Z")).resolution.state == "running"
    t2 = ticket(
        "2026-11-02T09:00:00Z",
        ("2026-11-02T10:00:00Z", "priority", "P1"),
        ("2026-11-02T10:00:00Z", "priority", "P2"),
    )
    assert evaluate(t2, make_policy(), at("2026-11-02T11:00:00Z")).tier == "P2"


def test_s06_top_level_status_is_informational_only() -> None:
    t = ticket("2026-11-02T09:00:00Z", status="solved")
    evaluation = evaluate(t, make_policy(), at("2026-11-02T10:00:00Z"))
    assert evaluation.resolution.state == "running"
    assert evaluation.response.state == "running"


def test_s06_status_names_compare_case_insensitively() -> None:
    t = ticket("2026-11-02T09:00:00Z", ("2026-11-02T10:00:00Z", "status", "SOLVED"))
    assert evaluate(t, make_policy(), at("2026-11-02T11:00:00Z")).resolution.state == "met"


def test_s07_customer_reply_does_not_stop_the_response_clock() -> None:
    t = ticket("2026-11-02T09:00:00Z", ("2026-11-02T09:30:00Z", "public_reply", "customer"))
    assert evaluate(t, make_policy(), at("2026-11-02T10:00:00Z")).response.state == "running"


def test_s07_responded_or_resolved_status_stops_the_response_clock() -> None:
    acknowledged = ticket(
        "2026-11-02T09:00:00Z", ("2026-11-02T09:30:00Z", "status", "acknowledged")
    )
    result = evaluate(acknowledged, make_policy(), at("2026-11-02T10:00:00Z")).response
    assert (result.state, iso(result.stopped_at)) == ("met", "2026-11-02T09:30:00Z")
    solved = ticket("2026-11-02T09:00:00Z", ("2026-11-02T09:40:00Z", "status", "solved"))
    result = evaluate(solved, make_policy(), at("2026-11-02T10:00:00Z")).response
    assert (result.state, iso(result.stopped_at)) == ("met", "2026-11-02T09:40:00Z")


def test_s07_response_clock_never_pauses() -> None:
    t = ticket(
        "2026-11-02T09:00:00Z",
        ("2026-11-02T10:00:00Z", "status", "pending"),
        ("2026-11-02T14:00:00Z", "status", "open"),
    )
    result = evaluate(t, make_policy(), at("2026-11-02T14:30:00Z")).response
    assert iso(result.breached_at) == "2026-11-02T13:00:00Z"


def test_s08_resolved_to_another_resolved_status_is_not_a_reopen() -> None:
    t = ticket(
        "2026-11-02T09:00:00Z",
        ("2026-11-02T10:00:00Z", "status", "solved"),
        ("2026-11-05T10:00:00Z", "status", "closed"),
    )
    result = evaluate(t, make_policy(), at("2026-11-06T00:00:00Z")).resolution
    assert (result.state, iso(result.stopped_at)) == ("met", "2026-11-02T10:00:00Z")


def test_s08_paused_to_resolved_stops_at_the_entry() -> None:
    t = ticket(
        "2026-11-02T09:00:00Z",
        ("2026-11-02T10:00:00Z", "status", "pending"),
        ("2026-11-04T10:00:00Z", "status", "solved"),
    )
    result = evaluate(t, make_policy(), at("2026-11-05T00:00:00Z")).resolution
    assert iso(result.stopped_at) == "2026-11-04T10:00:00Z"
    assert result.elapsed_us == 1 * HOUR * 1_000_000


def test_s08_reopen_into_a_paused_status_stays_paused() -> None:
    for mode in ("resume", "new_cycle"):
        t = ticket(
            "2026-11-02T09:00:00Z",
            ("2026-11-02T10:00:00Z", "status", "solved"),
            ("2026-11-03T10:00:00Z", "status", "pending"),
        )
        result = evaluate(t, make_policy(reopen=mode), at("2026-11-03T12:00:00Z")).resolution
        assert result.state == "paused", mode


def test_s08_ticket_born_resolved_is_met_with_nothing_elapsed() -> None:
    t = ticket("2026-11-02T09:00:00Z", ("2026-11-02T09:00:00Z", "status", "closed"))
    evaluation = evaluate(t, make_policy(), at("2026-11-03T00:00:00Z"))
    for clock in (evaluation.response, evaluation.resolution):
        assert (clock.state, clock.elapsed_us, iso(clock.stopped_at)) == (
            "met",
            0,
            "2026-11-02T09:00:00Z",
        )


def _met_then_reopened():  # type: ignore[no-untyped-def]
    return ticket(
        "2026-11-02T09:00:00Z",
        ("2026-11-02T09:10:00Z", "public_reply", "agent"),
        ("2026-11-02T12:00:00Z", "status", "solved"),
        ("2026-11-03T09:00:00Z", "status", "open"),
        ("2026-11-03T17:00:00Z", "status", "solved"),
        subject="VPN slow",
    )


def test_s09_resume_keeps_one_clock_and_its_latest_outcome() -> None:
    evaluation = evaluate(
        _met_then_reopened(), make_policy(rules=(P2_RULE,)), at("2026-11-04T00:00:00Z")
    )
    assert len(evaluation.resolutions) == 1
    result = evaluation.resolution
    # 3h Monday + 5h Tuesday uses up the 8h at Tue 14:00; the resolved night counted like a pause.
    assert (result.state, iso(result.breached_at)) == ("breached", "2026-11-03T14:00:00Z")
    assert iso(result.stopped_at) == "2026-11-03T17:00:00Z"
    assert result.cycle == 1


def test_s09_new_cycle_restarts_resolution_with_the_full_target() -> None:
    evaluation = evaluate(
        _met_then_reopened(),
        make_policy(rules=(P2_RULE,), reopen="new_cycle"),
        at("2026-11-04T00:00:00Z"),
    )
    first, second = evaluation.resolutions
    assert (first.state, iso(first.stopped_at)) == ("met", "2026-11-02T12:00:00Z")
    assert (second.cycle, second.state, second.elapsed_us) == (2, "met", 8 * HOUR * 1_000_000)
    assert iso(second.due_at) == "2026-11-03T17:00:00Z"
    assert evaluation.response.cycle == 1 and evaluation.response.state == "met"


def test_s09_reopened_clock_running_again_has_no_stop() -> None:
    t = ticket(
        "2026-11-02T09:00:00Z",
        ("2026-11-02T12:00:00Z", "status", "solved"),
        ("2026-11-03T09:00:00Z", "status", "open"),
        subject="VPN slow",
    )
    result = evaluate(t, make_policy(rules=(P2_RULE,)), at("2026-11-03T10:00:00Z")).resolution
    assert (result.state, result.stopped_at) == ("running", None)
    assert iso(result.due_at) == "2026-11-03T14:00:00Z"


def test_s10_upgrade_after_two_hours_breaches_at_the_instant_of_the_change() -> None:
    t = ticket("2026-11-02T09:00:00Z", ("2026-11-02T11:00:00Z", "priority", "P1"))
    evaluation = evaluate(t, make_policy(), at("2026-11-02T11:30:00Z"))
    assert evaluation.tier == "P1"
    response = evaluation.response
    assert (response.state, iso(response.breached_at)) == ("breached", "2026-11-02T11:00:00Z")
    assert iso(response.due_at) == "2026-11-02T09:15:00Z"
    assert response.breach_tier == "P1"
    resolution = evaluation.resolution
    assert resolution.state == "running"
    assert iso(resolution.due_at) == "2026-11-02T13:00:00Z"  # 4h from the original start, 24x7


def test_s10_recomputes_from_the_start_in_the_new_tier_calendar() -> None:
    # Created Friday 17:00: 1h under uk-office by Monday, but 64h of 24x7 time.
    t = ticket("2026-11-06T17:00:00Z", ("2026-11-09T09:00:00Z", "priority", "P1"))
    result = evaluate(t, make_policy(), at("2026-11-09T09:00:00Z")).resolution
    assert result.elapsed_us == 64 * HOUR * 1_000_000
    assert (result.state, iso(result.breached_at)) == ("breached", "2026-11-09T09:00:00Z")


def test_manual_priority_override_downgrade_keeps_an_earlier_breach() -> None:
    t = ticket(
        "2026-11-02T09:00:00Z",
        ("2026-11-02T09:30:00Z", "priority", "P3"),
        subject="Mail server down",
    )
    evaluation = evaluate(t, make_policy(rules=(P1_RULE,)), at("2026-11-02T10:00:00Z"))
    assert evaluation.tier == "P3"
    assert evaluation.rule == "outage"
    assert iso(evaluation.response.breached_at) == "2026-11-02T09:15:00Z"
    assert evaluation.response.breach_tier == "P1"


def test_manual_priority_ignored_when_respect_manual_priority_is_off() -> None:
    t = ticket("2026-11-02T09:00:00Z", ("2026-11-02T09:30:00Z", "priority", "P1"))
    evaluation = evaluate(t, make_policy(respect_manual_priority=False), at("2026-11-02T10:00:00Z"))
    assert evaluation.tier == "P3"


def test_s11_stopped_clock_is_frozen_under_the_tier_at_its_stop() -> None:
    t = ticket(
        "2026-11-02T09:00:00Z",
        ("2026-11-02T10:00:00Z", "public_reply", "agent"),
        ("2026-11-02T11:00:00Z", "priority", "P1"),
    )
    evaluation = evaluate(t, make_policy(), at("2026-11-02T12:00:00Z"))
    response = evaluation.response
    assert (response.tier, response.state, response.target_us) == (
        "P3",
        "met",
        4 * HOUR * 1_000_000,
    )
    assert iso(response.due_at) == "2026-11-02T13:00:00Z"
    assert evaluation.tier == "P1"


def test_s12_breached_clock_paused_at_now_shows_its_due_and_stays_breached() -> None:
    t = ticket(
        "2026-11-02T09:00:00Z",
        ("2026-11-02T18:30:00Z", "status", "pending"),
        subject="VPN slow",
    )
    result = evaluate(t, make_policy(rules=(P2_RULE,)), at("2026-11-03T12:00:00Z")).resolution
    assert result.state == "breached"
    assert iso(result.due_at) == "2026-11-02T17:00:00Z"
    assert result.elapsed_us == 9 * HOUR * 1_000_000
    assert result.target_us == 8 * HOUR * 1_000_000


def _upgrade_during_pause(*tail: tuple[str, str, str]):  # type: ignore[no-untyped-def]
    return ticket(
        "2026-11-02T09:00:00Z",
        ("2026-11-02T09:10:00Z", "public_reply", "agent"),
        ("2026-11-02T14:00:00Z", "status", "pending"),
        ("2026-11-02T15:00:00Z", "priority", "P1"),
        *tail,
    )


def test_s13_target_used_up_during_a_pause_breaches_on_resume() -> None:
    t = _upgrade_during_pause(("2026-11-02T16:00:00Z", "status", "open"))
    result = evaluate(t, make_policy(), at("2026-11-02T17:00:00Z")).resolution
    assert (result.state, iso(result.breached_at)) == ("breached", "2026-11-02T16:00:00Z")
    assert iso(result.due_at) == "2026-11-02T13:00:00Z"


def test_s13_resolved_straight_from_that_pause_is_met() -> None:
    t = _upgrade_during_pause(("2026-11-02T15:30:00Z", "status", "solved"))
    result = evaluate(t, make_policy(), at("2026-11-02T17:00:00Z")).resolution
    assert result.state == "met"
    assert result.breached_at is None


def test_s14_running_due_is_now_plus_remaining_and_met_due_is_stop_plus_remaining() -> None:
    running = ticket("2026-11-02T09:00:00Z", subject="VPN slow")
    result = evaluate(running, make_policy(rules=(P2_RULE,)), at("2026-11-02T10:00:00Z")).resolution
    assert iso(result.due_at) == "2026-11-02T17:00:00Z"
    met = ticket(
        "2026-11-02T09:00:00Z", ("2026-11-02T11:00:00Z", "status", "solved"), subject="VPN slow"
    )
    result = evaluate(met, make_policy(rules=(P2_RULE,)), at("2026-11-03T10:00:00Z")).resolution
    assert (result.state, iso(result.due_at)) == ("met", "2026-11-02T17:00:00Z")


def test_s14_breach_exactly_at_now_counts() -> None:
    t = ticket("2026-11-02T09:00:00Z")
    result = evaluate(t, make_policy(), at("2026-11-02T13:00:00Z")).response
    assert (result.state, iso(result.breached_at)) == ("breached", "2026-11-02T13:00:00Z")
    before = evaluate(t, make_policy(), at("2026-11-02T12:59:59Z")).response
    assert before.state == "running"


def test_client_tier_override_and_calendar_apply_to_the_clock() -> None:
    acme = Client(
        key="acme",
        calendar="us-east",
        tiers={"P1": TierOverride(response=timedelta(minutes=10))},
    )
    policy = make_policy(rules=(P1_RULE, P2_RULE), clients={"acme": acme})
    p1 = evaluate(
        ticket("2026-11-02T09:00:00Z", client="acme", subject="Site down"),
        policy,
        at("2026-11-02T09:01:00Z"),
    )
    assert iso(p1.response.due_at) == "2026-11-02T09:10:00Z"  # 24x7 stays 24x7
    p2 = evaluate(
        ticket("2026-11-02T09:00:00Z", client="acme", subject="CRM slow"),
        policy,
        at("2026-11-02T09:01:00Z"),
    )
    assert iso(p2.response.due_at) == "2026-11-02T13:00:00Z"  # us-east opens 07:00 EST = 12:00Z


def test_docs_worked_example_of_a_p2_ticket() -> None:
    """The example in docs/semantics.md."""
    t = ticket(
        "2026-11-02T09:00:00Z",
        ("2026-11-02T09:30:00Z", "public_reply", "agent"),
        ("2026-11-02T11:00:00Z", "status", "pending"),
        ("2026-11-03T09:00:00Z", "status", "open"),
        subject="VPN slow",
    )
    evaluation = evaluate(t, make_policy(rules=(P2_RULE,)), at("2026-11-04T00:00:00Z"))
    assert evaluation.response.state == "met"
    assert evaluation.response.elapsed_us == 1800 * 1_000_000
    assert iso(evaluation.resolution.due_at) == "2026-11-03T15:00:00Z"
    (step,) = evaluation.steps
    assert iso(step.due_at) == "2026-11-03T17:00:00Z"
