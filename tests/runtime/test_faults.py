"""The simulator served over HTTP, and the daemon against a PSA that fails 30% of requests.

The fast tests drive the server app in-process (``httpx.ASGITransport``) through the
``simulator_http`` connector. The slow one is issue 4's fault test: a real
``sla-connector run`` against ``simulator_server --faults 0.3`` for a simulated day.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sla_connector_psa.http import AmbiguousWriteError, RateLimitedError, ServerError
from sla_connector_psa.simulator import (
    SimulatedPsa,
    SimulatorConfig,
    SimulatorHttpConnector,
    SimulatorHttpSettings,
)
from sla_connector_psa.simulator.server import (
    READ_FAULTS,
    WRITE_FAULTS,
    FaultPlan,
    SimulatorServer,
    build_app,
)

from sla_connector.runtime.writeback import has_marker, marker_text
from tests.runtime.crash_support import (
    SIM_START,
    Setup,
    expected_steps,
    notes_by_key,
    stop,
    us,
)

NOON = SIM_START + timedelta(hours=6)


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


class ScriptedFaults(FaultPlan):
    """A fault plan that injects the faults a test lists, in order, then none."""

    def __init__(self, *script: str | None) -> None:
        super().__init__(rate=0.0)
        self.script = list(script)

    def draw(self, *, write: bool) -> str | None:
        return self.script.pop(0) if self.script else None


def psa() -> SimulatedPsa:
    settings = {"seed": 7, "tickets_per_day": 400, "start": SIM_START.isoformat()}
    return SimulatedPsa(SimulatorConfig.from_settings("sim", settings, default_start=SIM_START))


@asynccontextmanager
async def connected(
    server: SimulatorServer, clock: FixedClock
) -> AsyncIterator[SimulatorHttpConnector]:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(server)))
    settings = SimulatorHttpSettings(name="sim", base_url="http://127.0.0.1:9", max_attempts=3)

    async def no_wait(_: float) -> None:
        return None

    connector = SimulatorHttpConnector(settings, clock, client=client, sleep=no_wait)
    try:
        yield connector
    finally:
        await client.aclose()


pytestmark = pytest.mark.anyio


async def test_polling_over_http_shows_the_tickets_the_simulator_holds() -> None:
    clock = FixedClock(NOON)
    server = SimulatorServer(psa(), clock)
    async with connected(server, clock) as connector:
        pages = [page async for page in connector.fetch_changed(None)]
    polled = {ticket.id: ticket for page in pages for ticket in page.tickets}
    held = {ticket.id: ticket for ticket in server.psa.tickets(NOON)}
    assert polled.keys() == held.keys() and len(held) > 20
    assert all(polled[key].to_json() == held[key].to_json() for key in held)
    assert pages[-1].cursor is not None and pages[-1].cursor.startswith("sim1:")


async def test_written_note_and_tag_show_on_the_reread_ticket_and_in_the_write_log(
    tmp_path: Path,
) -> None:
    clock = FixedClock(NOON)
    log = tmp_path / "writes.jsonl"
    server = SimulatorServer(psa(), clock, write_log=log)
    ticket = server.psa.tickets(NOON)[0]
    key = f"sim:{ticket.id}:team-lead:1"
    async with connected(server, clock) as connector:
        await connector.assign(ticket, "terry@msp.example")
        await connector.add_internal_note(ticket, f"escalated\n{marker_text(key)}")
        await connector.add_tag(ticket, "sla-team-lead-c1")
        reread = await connector.fetch_ticket(ticket.id)
    assert has_marker(reread, key, "no-such-tag")
    assert "sla-team-lead-c1" in reread.tags
    assert any(e.type == "assignee" and e.to == "terry@msp.example" for e in reread.events)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["action"] for line in lines] == ["assign", "add_internal_note", "add_tag"]
    assert {line["ticket_id"] for line in lines} == {ticket.id}


async def test_restarted_server_replays_its_write_log(tmp_path: Path) -> None:
    clock = FixedClock(NOON)
    log = tmp_path / "writes.jsonl"
    first = SimulatorServer(psa(), clock, write_log=log)
    ticket_id = first.psa.tickets(NOON)[3].id
    first.write(ticket_id, "add_internal_note", "[sla-connector k]")
    first.close()
    with log.open("a") as torn:
        torn.write('{"seq": 2, "ticket_')  # a crash mid-line must not stop the replay
    second = SimulatorServer(psa(), clock, write_log=log)
    assert second.psa.ticket(ticket_id, NOON).notes == ("[sla-connector k]",)
    assert len(second.psa.writes) == 1
    second.close()


async def test_write_delay_holds_the_answer_after_the_write_is_applied_and_logged(
    tmp_path: Path,
) -> None:
    """The crash test kills the daemon in this gap: the PSA has the write, the daemon not."""
    clock = FixedClock(NOON)
    log = tmp_path / "writes.jsonl"
    server = SimulatorServer(psa(), clock, write_log=log, write_delay=0.3)
    ticket = server.psa.tickets(NOON)[0]
    async with connected(server, clock) as connector:
        write = asyncio.ensure_future(connector.add_tag(ticket, "sla-held"))
        for _ in range(100):
            if log.exists() and log.read_text():
                break
            await asyncio.sleep(0.01)
        assert "sla-held" in log.read_text(), "the write was not applied before the answer"
        assert not write.done(), "the answer came without the delay"
        await asyncio.wait_for(write, timeout=5)
        reads = asyncio.ensure_future(connector.fetch_ticket(ticket.id))
        await asyncio.wait_for(reads, timeout=0.25)  # reads are not held
    assert "sla-held" in reads.result().tags


async def test_write_applied_before_a_truncated_answer_is_ambiguous_not_repeated() -> None:
    clock = FixedClock(NOON)
    server = SimulatorServer(psa(), clock, faults=ScriptedFaults("truncated"))
    ticket = server.psa.tickets(NOON)[0]
    async with connected(server, clock) as connector:
        with pytest.raises(AmbiguousWriteError):
            await connector.add_internal_note(ticket, "once")
    assert [write.action for write in server.psa.writes] == ["add_internal_note"]


async def test_write_refused_with_429_is_retried_and_lands_once() -> None:
    clock = FixedClock(NOON)
    server = SimulatorServer(psa(), clock, faults=ScriptedFaults("rate_limited", "rate_limited"))
    ticket = server.psa.tickets(NOON)[0]
    async with connected(server, clock) as connector:
        result = await connector.add_tag(ticket, "sla-x-c1")
    assert result.ok
    assert len(server.psa.writes) == 1


async def test_write_answered_500_is_ambiguous_and_was_not_applied() -> None:
    clock = FixedClock(NOON)
    server = SimulatorServer(psa(), clock, faults=ScriptedFaults("server_error"))
    ticket = server.psa.tickets(NOON)[0]
    async with connected(server, clock) as connector:
        with pytest.raises(AmbiguousWriteError):
            await connector.assign(ticket, "sam@msp.example")
    assert server.psa.writes == ()


async def test_truncated_and_failed_reads_are_read_again() -> None:
    clock = FixedClock(NOON)
    faults = ScriptedFaults("truncated", "server_error", "rate_limited", "truncated")
    server = SimulatorServer(psa(), clock, faults=faults)
    ticket_id = server.psa.tickets(NOON)[0].id
    async with connected(server, clock) as connector:
        ticket = await connector.fetch_ticket(ticket_id)
    assert ticket.id == ticket_id
    assert faults.script == []


async def test_reads_failing_past_the_attempts_raise_a_retriable_error() -> None:
    clock = FixedClock(NOON)
    server = SimulatorServer(psa(), clock, faults=ScriptedFaults(*["rate_limited"] * 3))
    async with connected(server, clock) as connector:
        with pytest.raises(RateLimitedError):
            await connector.fetch_ticket(server.psa.tickets(NOON)[0].id)
    server = SimulatorServer(psa(), clock, faults=ScriptedFaults(*["server_error"] * 3))
    async with connected(server, clock) as connector:
        with pytest.raises(ServerError):
            await connector.fetch_ticket(server.psa.tickets(NOON)[0].id)


def test_fault_plan_injects_about_its_rate_of_every_kind() -> None:
    plan = FaultPlan(0.3, seed=1)
    drawn = [plan.draw(write=n % 2 == 0) for n in range(4000)]
    injected = [fault for fault in drawn if fault is not None]
    assert 0.25 < len(injected) / len(drawn) < 0.35
    assert set(injected) == set(READ_FAULTS) | set(WRITE_FAULTS)


# -- issue 4 acceptance: the fault test ---------------------------------------------------

SPEED = 1200.0  # a simulated day in 72 s
CLIENT_TIMEOUT = 0.25  # real seconds (5 virtual minutes); held-back answers wait 0.75 s


@pytest.mark.slow
def test_psa_failing_30_percent_of_requests_for_a_day_delivers_every_escalation_once(
    tmp_path: Path,
) -> None:
    setup = Setup.create(tmp_path, speed=SPEED, timeout=CLIENT_TIMEOUT, retry_backoff="5s")
    end = SIM_START + timedelta(days=1)
    with setup.server(faults=0.3, seed=4, delay=3 * CLIENT_TIMEOUT):
        daemon = setup.spawn()
        try:
            assert daemon.wait_started(timeout=60) is not None, daemon.log.read_text()[-3000:]
            setup.wait_until(end, daemon=daemon)
            left = setup.drain(end, daemon, timeout=45)
            assert not left, f"{left} steps due by the end of the day still wait"
            before = setup.now()
            code = stop(daemon.process, signal.SIGTERM, 10)
            after = setup.now()
        finally:
            stop(daemon.process, signal.SIGKILL, 10)
        faults = httpx.get(setup.sim_url("now"), timeout=10).json()["faults"]
        tickets = setup.server_tickets()

    assert code == 0, "SIGTERM must end the daemon with exit 0 within 10 s"
    assert set(faults) == set(READ_FAULTS) | set(WRITE_FAULTS), faults
    lines = daemon.lines()
    stopping = next(i for i, e in enumerate(lines) if e.get("msg") == "stopping")
    crashes = [e for e in lines[:stopping] if e.get("level") in ("error", "critical")]
    assert not crashes, f"jobs failed while the PSA misbehaved: {crashes[:3]}"

    not_before = setup.installed_at() - 3600 * 1_000_000
    required = {
        key
        for key, due in expected_steps(tickets, setup.policy, before, not_before).items()
        if due <= us(end)
    }
    allowed = expected_steps(tickets, setup.policy, after, not_before)
    ledger = {row.key: row for row in setup.ledger()}
    done = {key for key, row in ledger.items() if row.state == "done"}
    notes = notes_by_key(setup.writes())
    assert len(required) > 40, "a simulated day should escalate plenty"
    assert required <= done, f"lost: {sorted(required - done)[:5]}"
    assert done <= set(allowed), f"fired but never due: {sorted(done - set(allowed))[:5]}"
    twice = {key: len(texts) for key, texts in notes.items() if len(texts) > 1}
    assert not twice, f"escalation notes written more than once: {twice}"
    assert set(notes) == done, (
        f"done without a note: {sorted(done - set(notes))[:5]}, "
        f"note without done: {sorted(set(notes) - done)[:5]}"
    )
    states = Counter(row.state for row in ledger.values())
    assert states["failed"] == 0, [r.detail for r in ledger.values() if r.state == "failed"][:3]
    assert states["firing"] == 0, "SIGTERM must let in-flight writes finish"
