"""Verify reads shared by the steps of one ticket (runtime.ticket_reads, issue 10).

A restarted daemon with many overdue steps spends its PSA budget on verify reads; steps of
one ticket due together must cost one read, and the steps of a ticket must go one after
the other (one read, no write racing another's).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from sla_connector.core.errors import RetriableConnectorError
from sla_connector.core.ports import URGENT, WARNING, request_priority, request_sent, urgent
from sla_connector.core.ticket import Ticket
from sla_connector.runtime.clocks import ManualClock
from sla_connector.runtime.ticket_reads import TicketReads
from sla_connector.settings import config_from_mapping
from tests.runtime.scripted import START, ScriptedPsa, outcomes, run_a_minute
from tests.runtime.scripted import open_ticket as _ticket

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


class Fetches:
    """A fetch that counts its calls and can be held or made to fail."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.error: Exception | None = None

    async def __call__(self, ticket_id: str) -> Ticket:
        self.calls.append(ticket_id)
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        return _ticket(ticket_id)


async def test_steps_verifying_at_once_share_the_request_in_flight() -> None:
    reads, fetch = TicketReads(ManualClock(START)), Fetches()
    fetch.gate.clear()
    first = asyncio.ensure_future(reads.read("sim", "1", fetch))
    second = asyncio.ensure_future(reads.read("sim", "1", fetch))
    other = asyncio.ensure_future(reads.read("sim", "2", fetch))
    await asyncio.sleep(0)
    fetch.gate.set()
    got = await asyncio.gather(first, second, other)
    assert [t.id for t in got] == ["1", "1", "2"]
    assert fetch.calls == ["1", "2"]
    assert reads.shared == 1


async def test_a_read_is_shared_for_a_second_after_its_answer_then_read_again() -> None:
    clock = ManualClock(START)
    reads, fetch = TicketReads(clock), Fetches()
    await reads.read("sim", "1", fetch)
    clock.advance(timedelta(seconds=1))
    await reads.read("sim", "1", fetch)
    assert fetch.calls == ["1"]
    clock.advance(timedelta(seconds=1.5))
    await reads.read("sim", "1", fetch)
    assert fetch.calls == ["1", "1"]


async def test_a_write_makes_the_next_step_read_the_ticket_afresh() -> None:
    reads, fetch = TicketReads(ManualClock(START)), Fetches()
    await reads.read("sim", "1", fetch)
    reads.forget("sim", "1")
    await reads.read("sim", "1", fetch)
    assert fetch.calls == ["1", "1"]


async def test_a_failed_read_reaches_its_waiters_and_is_not_kept() -> None:
    reads, fetch = TicketReads(ManualClock(START)), Fetches()
    fetch.gate.clear()
    fetch.error = RetriableConnectorError("PSA unreachable")
    first = asyncio.ensure_future(reads.read("sim", "1", fetch))
    second = asyncio.ensure_future(reads.read("sim", "1", fetch))
    await asyncio.sleep(0)
    fetch.gate.set()
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert all(isinstance(r, RetriableConnectorError) for r in results)
    fetch.error = None
    assert (await reads.read("sim", "1", fetch)).id == "1"
    assert fetch.calls == ["1", "1"]  # the failure was not served again


async def test_a_waiter_whose_reader_was_cancelled_reads_for_itself() -> None:
    reads, fetch = TicketReads(ManualClock(START)), Fetches()
    fetch.gate.clear()
    first = asyncio.ensure_future(reads.read("sim", "1", fetch))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(reads.read("sim", "1", fetch))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    fetch.gate.set()
    assert (await second).id == "1"
    assert first.cancelled()
    assert fetch.calls == ["1", "1"]


class ReadsMany:
    """A batch read (``core.ports.TicketBatchReader``) that records the ids of each call."""

    def __init__(self, left_out: set[str] | None = None) -> None:
        self.calls: list[list[str]] = []
        self.left_out = left_out or set()
        self.error: Exception | None = None

    async def __call__(self, ticket_ids: Sequence[str]) -> dict[str, Ticket | Exception]:
        self.calls.append(list(ticket_ids))
        await asyncio.sleep(0)
        if self.error is not None:
            raise self.error
        return {tid: _ticket(tid) for tid in ticket_ids if tid not in self.left_out}


