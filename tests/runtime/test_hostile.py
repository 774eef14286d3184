"""Issue 11: what a ticket holds cannot freeze the daemon, fake its proof or leak into a chat."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from sla_connector.cli import main
from sla_connector.reporting import build_report, render_html, render_text, weekly_period
from sla_connector.runtime import escalator as escalator_module
from sla_connector.runtime import planner as planner_module
from sla_connector.runtime.clocks import ManualClock
from sla_connector.runtime.daemon import Daemon, DaemonSettings
from sla_connector.runtime.timeline import VirtualTimeline
from sla_connector.runtime.writeback import marker_text
from sla_connector.settings import config_from_mapping, parse_yaml
from sla_connector.store import Store
from tests.runtime.harness import ROOT, Harness, sim_config
from tests.runtime.test_escalator import KEY as ESC_KEY
from tests.runtime.test_escalator import START as ESC_START
from tests.runtime.test_escalator import ScriptedPsa

pytestmark = pytest.mark.anyio


async def test_finding_1_a_slow_evaluation_leaves_healthz_and_the_loop_responsive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poll whose tickets take long to evaluate runs off the event loop: /healthz answers
    and other coroutines run while the evaluation is still going."""
    harness = await Harness.start(sim_config(tmp_path))
    await harness.run_for(timedelta(hours=6))
    harness.clock.advance(timedelta(hours=1))  # new tickets for the next poll
    released = threading.Event()
    waited_in_vain: list[bool] = []
    real = planner_module.evaluate

    def slow(*args: Any, **kwargs: Any) -> Any:
        if not waited_in_vain:
            # Held until the test has been answered by /healthz (bounded: never hangs).
            waited_in_vain.append(not released.wait(timeout=10))
        return real(*args, **kwargs)

    monkeypatch.setattr(planner_module, "evaluate", slow)
    try:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            for _ in range(1000):
                ticks += 1
                await asyncio.sleep(0)

        poll = asyncio.create_task(harness.daemon.poll("sim"))
        transport = httpx.ASGITransport(app=harness.service.dashboard)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            for _ in range(200):  # until the poll is inside the evaluation (bounded)
                if waited_in_vain or poll.done():
                    break
                await asyncio.sleep(0.01)
            await ticker()
            answer = await client.get("/healthz")
            released.set()
        await poll
        assert answer.status_code == 200
        assert ticks == 1000
        assert waited_in_vain == [False], "the evaluation blocked the event loop"
    finally:
        released.set()
        await harness.close()


async def test_finding_2_deleting_breached_tickets_makes_the_report_say_tables_and_log_disagree(
    tmp_path: Path,
) -> None:
    """The daemon logs every decided clock; a report cross-checks its figures against the
    log, so breached tickets deleted from the database no longer pass as a verified week."""
    harness = await Harness.start(sim_config(tmp_path, tickets_per_day=80))
    try:
        await harness.run_for(timedelta(days=8))
        now = harness.clock.now()
        policy, store = harness.config.policy, harness.store
        period = weekly_period(now, "UTC")
        before = build_report(store, policy, period, now)
        assert before.evidence is not None and before.evidence.consistent, before.evidence
        assert before.evidence.cross_checked > 0
        assert "verified intact" in before.evidence_statement
        assert before.evidence.head_hash in before.evidence_statement
        breached = {(b.source, b.ticket_id) for b in before.breaches}
        assert len(breached) > 5, "the simulated week should breach some tickets"
        with sa.create_engine(f"sqlite:///{tmp_path / 'state.db'}").begin() as conn:
            for source, ticket_id in breached:
                conn.execute(
                    sa.text("DELETE FROM tickets WHERE source = :s AND id = :i"),
                    {"s": source, "i": ticket_id},
                )
        after = build_report(store, policy, period, now)
        assert after.total.ticket.breached < before.total.ticket.breached
        assert after.evidence is not None and not after.evidence.consistent
        assert store.verify_evidence().ok, "the chain itself is intact: only the tables lie"
        statement = after.evidence_statement
        assert "verified intact" not in statement
        assert "the stored tables and the evidence log disagree" in statement
        assert "have no ticket in the tables" in statement
        for text in (render_text(after), render_html(after)):
            assert "disagree" in text and "verified intact" not in text
    finally:
        await harness.close()


