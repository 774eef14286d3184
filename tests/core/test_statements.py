"""What the dashboard, /metrics and the reports will call: month-to-date exposure at an
instant and a month's credit statement with the formula applied, before and after the cap."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from sla_connector.core.calendars import to_us
from sla_connector.core.contracts import Chronic, Contract, Objective
from sla_connector.core.credits import (
    Band,
    Bands,
    FixedShare,
    PerPoint,
    format_money,
    format_percent,
    minor_unit,
    round_money,
)
from sla_connector.core.evaluate import evaluate
from sla_connector.core.objectives import ObjectiveCounter, Tally, month_to_date
from sla_connector.core.policy import Client
from sla_connector.core.statements import credit_statement
from tests.core.contracts_support import D, at, contract_policy, counted, month, p1, version

OCT = (2026, 10)


def _statement_month() -> object:
    policy = contract_policy(
        version(
            Objective("response", D("0.95"), tier="P1", credit=FixedShare(D("0.05"))),
            Objective("resolution", D("0.95"), credit=PerPoint(D("0.01"))),
            Objective("both", D("0.95"), credit=Bands((Band(D("0.9"), D("0.10")),))),
            Objective("response", D("0.9"), tier="P2", min_volume=10),
            Objective("response", D("0.9"), tier="P3"),
            cap=D("0.15"),
            chronic=Chronic(1, 1),
        )
    )
    counts = {
        ("P1", "response"): Tally(47, 3),
        ("P2", "resolution"): Tally(37, 3),
        ("P2", "both"): Tally(21, 4),
        ("P2", "response"): Tally(3, 1),
        ("P3", "response"): Tally(10, 0, excluded=2),
    }
    return month(counted(policy, {OCT: counts}, "2026-11-02T00:00:00Z"), OCT)


def test_credit_statement_applies_each_formula_before_and_after_the_cap() -> None:
    statement = credit_statement(_statement_month())  # type: ignore[arg-type]
    assert (statement.client, statement.month, statement.complete) == ("acme", "2026-10", True)
    formulas = [line.formula for line in statement.lines]
    assert formulas == [
        "missed: 94% against a target of 95%; missed: fixed 5% = 5% of 10,000.00 USD = 500.00 USD",
        "missed: 92.5% against a target of 95%; 2.5 points below target x 1% per point = 2.5% "
        "of 10,000.00 USD = 250.00 USD",
        "missed: 84% against a target of 95%; band below 90%: 10% = 10% of 10,000.00 USD "
        "= 1,000.00 USD",
        "not assessed: 4 decided, fewer than the minimum volume of 10",
        "met: 100% against a target of 90%",
    ]
    assert [line.status for line in statement.lines] == [
        "missed",
        "missed",
        "missed",
        "not assessed",
        "met",
    ]
    assert [line.chronic for line in statement.lines] == [True, True, True, False, False]
    assert statement.lines[4].excluded == 2
    assert (statement.total_before_cap, statement.cap, statement.total) == (
        D("1750.00"),
        D("1500.00"),
        D("1500.00"),
    )
    assert statement.cap_formula == (
        "1,750.00 USD before the cap; capped at 15% of the fee = 1,500.00 USD"
    )


def test_credit_statement_without_a_fee_gives_shares_only() -> None:
    policy = contract_policy(
        version(Objective("response", D("0.95"), credit=FixedShare(D("0.05"))), fee=None),
        currency=None,
    )
    october = month(
        counted(policy, {OCT: {("P1", "response"): Tally(1, 1)}}, "2026-11-02T00:00:00Z"), OCT
    )
    statement = credit_statement(october)
    assert statement.total is None and statement.lines[0].amount is None
    assert statement.lines[0].share == D("0.05")
    assert statement.cap_formula == "no fee: credits are shares only"


def test_month_to_date_gives_every_contracted_client_its_exposure_so_far() -> None:
    policy = contract_policy(
        version(Objective("response", D("0.95"), tier="P1", credit=FixedShare(D("0.05"))))
    )
    quiet = Contract.single(version(start=date(2026, 1, 1)), timezone="UTC", currency="EUR")
    clients = {**policy.clients, "initech": Client(key="initech", contract=quiet)}
    policy = replace(policy, clients=clients)
    now = at("2026-10-20T12:00:00Z")
    counter = ObjectiveCounter(end=to_us(now))
    for item in (p1("2026-10-05T16:00:00Z", 30, "late"), p1("2026-10-06T16:00:00Z", 5, "ok")):
        counter.add(evaluate(item, policy, now), policy)
    exposure = month_to_date(policy, counter, to_us(now))
    assert set(exposure) == {"acme", "initech"}
    acme, initech = exposure["acme"], exposure["initech"]
    assert (acme.month, acme.complete, acme.total) == (OCT, False, D("500.00"))
    assert (initech.objectives, initech.total) == ((), D(0))
    later = month_to_date(policy, counter, to_us(at("2026-11-03T00:00:00Z")))
    assert later["acme"].month == (2026, 11) and later["acme"].total == D(0)


def test_money_helpers_round_half_up_to_the_minor_unit() -> None:
    assert (minor_unit("USD"), minor_unit("JPY"), minor_unit("KWD"), minor_unit(None)) == (
        2,
        0,
        3,
        2,
    )
    assert round_money(Decimal("0.125"), "USD") == Decimal("0.13")
    assert round_money(Decimal("2.5"), "JPY") == Decimal("3")
    assert round_money(Decimal("1.0005"), "KWD") == Decimal("1.001")
    assert format_money(Decimal("1234567.891"), "USD") == "1,234,567.89 USD"
    assert format_money(Decimal("1234.5"), "JPY", code=False) == "1,235"
    assert format_percent(Decimal("0.025")) == "2.5%"
    assert format_percent(Decimal(2) / Decimal(3)) == "66.67%"
    assert format_percent(Decimal(1)) == "100%"