async def test_reads_of_tickets_begun_together_go_in_one_request() -> None:
    reads, fetch, many = TicketReads(ManualClock(START)), Fetches(), ReadsMany({"3"})
    tasks = [asyncio.ensure_future(reads.read("sim", tid, fetch, many)) for tid in "123"]
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert many.calls == [["1", "2", "3"]] and fetch.calls == []
    assert [t.id for t in done[:2] if isinstance(t, Ticket)] == ["1", "2"]
    assert isinstance(done[2], RetriableConnectorError)  # left out of the answer
    assert reads.batched == 2
    # Another source, or a read begun later, is a request of its own.
    assert (await reads.read("other", "9", fetch, many)).id == "9"
    assert many.calls[-1] == ["9"]


async def test_a_failed_request_fails_every_read_in_it_and_is_not_kept() -> None:
    reads, fetch, many = TicketReads(ManualClock(START)), Fetches(), ReadsMany()
    many.error = RetriableConnectorError("503")
    tasks = [asyncio.ensure_future(reads.read("sim", tid, fetch, many)) for tid in "12"]
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(d, RetriableConnectorError) for d in done)
    many.error = None
    assert (await reads.read("sim", "1", fetch, many)).id == "1"
    assert many.calls == [["1", "2"], ["1"]]


async def test_a_gathered_request_goes_at_the_most_pressing_priority_of_its_reads() -> None:
    reads, fetch = TicketReads(ManualClock(START)), Fetches()
    seen: list[str] = []

    async def many(ticket_ids: Sequence[str]) -> dict[str, Ticket | Exception]:
        seen.append(request_priority.get())
        return {tid: _ticket(tid) for tid in ticket_ids}

    with urgent(warning=True):
        notice = asyncio.ensure_future(reads.read("sim", "1", fetch, many))
    with urgent():
        breach = asyncio.ensure_future(reads.read("sim", "2", fetch, many))
    await asyncio.gather(notice, breach)
    assert seen == [URGENT]
    with urgent(warning=True):
        await reads.read("sim", "3", fetch, many)
    assert seen == [URGENT, WARNING]


async def test_a_read_that_joined_a_cancelled_request_reads_anew() -> None:
    reads, fetch = TicketReads(ManualClock(START)), Fetches()
    held = asyncio.Event()

    async def slow(ticket_ids: Sequence[str]) -> dict[str, Ticket | Exception]:
        await held.wait()
        return {tid: _ticket(tid) for tid in ticket_ids}

    gatherer = asyncio.ensure_future(reads.read("sim", "1", fetch, slow))
    joined = asyncio.ensure_future(reads.read("sim", "2", fetch, slow))
    for _ in range(5):
        await asyncio.sleep(0)
    gatherer.cancel()  # its step shuts down
    await asyncio.sleep(0)
    held.set()
    assert (await asyncio.wait_for(joined, 5)).id == "2"
    assert gatherer.cancelled()


