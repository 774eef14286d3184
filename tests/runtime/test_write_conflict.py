"""Writes that respect people (issue 12 item 6, runtime side): a 409 is re-read, re-verified
and written once more; a second 409 fails the step with the reason.

The scripted PSA answers ``apply`` with ``WriteConflictError`` (what every connector raises
on a 409, Zendesk's ``safe_update`` among them) as many times as a test says, optionally
with a person's change landing at the same moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sla_connector.core.errors import WriteConflictError
from sla_connector.core.ports import WriteResult
from sla_connector.core.ticket import Ticket
from sla_connector.runtime.clocks import ManualClock
from tests.runtime.test_escalator import KEY, ScriptedPsa, _daemon, at

pytestmark = pytest.mark.anyio


@dataclass
class ConflictPsa(ScriptedPsa):
    """Answers the first ``conflicts`` writes with a 409; ``meanwhile`` lands with the first."""

    conflicts: int = 0
    meanwhile: list[dict[str, Any]] = field(default_factory=list)
    seen: list[tuple[str, ...]] = field(default_factory=list)  # event types each write saw

    async def apply(self, ticket: Ticket, actions: list[tuple[str, str]]) -> WriteResult:
        self.seen.append(tuple(e.type for e in ticket.events))
        if self.conflicts > 0:
            self.conflicts -= 1
            self.events.extend(self.meanwhile)
            self.meanwhile = []
            raise WriteConflictError(f"ticket {ticket.id}: 409 Conflict", ticket_id=ticket.id)
        return await super().apply(ticket, actions)


def _row(store: Any) -> Any:
    return next(row for row in store.ledger() if row.key == KEY)


async def test_one_conflict_re_reads_re_verifies_and_writes_once_more(tmp_path: Path) -> None:
    # P2: the senior-engineer step is due at 12:00; the first write meets a 409.
    clock = ManualClock(at(0))
    psa = ConflictPsa(clock, [], conflicts=1)
    daemon, timeline, store = await _daemon(tmp_path, psa, clock)
    await timeline.run_until(at(3 * 60 + 1))
    row = _row(store)
    assert row.state == "done" and row.attempts == 1  # within the one attempt
    assert psa.fetches == 2  # re-read before the first write, and again after the 409
    assert [a for a, _ in psa.writes].count("note") == 1
    await daemon.stop()


async def test_a_conflict_from_a_persons_change_is_re_verified_not_overwritten(
    tmp_path: Path,
) -> None:
    # The 409 came from an agent solving the ticket at 11:59:30: re-verified, the step falls
    # inside the resolution (S18) and is cancelled; nothing is written over the change.
    clock = ManualClock(at(0))
    solved = {"at": at(3 * 60 - 0.5).isoformat(), "type": "status", "to": "solved"}
    psa = ConflictPsa(clock, [], conflicts=1, meanwhile=[solved])
    daemon, timeline, store = await _daemon(tmp_path, psa, clock)
    await timeline.run_until(at(3 * 60 + 1))
    assert psa.writes == []
    assert len(psa.seen) == 1  # the one write that met the 409
    assert _row(store).state == "cancelled"
    await daemon.stop()


async def test_a_second_conflict_fails_the_step_with_the_reason_for_good(tmp_path: Path) -> None:
    clock = ManualClock(at(0))
    psa = ConflictPsa(clock, [], conflicts=5)
    daemon, timeline, store = await _daemon(tmp_path, psa, clock)
    await timeline.run_until(at(5 * 60))
    row = _row(store)
    assert row.state == "failed" and row.attempts == 1
    assert row.detail.startswith("write conflict twice")
    assert "409 Conflict" in row.detail
    assert len(psa.seen) == 2 and psa.writes == []  # written twice, never a third time
    evidence = [e.payload for e in store.evidence() if e.kind == "escalation"]
    assert evidence[-1]["state"] == "failed"
    await daemon.stop()
