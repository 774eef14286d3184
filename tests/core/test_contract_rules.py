"""Contracts, objectives and credits: the worked examples of docs/semantics.md S26-S32."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from sla_connector.core.adherence import AdherenceCounter
from sla_connector.core.contracts import Chronic, Contract, ContractTierTerms, Objective
from sla_connector.core.credits import Band, Bands, CreditShape, FixedShare, PerPoint
from sla_connector.core.durations import parse_duration
from sla_connector.core.errors import ConfigError
from sla_connector.core.evaluate import evaluate
from sla_connector.core.exclusions import Exclusion, ExclusionTag
from sla_connector.core.objectives import Tally
from sla_connector.core.statements import credit_statement
from tests.core.contracts_support import (
    FEE,
    D,
    at,
    audit,
    contract_policy,
    counted,
    month,
    p1,
    version,
)

AUG, SEP, OCT, NOV = (2026, 8), (2026, 9), (2026, 10), (2026, 11)
P1_RESPONSE = Objective("response", D("0.95"), tier="P1")


# S26 ------------------------------------------------------------------------------------

RENEWED = contract_policy(
    version(P1_RESPONSE, start=date(2026, 1, 1)),
    version(
        Objective("response", D("0.98"), tier="P1"),
        start=date(2026, 10, 15),
        tiers={"P1": ContractTierTerms(response=parse_duration("10m"))},
    ),
)
# 14 and 20 October 12:00 in New York (EDT); 2 November 12:00 (EST).
BEFORE_RENEWAL = p1("2026-10-14T16:00:00Z", 12, "before")
AFTER_RENEWAL = p1("2026-10-20T16:00:00Z", 12, "after")
NOVEMBER = p1("2026-11-02T17:00:00Z", 5, "november")


def test_s26_a_ticket_is_measured_by_the_version_in_force_when_it_was_created() -> None:
    now = at("2026-11-03T00:00:00Z")
    before = evaluate(BEFORE_RENEWAL, RENEWED, now)
    after = evaluate(AFTER_RENEWAL, RENEWED, now)
    assert (before.version, before.response.state, before.response.target_us) == (
        0,
        "met",
        15 * 60_000_000,
    )
    assert (after.version, after.response.state, after.response.target_us) == (
        1,
        "breached",
        10 * 60_000_000,
    )


def test_s26_a_month_is_judged_by_the_version_in_force_on_its_first_day() -> None:
    months = audit(RENEWED, [BEFORE_RENEWAL, AFTER_RENEWAL, NOVEMBER], "2026-11-03T00:00:00Z")
    october, november = month(months, OCT), month(months, NOV)
    (oct_p1,) = october.objectives
    (nov_p1,) = november.objectives
    assert (october.version, oct_p1.objective.target, oct_p1.met, oct_p1.breached) == (
        0,
        D("0.95"),
        1,
        1,
    )
    assert oct_p1.missed
    assert (november.version, nov_p1.objective.target, nov_p1.met) == (1, D("0.98"), 1)
    assert not nov_p1.missed and not november.complete and october.complete


def test_s26_the_version_date_is_the_local_date_of_the_contract_zone() -> None:
    # 15 October 02:00 UTC is still 14 October 22:00 in New York: version 1.
    late_evening = p1("2026-10-15T02:00:00Z", 12, "evening")
    assert evaluate(late_evening, RENEWED, at("2026-11-01T00:00:00Z")).version == 0
    assert evaluate(late_evening, RENEWED, at("2026-11-01T00:00:00Z")).response.state == "met"


def test_s26_a_version_starting_on_the_first_splits_tickets_and_months_at_local_midnight() -> None:
    policy = contract_policy(
        version(P1_RESPONSE, start=date(2026, 1, 1), end=date(2026, 10, 31)),
        version(
            Objective("response", D("0.98"), tier="P1"),
            start=date(2026, 11, 1),
            tiers={"P1": ContractTierTerms(response=parse_duration("10m"))},
        ),
    )
    # 31 October 23:30 and 1 November 00:30 in New York (03:30 and 04:30 UTC on 1 November).
    last = p1("2026-11-01T03:30:00Z", 12, "last-of-october")
    first = p1("2026-11-01T04:30:00Z", 12, "first-of-november")
    now = at("2026-11-20T00:00:00Z")
    assert [evaluate(t, policy, now).version for t in (last, first)] == [0, 1]
    assert [evaluate(t, policy, now).response.state for t in (last, first)] == ["met", "breached"]
    months = audit(policy, [last, first], "2026-11-20T00:00:00Z")
    assert [(m.month, m.version, m.objectives[0].objective.target) for m in months] == [
        (OCT, 0, D("0.95")),
        (NOV, 1, D("0.98")),
    ]
    assert [(m.objectives[0].met, m.objectives[0].breached) for m in months] == [(1, 0), (0, 1)]


def test_s26_no_version_in_force_on_the_first_day_means_no_objectives_that_month() -> None:
    policy = contract_policy(version(P1_RESPONSE, start=date(2026, 10, 15)))
    months = audit(policy, [AFTER_RENEWAL, NOVEMBER], "2026-11-03T00:00:00Z")
    assert [m.month for m in months] == [NOV]
    assert evaluate(BEFORE_RENEWAL, policy, at("2026-11-01T00:00:00Z")).version is None


def test_s26_versions_sharing_a_date_are_refused() -> None:
    with pytest.raises(ConfigError, match="overlaps"):
        Contract(
            (
                version(start=date(2026, 1, 1), end=date(2026, 12, 31)),
                version(start=date(2026, 7, 1)),
            )
        )
    Contract((version(start=date(2026, 1, 1)), version(start=date(2026, 7, 1))))  # open-ended


# S27 ------------------------------------------------------------------------------------


def test_s27_a_clock_counts_in_the_contract_zone_month_it_was_decided() -> None:
    # Opened 31 October 20:00 New York (1 November 00:00 UTC), solved 1 h later.
    halloween = p1("2026-11-01T00:00:00Z", 5, "late")
    resolution = Objective("resolution", D("0.9"))
    for zone, expected in (("America/New_York", OCT), ("UTC", NOV)):
        policy = contract_policy(version(resolution), timezone=zone)
        (found,) = audit(policy, [halloween], "2026-11-01T12:00:00Z")[:1]
        assert found.month == expected, zone
        assert found.objectives[0].met == 1


def test_s27_meeting_the_target_exactly_is_met_and_both_counts_tickets() -> None:
    policy = contract_policy(version(Objective("response", D("0.8")), Objective("both", D("0.8"))))
    counts = {OCT: {("P1", "response"): Tally(met=4, breached=1), ("P2", "both"): Tally(3, 2)}}
    response, both = month(counted(policy, counts, "2026-11-02T00:00:00Z"), OCT).objectives
    assert (response.actual, response.missed) == (D("0.8"), False)
    assert (both.decided, both.actual, both.missed) == (5, D("0.6"), True)


def test_s27_objectives_group_by_the_tickets_tier_at_now() -> None:
    policy = contract_policy(version(Objective("response", D("0.9"), tier="P2")))
    counts = {OCT: {("P1", "response"): Tally(0, 5), ("P2", "response"): Tally(9, 1)}}
    (p2,) = month(counted(policy, counts, "2026-11-02T00:00:00Z"), OCT).objectives
    assert (p2.met, p2.breached, p2.missed) == (9, 1, False)


# S28 ------------------------------------------------------------------------------------


def test_s28_below_the_minimum_volume_an_objective_is_not_assessed() -> None:
    objective = Objective(
        "response", D("0.95"), tier="P1", min_volume=5, credit=FixedShare(D("0.05"))
    )
    policy = contract_policy(version(objective))
    tickets = [
        p1(f"2026-10-0{day}T16:00:00Z", 30 if day % 2 else 5, str(day)) for day in (1, 2, 3, 4)
    ]
    (result,) = month(audit(policy, tickets, "2026-11-02T00:00:00Z"), OCT).objectives
    assert (result.decided, result.actual) == (4, D("0.5"))
    assert (result.assessed, result.missed, result.share, result.amount) == (
        False,
        False,
        D(0),
        D(0),
    )
    one_more = [*tickets, p1("2026-10-05T16:00:00Z", 5, "5")]
    (result,) = month(audit(policy, one_more, "2026-11-02T00:00:00Z"), OCT).objectives
    assert (result.assessed, result.missed, result.amount) == (True, True, D("500.00"))


# S29 ------------------------------------------------------------------------------------


def _one(credit: CreditShape, met: int, breached: int) -> tuple[Decimal, Decimal | None]:
    policy = contract_policy(version(Objective("resolution", D("0.95"), credit=credit)))
    counts = {OCT: {("P2", "resolution"): Tally(met, breached)}}
    (result,) = month(counted(policy, counts, "2026-11-02T00:00:00Z"), OCT).objectives
    return result.share, result.amount


def test_s29_fixed_share_when_missed() -> None:
    assert _one(FixedShare(D("0.05")), 47, 3) == (D("0.05"), D("500.00"))  # 94%
    assert _one(FixedShare(D("0.05")), 19, 1) == (D(0), D(0))  # 95% is met


def test_s29_share_per_point_below_target_is_pro_rata() -> None:
    share, amount = _one(PerPoint(D("0.01")), 37, 3)  # 92.5%: 2.5 points
    assert share == D("0.025") and amount == D("250.00")
    share, amount = _one(PerPoint(D("0.01"), max_share=D("0.02")), 37, 3)
    assert share == D("0.02") and amount == D("200.00")


def test_s29_bands_apply_the_highest_band_reached() -> None:
    bands = Bands(
        (Band(D("0.95"), D("0.02")), Band(D("0.90"), D("0.05")), Band(D("0.85"), D("0.10")))
    )
    assert _one(bands, 22, 3) == (D("0.05"), D("500.00"))  # 88%
    assert _one(bands, 21, 4) == (D("0.10"), D("1000.00"))  # 84%
    assert _one(bands, 93, 7) == (D("0.02"), D("200.00"))  # 93%


# S30 ------------------------------------------------------------------------------------


def test_s30_the_monthly_cap_limits_the_total() -> None:
    policy = contract_policy(
        version(
            Objective("response", D("0.95"), tier="P1", credit=FixedShare(D("0.05"))),
            Objective("resolution", D("0.95"), credit=PerPoint(D("0.01"))),
            Objective("both", D("0.95"), credit=Bands((Band(D("0.85"), D("0.10")),))),
            cap=D("0.15"),
        )
    )
    counts = {
        OCT: {
            ("P1", "response"): Tally(47, 3),
            ("P2", "resolution"): Tally(37, 3),
            ("P2", "both"): Tally(21, 4),
        }
    }
    october = month(counted(policy, counts, "2026-11-02T00:00:00Z"), OCT)
    assert [o.amount for o in october.objectives] == [D("500.00"), D("250.00"), D("1000.00")]
    assert (october.total_before_cap, october.cap, october.total) == (
        D("1750.00"),
        D("1500.00"),
        D("1500.00"),
    )
    assert october.capped


def test_s30_without_a_cap_a_month_never_credits_more_than_its_fee() -> None:
    huge = Objective("response", D("1"), credit=PerPoint(D("0.5")))
    policy = contract_policy(version(huge))
    october = month(
        counted(policy, {OCT: {("P1", "response"): Tally(1, 9)}}, "2026-11-02T00:00:00Z"), OCT
    )
    assert october.total_before_cap == FEE * 45 and october.total == FEE


def test_s30_money_is_rounded_once_to_the_currency_minor_unit() -> None:
    third_of_a_point = Objective("response", D("0.95"), credit=PerPoint(D("0.005")))
    policy = contract_policy(
        version(third_of_a_point, replace_clock(third_of_a_point), fee=D("100000")),
        currency="JPY",
    )
    counts = {OCT: {("P1", "response"): Tally(71, 4), ("P1", "resolution"): Tally(71, 4)}}
    october = month(counted(policy, counts, "2026-11-02T00:00:00Z"), OCT)
    statement = credit_statement(october)
    assert [line.amount for line in statement.lines] == [D("167"), D("167")]
    assert statement.total == D("333")


def replace_clock(objective: Objective) -> Objective:
    return Objective("resolution", objective.target, credit=objective.credit)


# S31 ------------------------------------------------------------------------------------


def _chronic(months: dict[tuple[int, int], Tally], now: str) -> dict[tuple[int, int], bool]:
    policy = contract_policy(
        version(Objective("response", D("0.9")), chronic=Chronic(missed=2, months=3))
    )
    counts = {m: {("P1", "response"): tally} for m, tally in months.items()}
    return {a.month: a.objectives[0].chronic for a in counted(policy, counts, now)}


def test_s31_missed_in_two_of_the_last_three_months_is_chronic() -> None:
    missed, met = Tally(1, 1), Tally(10, 0)
    flags = _chronic({AUG: missed, SEP: met, OCT: missed}, "2026-11-01T12:00:00Z")
    assert flags == {AUG: False, SEP: False, OCT: True, NOV: False}


def test_s31_a_miss_out_of_the_window_no_longer_counts() -> None:
    missed, met = Tally(1, 1), Tally(10, 0)
    flags = _chronic({AUG: missed, SEP: met, OCT: met, NOV: missed}, "2026-11-20T12:00:00Z")
    assert flags[NOV] is False


def test_s31_not_assessed_months_are_not_misses() -> None:
    policy = contract_policy(
        version(Objective("response", D("0.9"), min_volume=3), chronic=Chronic(missed=2, months=2))
    )
    counts = {SEP: {("P1", "response"): Tally(0, 2)}, OCT: {("P1", "response"): Tally(0, 5)}}
    october = month(counted(policy, counts, "2026-11-01T12:00:00Z"), OCT)
    assert october.objectives[0].missed and not october.objectives[0].chronic


# S32 ------------------------------------------------------------------------------------

TEN = [p1(f"2026-10-{day:02d}T16:00:00Z", 30 if day == 7 else 5, f"t{day}") for day in range(1, 11)]


def test_s32_an_excluded_breach_leaves_numerator_and_denominator() -> None:
    policy = contract_policy(version(P1_RESPONSE))
    recorded = {
        ("zd", "t7"): {"response": Exclusion("response", "customer outage", "Dana", 0, "store")}
    }
    (raw,) = month(audit(policy, TEN, "2026-11-02T00:00:00Z"), OCT).objectives
    (kept,) = month(audit(policy, TEN, "2026-11-02T00:00:00Z", recorded), OCT).objectives
    assert (raw.met, raw.breached, raw.excluded, raw.missed) == (9, 1, 0, True)
    assert (kept.met, kept.breached, kept.excluded, kept.actual, kept.missed) == (
        9,
        0,
        1,
        D(1),
        False,
    )


def test_s32_an_excluded_clock_stays_a_breach_in_the_evaluation_and_adherence() -> None:
    policy = contract_policy(version(P1_RESPONSE))
    recorded = {("zd", "t7"): {"response": Exclusion("response", "outage", "Dana", 0, "store")}}
    adherence = AdherenceCounter()
    for item in TEN:
        evaluation = evaluate(item, policy, at("2026-11-02T00:00:00Z"), exclusions=recorded)
        adherence.add(evaluation)
        if item.id == "t7":
            assert evaluation.response.state == "breached"
            assert evaluation.exclusions["response"].reason == "outage"
            assert [plan.step.name for plan in evaluation.steps] == ["account-director"]
    (response,) = [r for r in adherence.rows() if r.kind == "response"]
    assert (response.met, response.breached) == (9, 1)


def test_s32_a_psa_tag_excludes_and_a_recorded_exclusion_wins_over_it() -> None:
    policy = contract_policy(
        version(P1_RESPONSE),
        exclusion_tags=(ExclusionTag("SLA-Exclude", "third party", ("response",)),),
    )
    tagged = [
        p1(
            t.created_at.isoformat(),
            30 if t.id == "t7" else 5,
            t.id,
            tags=["sla-exclude"] if t.id == "t7" else [],
        )
        for t in TEN
    ]
    (kept,) = month(audit(policy, tagged, "2026-11-02T00:00:00Z"), OCT).objectives
    assert (kept.excluded, kept.breached) == (1, 0)
    recorded = {("zd", "t7"): {"response": Exclusion("response", "agreed", "Sam", 5, "store")}}
    evaluation = evaluate(tagged[6], policy, at("2026-11-02T00:00:00Z"), exclusions=recorded)
    assert evaluation.exclusions["response"].by == "Sam"
    assert (
        evaluate(tagged[6], policy, at("2026-11-02T00:00:00Z")).exclusions["response"].by
        == "PSA tag 'SLA-Exclude' (zd)"
    )


def test_s32_both_is_judged_on_the_clocks_not_excluded() -> None:
    policy = contract_policy(version(Objective("both", D("0.9"))))
    late = [p1("2026-10-07T16:00:00Z", 30, "late")]
    only_response = {("zd", "late"): {"response": Exclusion("response", "x", "Dana", 0, "store")}}
    everything = {
        ("zd", "late"): {
            "response": Exclusion("response", "x", "Dana", 0, "store"),
            "resolution": Exclusion("resolution", "x", "Dana", 0, "store"),
        }
    }
    (raw,) = month(audit(policy, late, "2026-11-02T00:00:00Z"), OCT).objectives
    (part,) = month(audit(policy, late, "2026-11-02T00:00:00Z", only_response), OCT).objectives
    (whole,) = month(audit(policy, late, "2026-11-02T00:00:00Z", everything), OCT).objectives
    assert (raw.met, raw.breached, raw.excluded) == (0, 1, 0)
    assert (part.met, part.breached, part.excluded) == (1, 0, 0)
    assert (whole.met, whole.breached, whole.excluded) == (0, 0, 1)