class BudgetedMany:
    """A batch read whose requests wait for a rate budget the test opens by hand, and say
    when they leave (``core.ports.request_sent``), as ``PsaHttp`` does."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.budget = asyncio.Event()
        self.priorities: list[str] = []

    async def __call__(self, ticket_ids: Sequence[str]) -> dict[str, Ticket | Exception]:
        self.calls.append(list(ticket_ids))
        self.priorities.append(request_priority.get())
        await self.budget.wait()
        sent = request_sent.get()
        assert sent is not None, "a gathered request carries the hook"
        sent()
        await asyncio.sleep(0)
        return {tid: _ticket(tid) for tid in ticket_ids}


async def _turns(n: int = 10) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_reads_begun_while_a_request_waits_for_the_budget_go_in_the_next_one() -> None:
    # Steps falling due one after another while the budget is spent: one request for all
    # of them once the first leaves, not one request (and one slot) each.
    reads, fetch, many = TicketReads(ManualClock(START)), Fetches(), BudgetedMany()
    first = asyncio.ensure_future(reads.read("sim", "1", fetch, many))
    await _turns()
    later = []
    for tid in "234":
        later.append(asyncio.ensure_future(reads.read("sim", tid, fetch, many)))
        await _turns()  # each begins turns after the one before: no gathering by turns
    assert many.calls == [["1"]], "a read went while the one before waited for the budget"
    many.budget.set()
    done = await asyncio.wait_for(asyncio.gather(first, *later), 5)
    assert [t.id for t in done] == ["1", "2", "3", "4"]
    assert many.calls == [["1"], ["2", "3", "4"]]
    # Once nothing waits for the budget, a read goes at once, alone.
    assert (await asyncio.wait_for(reads.read("sim", "5", fetch, many), 5)).id == "5"
    assert many.calls[-1] == ["5"]


async def test_a_breach_read_does_not_wait_behind_an_at_risk_request_waiting_for_the_budget() -> (
    None
):
    reads, fetch, many = TicketReads(ManualClock(START)), Fetches(), BudgetedMany()
    with urgent(warning=True):
        notice = asyncio.ensure_future(reads.read("sim", "1", fetch, many))
    await _turns()
    with urgent(warning=True):
        other_notice = asyncio.ensure_future(reads.read("sim", "2", fetch, many))
    await _turns()
    assert many.calls == [["1"]]  # the second at-risk read waits, gathering
    with urgent():
        breach = asyncio.ensure_future(reads.read("sim", "3", fetch, many))
    await _turns()
    # The breach joined the gathering request, which now goes at the breach's priority
    # without waiting for the at-risk request ahead of it.
    assert many.calls == [["1"], ["2", "3"]]
    assert many.priorities == [WARNING, URGENT]
    many.budget.set()
    await asyncio.wait_for(asyncio.gather(notice, other_notice, breach), 5)


# -- in the daemon ----------------------------------------------------------------------


def _two_tickets(clock: ManualClock) -> ScriptedPsa:
    """Two P2 tickets created five minutes apart, never answered."""
    return ScriptedPsa(clock, {"A": START, "B": START + timedelta(minutes=5)})


def _policy() -> Any:
    mapping = yaml.safe_load((ROOT / "examples" / "policy.yaml").read_text())
    mapping["escalations"]["P2"] = [
        {"name": "heads-up", "on": "breach", "after": "1h", "to": "team_lead",
         "actions": ["notify"]},
        {"name": "senior-engineer", "on": "breach", "after": "2h", "to": "senior_engineer",
         "actions": ["reassign", "note", "tag", "notify"]},
    ]  # fmt: skip
    mapping["connectors"] = {k: v for k, v in mapping["connectors"].items() if k == "sim"}
    return config_from_mapping(mapping).policy


async def test_a_tickets_due_steps_go_together_on_one_verify_read(tmp_path: Path) -> None:
    # The daemon first starts at 12:30: the response clocks breached at 10:00 and 10:05,
    # so each ticket has a notify-only step (11:00, 11:05) and a write (12:00, 12:05) due.
    # Fired by due instant alone the order would be A, B, A, B; one slot at a time, each
    # ticket's steps go together, and each ticket is read once for its two steps.
    psa = _two_tickets(ManualClock(START + timedelta(hours=3, minutes=30)))
    store = await run_a_minute(psa, _policy(), tmp_path / "state.db", concurrency=1)
    assert outcomes(store) == [
        ("A", "heads-up", "done"),
        ("A", "senior-engineer", "done"),
        ("B", "heads-up", "done"),
        ("B", "senior-engineer", "done"),
    ]
    assert psa.written == ["A", "B"]
    assert psa.fetched == ["A", "B"]
    store.close()


@dataclass
class ReadsTogether(ScriptedPsa):
    """Reads several tickets in one request (``core.ports.TicketBatchReader``)."""

    read_together: list[list[str]] = field(default_factory=list)

    async def fetch_tickets(self, ticket_ids: Sequence[str]) -> dict[str, Ticket | Exception]:
        self.read_together.append(list(ticket_ids))
        return {t.id: t for t in self.tickets() if t.id in ticket_ids}


async def test_a_restart_verifies_the_due_steps_of_several_tickets_in_one_read(
    tmp_path: Path,
) -> None:
    # At 12:30 each ticket has two steps due; the three tickets are read in one request.
    created = {"A": START, "B": START + timedelta(minutes=5), "C": START + timedelta(minutes=10)}
    psa = ReadsTogether(ManualClock(START + timedelta(hours=3, minutes=30)), created)
    store = await run_a_minute(psa, _policy(), tmp_path / "state.db")
    done = sorted((t, step) for t, step, state in outcomes(store) if state == "done")
    assert done == [(t, s) for t in "ABC" for s in ("heads-up", "senior-engineer")]
    assert psa.read_together == [["A", "B", "C"]]
    assert psa.fetched == []
    assert psa.written == ["A", "B", "C"]
    store.close()
