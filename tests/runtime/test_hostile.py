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

from sla_connector.reporting import build_report, render_html, render_text, weekly_period
from sla_connector.runtime import planner as planner_module
from tests.runtime.harness import Harness, sim_config

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
