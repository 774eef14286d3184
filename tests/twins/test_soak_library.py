"""The soak harness's own logic: the scenario's expected writes, the report, the kill plan.

The harness is what judges the daemon, so its rules are pinned here on hand-made inputs:
a report that miscounted would let a broken daemon pass.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
import yaml

from sla_connector.registry import load_connector_factory
from sla_connector.settings import load_config
from tests.twins.clock import system_clock
from tests.twins.connectors import TwinTime
from tests.twins.journal import Journal
from tests.twins.soak import SoakConfig, daemon_config, kill_schedule
from tests.twins.soak_report import SoakReport, percentile, render_table
from tests.twins.soak_scenario import (
    Action,
    ExpectedStep,
    PolicySpec,
    Scenario,
    TicketPlan,
    expected_steps,
    generate,
)
from tests.twins.soak_vendors import VENDORS, vendor

T0 = 1_796_000_000.0
BOT = "token:sla-bot@msp.example"


def scenario_of(*plans: tuple[str, str, str]) -> Scenario:
    tickets = [
        TicketPlan(label, tier, kind, (Action(0, label, "create"),)) for label, tier, kind in plans
    ]
    return Scenario(1, 300, PolicySpec(), tickets)


def ids_of(stamped: dict[str, dict[str, float]]) -> dict[str, str]:
    return {label: str(n) for n, label in enumerate(stamped, 1)}


def director(steps: list[ExpectedStep]) -> dict[str, tuple[bool, str]]:
    return {s.label: (s.must_write, s.reason) for s in steps if s.step == "p1-director"}


def test_breach_steps_are_due_at_target_plus_after_and_at_risk_steps_are_notify_only() -> None:
    scenario = scenario_of(("a", "P1", "breach"), ("b", "P2", "breach"))
    steps = expected_steps(
        scenario, {"a": {"create": T0}, "b": {"create": T0}}, {"a": "1", "b": "2"}
    )
    assert steps == [
        ExpectedStep("a", "1", "p1-at-risk", T0 + 30, False, "notify_only"),
        ExpectedStep("a", "1", "p1-director", T0 + 90, True, "breach"),
        ExpectedStep("b", "2", "p2-at-risk", T0 + 60, False, "notify_only"),
        ExpectedStep("b", "2", "p2-lead", T0 + 120, True, "breach"),
    ]


def test_reply_at_or_before_due_means_no_breach_and_after_it_the_step_still_fires() -> None:
    scenario = scenario_of(
        ("on_time", "P1", "answered"), ("late", "P1", "late_reply"), ("early", "P1", "x")
    )
    stamped = {
        "on_time": {"create": T0, "agent_reply": T0 + 60},  # exactly at due: met (S01)
        "late": {"create": T0, "agent_reply": T0 + 70},
        "early": {"create": T0, "agent_reply": T0 + 10},  # before at-risk: nothing triggered
    }
    steps = expected_steps(scenario, stamped, ids_of(stamped))
    assert director(steps) == {
        "on_time": (False, "answered"),
        "late": (True, "late_reply"),
        "early": (False, "answered"),
    }
    assert [s.label for s in steps if s.step == "p1-at-risk"] == ["on_time", "late"]


def test_resolution_or_deletion_before_due_cancels_the_step() -> None:
    scenario = scenario_of(
        ("solved", "P1", "resolved"), ("gone", "P1", "deleted"), ("after", "P1", "resolved")
    )
    stamped = {
        "solved": {"create": T0, "solve": T0 + 80},
        "gone": {"create": T0, "delete": T0 + 75},
        "after": {"create": T0, "solve": T0 + 90},  # due exactly at the resolution: fires (S18)
    }
    assert director(expected_steps(scenario, stamped, ids_of(stamped))) == {
        "solved": (False, "resolved"),
        "gone": (False, "deleted"),
        "after": (True, "breach"),
    }


def test_generated_scenarios_are_seeded_and_keep_their_margins() -> None:
    one, two = generate(seed=4, minutes=6), generate(seed=4, minutes=6)
    assert one.tickets == two.tickets and len(one.tickets) == 63
    spec = one.policy
    for plan in one.tickets:
        created = plan.actions[0].at
        response = spec.response(plan.tier)
        for action in plan.actions[1:]:
            offset = action.at - created
            boundaries = (
                spec.at_risk * response,
                response,
                response + spec.breach_step(plan.tier)[1],
            )
            assert all(abs(offset - b) >= 5 for b in boundaries), (plan, action)
    assert max(a.at for a in one.actions) < one.duration - 25


def journal_with(*writes: tuple[float, int, str, str, bool]) -> Journal:
    journal = Journal()
    for at, request, step, kind, changed in writes:
        journal.record_write(
            at=at,
            request=request,
            principal=BOT,
            ticket=step.split(":")[0],
            kind=kind,
            value="x",
            step=step,
            changed=changed,
        )
    return journal


def test_report_counts_written_missed_duplicates_extra_and_early() -> None:
    expected = [
        ExpectedStep("a", "1", "p1-director", T0 + 90, True, "breach"),
        ExpectedStep("b", "2", "p1-director", T0 + 90, True, "breach"),
        ExpectedStep("c", "3", "p1-director", T0 + 90, True, "breach"),
        ExpectedStep("a", "1", "p1-at-risk", T0 + 30, False, "notify_only"),
        ExpectedStep("d", "4", "p1-director", T0 + 90, False, "resolved"),
    ]
    journal = journal_with(
        (T0 + 91, 10, "1:p1-director:c1", "private_comment", True),
        (T0 + 91, 10, "1:p1-director:c1", "tag", True),  # the same update: counted once
        (T0 + 95, 11, "1:p1-director:c1", "private_comment", True),  # a second note: duplicate
        (T0 + 96, 12, "1:p1-director:c1", "tag", False),  # a no-op retry: not a write
        (T0 + 80, 13, "2:p1-director:c1", "private_comment", True),  # 10 s early
        (T0 + 31, 14, "1:p1-at-risk:c1", "tag", True),  # notify-only wrote: extra
        (T0 + 92, 15, "4:p1-director:c1", "private_comment", True),  # cancelled wrote: extra
    )
    report = SoakReport.build("r", journal, expected, integration=BOT, uptimes=[(T0, T0 + 85)])
    assert (report.must_write, report.notify_only, report.must_not_fire) == (3, 1, 1)
    assert report.written == 2 and [m.ticket for m in report.missed] == ["3"]
    assert report.duplicates == 1 and len(report.extra) == 2 and len(report.early) == 1
    assert sorted(report.lateness) == [-10.0, 1.0]
    assert report.lateness_up == []  # both fell due after the daemon's only life ended
    assert report.lateness_up_visible == []
    # Up 2 s at T0 + 90 and ticket 1 exported at T0 + 60: only step 1 is in both sets.
    seq = journal.open_request(T0 + 60, "GET", "/export", "", BOT)
    journal.close_request(seq, now=T0 + 60, status=200, fault=None, exposed=["1"])
    both = SoakReport.build("r", journal, expected, integration=BOT, uptimes=[(T0, T0 + 100)])
    assert sorted(both.lateness_up) == [-10.0, 1.0]
    assert both.lateness_visible == both.lateness_up_visible == [1.0]
    row = report.row()
    assert row["written"] == "2/3" and row["late max"] == "1.0 s"
    assert render_table([report]).splitlines()[2].startswith("| r | 2/3 | 1 | 1 | 2 | 1 |")


def test_writes_by_people_are_not_the_daemons() -> None:
    journal = Journal()
    journal.record_write(
        at=T0,
        request=None,
        principal="person:sam@msp.example",
        ticket="1",
        kind="public_comment",
        value="hi",
    )
    journal.record_write(
        at=T0, request=3, principal="token:someone-else", ticket="1", kind="tag", value="t"
    )
    report = SoakReport.build("r", journal, [], integration=BOT)
    assert report.extra == []


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([float(n) for n in range(1, 101)], 0.99) == 99.0


def test_kill_schedule_has_bursts_in_flight_kills_and_stays_in_the_window() -> None:
    events = kill_schedule(random.Random(3), 50, 10.0, 345.0, 0.3, 0.25)
    assert len(events) == 50 and all(10.0 <= e.at <= 345.0 for e in events)
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert sum(e.in_flight for e in events) == round(50 * 0.25)
    bursts = [e for e in events if sum(abs(o.at - e.at) <= 5 for o in events) >= 3]
    assert len(bursts) >= 15


# -- the soak on every vendor's twin ---------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(VENDORS))
def test_each_vendor_plays_the_scenario_and_configures_a_daemon_that_loads(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    soak = vendor(kind, seed=1)
    scenario = generate(seed=1, minutes=1)
    with soak.twin.serve():
        config = daemon_config(soak, scenario, SoakConfig("t", 1, tmp_path, vendor=kind))
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        loaded = load_config(path)
        for key, value in soak.env().items():
            monkeypatch.setenv(key, value)
        entry = loaded.connectors["psa"]
        factory = load_connector_factory(entry.type, "psa")
        connector = factory("psa", entry.model_dump(mode="python"), TwinTime(system_clock))
        ticket, created = soak.create("email down", "P1", 0)
        stamps = [soak.act(ticket, kind) for kind in ("customer_reply", "agent_reply", "solve")]
        asyncio.run(connector.aclose())
    assert loaded.connectors["psa"].type == kind
    assert created <= stamps[0] <= stamps[1] <= stamps[2] and created == int(created)
    assert all(w.principal.startswith("person:") for w in soak.twin.journal.writes())


def test_a_step_written_in_several_requests_is_one_update_not_a_duplicate() -> None:
    journal = Journal()
    step = "7:p2-lead:c1"
    for request, (kind, value, marked) in enumerate(
        [
            ("assignee", "dlee", False),
            ("private_comment", "note", True),
            ("private_comment", "tag", True),
        ],
        1,
    ):
        journal.record_write(
            at=T0 + request,
            request=request,
            principal="api:SLAConnector",
            ticket="7",
            kind=kind,
            value=value,
            step=step if marked else "",
        )
    expected = [ExpectedStep("t", "7", "p2-lead", T0, True, "breach")]
    report = SoakReport.build(
        "cw", journal, expected, integration="api:SLAConnector", group_window=15.0
    )
    assert (report.written, report.duplicates, report.extra) == (1, 0, [])
