"""The report model: figures recomputed by the core match arithmetic done by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from sla_connector.core.ticket import Ticket, parse_ticket
from sla_connector.reporting import build_report, compute_report, weekly_period
from sla_connector.reporting.model import Report
from sla_connector.store import Store
from tests.reporting.conftest import (
    NOW,
    WEEK_END,
    WEEK_START,
    fire_step,
    make_config,
    seed_store,
    tickets_at,
)
from tests.reporting.dataset import TARGETS, Spec, expected


def _report(tmp_path: Path, dataset: list[Spec], client: str | None = None) -> Report:
    config = make_config(tmp_path)
    period = weekly_period(NOW, "Europe/London")
    return compute_report(
        config.policy,
        tickets_at(dataset, NOW),
        [],
        None,
        period,
        now=NOW,
        client=client,
        timezone="Europe/London",
    )


@pytest.mark.parametrize("client", [None, "acme", "globex"])
def test_adherence_per_tier_and_kind_matches_hand_computed_outcomes(
    tmp_path: Path, dataset: list[Spec], client: str | None
) -> None:
    report = _report(tmp_path, dataset, client)
    counts = expected(dataset, WEEK_START, WEEK_END, NOW, client)
    prev = expected(dataset, WEEK_START - timedelta(days=7), WEEK_START, NOW, client)
    assert report.period.start == WEEK_START and report.period.end == WEEK_END
    lines = [t for t in report.tiers if client is None or t.client == client]
    for tier in TARGETS:
        for kind in ("response", "resolution", "ticket"):
            met = sum(getattr(t, kind).met for t in lines if t.tier == tier)
            breached = sum(getattr(t, kind).breached for t in lines if t.tier == tier)
            assert (met, breached) == (
                counts[(tier, kind, "met")],
                counts[(tier, kind, "breached")],
            ), (tier, kind)
    for kind in ("response", "resolution", "ticket"):
        cell = getattr(report.total, kind)
        met = sum(counts[(t, kind, "met")] for t in TARGETS)
        breached = sum(counts[(t, kind, "breached")] for t in TARGETS)
        assert (cell.met, cell.breached) == (met, breached)
        assert cell.rate == pytest.approx(met / (met + breached))
        previous = (
            sum(prev[(t, kind, "met")] for t in TARGETS),
            sum(prev[(t, kind, "breached")] for t in TARGETS),
        )
        assert (cell.previous_met, cell.previous_breached) == previous
        assert cell.trend == pytest.approx(cell.rate - previous[0] / sum(previous))


def test_client_report_compares_against_the_contract_target(
    tmp_path: Path, dataset: list[Spec]
) -> None:
    report = _report(tmp_path, dataset, "globex")
    assert report.total.target == 0.90
    assert all(t.client == "globex" for t in report.tiers)
    cell = report.total.ticket
    assert cell.meets_target == (cell.rate is not None and cell.rate >= 0.90)
    msp = _report(tmp_path, dataset, None)
    assert msp.total.target is None and msp.scope == "internal"
    assert {c.client: c.target for c in msp.clients} == {"acme": 0.95, "globex": 0.90}


def test_volumes_count_tickets_created_in_the_period_per_tier(
    tmp_path: Path, dataset: list[Spec]
) -> None:
    report = _report(tmp_path, dataset)
    for tier in TARGETS:
        want = sum(1 for s in dataset if s.tier == tier and WEEK_START <= s.created < WEEK_END)
        got = sum(t.created for t in report.tiers if t.tier == tier)
        assert got == want
    before = sum(1 for s in dataset if WEEK_START - timedelta(days=7) <= s.created < WEEK_START)
    assert report.total.previous_created == before


def test_mean_times_are_business_time_of_clocks_stopped_in_the_period(
    tmp_path: Path, dataset: list[Spec]
) -> None:
    report = _report(tmp_path, dataset, "acme")
    for tier in TARGETS:
        line = next(t for t in report.tiers if t.tier == tier)
        solved = [
            s.solve * 60 for s in dataset
            if s.client == "acme" and s.tier == tier and s.solve is not None
            and WEEK_START <= s.created + timedelta(minutes=s.solve) < WEEK_END
        ]  # fmt: skip
        assert line.resolved == len(solved)
        assert line.mean_resolve_s == pytest.approx(sum(solved) / len(solved))


def test_a_clock_decided_exactly_at_the_period_end_counts_in_the_next_period(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path)
    end = WEEK_END.astimezone(UTC)

    def ticket(tid: str, created: datetime) -> Ticket:
        return parse_ticket({"id": tid, "source": "sim", "client": "acme",
                             "source_priority": "urgent",
                             "created_at": created.isoformat()})  # fmt: skip

    # P1 response target 15m: one breaches a minute before the end, one exactly at the end
    # (periods are half-open, so that one counts next week).
    inside = ticket("in", end - timedelta(minutes=16))
    at_end = ticket("edge", end - timedelta(minutes=15))
    period = weekly_period(NOW, "Europe/London")
    report = compute_report(config.policy, [inside, at_end], [], None, period, now=NOW)
    assert report.total.response.breached == 1
    assert [b.ticket_id for b in report.breaches if b.clock == "response"] == ["in"]


def test_at_risk_lists_running_clocks_past_75_percent_soonest_breach_first(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    now = NOW.astimezone(UTC)

    def ticket(tid: str, minutes_ago: int) -> Ticket:
        return parse_ticket(
            {
                "id": tid,
                "source": "sim",
                "client": "acme",
                "source_priority": "normal",
                "created_at": (now - timedelta(minutes=minutes_ago)).isoformat(),
            }
        )

    # P2: response 1h. 50 min used (83%), 46 min (77%), 40 min (67%: not at risk).
    tickets = [ticket("a", 46), ticket("b", 50), ticket("c", 40)]
    period = weekly_period(NOW, "Europe/London")
    report = compute_report(config.policy, tickets, [], None, period, now=NOW)
    risky = [(a.ticket_id, a.clock) for a in report.at_risk]
    assert risky == [("b", "response"), ("a", "response")]
    assert report.at_risk[0].seconds_to_breach == pytest.approx(600)
    assert report.at_risk[0].used == pytest.approx(50 / 60)


def test_breaches_carry_their_escalations_with_lateness_from_the_ledger(
    tmp_path: Path, dataset: list[Spec]
) -> None:
    config = make_config(tmp_path)
    tickets = tickets_at(dataset, NOW)
    store = Store.open(config.store.url)
    try:
        seed_store(store, config.policy, tickets, NOW)
        first = _report(tmp_path, dataset).breaches[0]
        ticket = next(t for t in tickets if t.id == first.ticket_id)
        due = first.breached_at + timedelta(minutes=30)
        step = "account-director" if first.tier == "P1" else "senior-engineer"
        fire_step(store, ticket, step, first.tier, due, timedelta(minutes=7))
        store.append_evidence("test", {"n": 1}, at=1)
        report = build_report(store, config.policy, weekly_period(NOW, "Europe/London"), NOW,
                              timezone="Europe/London")  # fmt: skip
    finally:
        store.close()
    line = next(b for b in report.breaches if b.ticket_id == first.ticket_id)
    assert [(e.step, e.state, e.late) for e in line.escalations] == [(step, "done", True)]
    assert line.escalations[0].lateness_seconds == pytest.approx(420)
    assert [e.ticket_id for e in report.escalations] == [first.ticket_id]
    assert report.late_escalations == 1
    assert report.evidence.ok and report.evidence.entries == 1
    assert "verified intact" in report.evidence.statement


def test_build_report_from_the_store_equals_the_pure_computation(
    tmp_path: Path, dataset: list[Spec]
) -> None:
    config = make_config(tmp_path)
    store = Store.open(config.store.url)
    try:
        seed_store(store, config.policy, tickets_at(dataset, NOW), NOW)
        built = build_report(store, config.policy, weekly_period(NOW, "Europe/London"), NOW,
                             client="acme", timezone="Europe/London")  # fmt: skip
    finally:
        store.close()
    pure = _report(tmp_path, dataset, "acme")
    assert built.tiers == pure.tiers and built.total == pure.total
    assert built.breaches == pure.breaches and built.at_risk == pure.at_risk


def test_a_broken_evidence_chain_is_stated_as_a_warning(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    period = weekly_period(NOW, "Europe/London")
    broken = SimpleNamespace(
        ok=False,
        entries=3,
        message="entry 2: hash mismatch",
        key_id=None,
        first_seq=1,
        last_seq=1,
        head_hash="0" * 64,
    )
    report = compute_report(config.policy, [], [], broken, period, now=NOW)
    assert report.evidence_statement.startswith("WARNING")
    assert "entry 2: hash mismatch" in report.evidence_statement
    unchecked = compute_report(config.policy, [], [], None, period, now=NOW)
    assert unchecked.evidence is None
    assert "not checked" in unchecked.evidence_statement


def test_a_step_on_either_breach_is_listed_once_under_the_first_breach(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    created = WEEK_START.astimezone(UTC) + timedelta(days=1)
    ticket = parse_ticket(
        {
            "id": "77",
            "source": "sim",
            "client": "acme",
            "source_priority": "urgent",
            "created_at": created.isoformat(),
        }
    )
    with Store.open(config.store.url) as store:
        seed_store(store, config.policy, [ticket], NOW)
        # P1 response breaches at +15m, resolution at +4h; the ladder step is on: breach.
        fire_step(store, ticket, "account-director", "P1", created + timedelta(minutes=45),
                  timedelta(seconds=2), recipient="dana@msp.example")  # fmt: skip
        report = build_report(store, config.policy, weekly_period(NOW, "Europe/London"), NOW)
    listed = [(b.clock, [e.step for e in b.escalations]) for b in report.breaches]
    assert listed == [("response", ["account-director"]), ("resolution", [])]
    assert report.escalations[0].late is False and report.late_escalations == 0