RUNTIME_FAILING_NOTE = "Escalated: {{ 100 // (ticket.id | int - 1) }}"  # fine for the sample


def _policy_with_note(note: str) -> Any:
    data = parse_yaml((ROOT / "examples" / "policy.yaml").read_text())
    data["escalations"]["P2"][0]["note"] = note
    return config_from_mapping(data)


def test_finding_5_check_renders_each_note_and_names_the_failing_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        (ROOT / "examples" / "policy.yaml")
        .read_text()
        .replace(
            "{name: senior-engineer, on: breach, after: 2h, to: senior_engineer,",
            "{name: senior-engineer, on: breach, after: 2h, to: senior_engineer, "
            'note: "{{ 1 // 0 }}",',
        )
    )
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert main(["check", "-c", str(path), "--no-connect"]) == 2
    err = capsys.readouterr().err
    assert "senior-engineer" in err and "ZeroDivisionError" in err
    assert "Traceback" not in err
    _policy_with_note(RUNTIME_FAILING_NOTE)  # renders for the sample ticket: accepted


async def test_finding_5_a_note_failing_at_run_time_fails_the_step_and_writes_the_default(
    tmp_path: Path,
) -> None:
    """Ticket 1 makes the template divide by zero: the step is written with the default
    note, finished ``failed`` with the reason in the ledger and the evidence log, and no
    row stays ``firing``."""
    store, psa = await _scripted_run(tmp_path, _policy_with_note(RUNTIME_FAILING_NOTE))
    rows = {row.key: row for row in store.ledger()}
    assert not [row for row in rows.values() if row.state == "firing"]
    row = rows[ESC_KEY]
    assert row.state == "failed", (row.detail, psa.writes)
    assert "note template failed (ZeroDivisionError" in row.detail
    assert "the default note was written" in row.detail
    (note,) = [value for action, value in psa.writes if action == "note"]
    assert note.startswith("SLA escalation 'senior-engineer'") and marker_text(ESC_KEY) in note
    logged = [e.payload for e in store.evidence() if e.kind == "escalation"]
    assert [(p["key"], p["state"]) for p in logged if p["key"] == ESC_KEY] == [(ESC_KEY, "failed")]
    assert "ZeroDivisionError" in next(p["detail"] for p in logged if p["key"] == ESC_KEY)
    store.close()


async def _scripted_run(tmp_path: Path, config: Any) -> tuple[Store, ScriptedPsa]:
    """The daemon on the escalator tests' scripted PSA (one P2 ticket) for six hours."""
    clock = ManualClock(ESC_START)
    psa = ScriptedPsa(clock, [])
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    timeline = VirtualTimeline(clock)
    daemon = Daemon(
        policy=config.policy,
        store=store,
        connectors={"sim": psa},  # type: ignore[dict-item]
        clock=clock,
        timeline=timeline,
        settings=DaemonSettings(
            poll_intervals={"sim": timedelta(minutes=5)},
            reconcile_intervals={"sim": timedelta(days=1)},
            owner="test",
            leadership_interval=timedelta(hours=1),
        ),
    )
    await daemon.start()
    try:
        await timeline.run_until(ESC_START + timedelta(hours=6))
    finally:
        await daemon.stop()
    return store, psa


async def test_finding_5_an_unexpected_error_while_firing_never_leaves_a_row_firing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(escalator_module, "plan_writes", broken)
    store, psa = await _scripted_run(tmp_path, _policy_with_note("Escalated"))
    row = next(row for row in store.ledger() if row.key == ESC_KEY)
    assert (row.state, row.detail) == ("failed", "internal error: RuntimeError")
    assert not [r for r in store.ledger() if r.state == "firing"]
    assert psa.writes == []
    store.close()
