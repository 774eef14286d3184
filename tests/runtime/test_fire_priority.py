"""The priority a due step's PSA requests carry (issue 10): a breach's before an at-risk's.

When the PSA's budget is short, the rate limiter lets requests go in priority order
(``core.ports.PRIORITIES``). An at-risk notice is a warning ahead of a breach, whose
steps are the commitment, so its verify read goes after any breach step's; a ticket with a
breach due as well is read at the breach's priority (its steps share the one read).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from sla_connector.core.ports import URGENT, WARNING, WriteResult, request_priority
from sla_connector.core.ticket import Ticket, parse_ticket
from sla_connector.runtime.clocks import ManualClock
from sla_connector.settings import config_from_mapping
from tests.runtime.scripted import START, ScriptedPsa, outcomes, run_a_minute

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RecordingPsa(ScriptedPsa):
    """Each verify read notes the priority it was made at."""

    read_at: dict[str, str] = field(default_factory=dict)

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        self.read_at.setdefault(ticket_id, request_priority.get())
        return await super().fetch_ticket(ticket_id)


def _policy() -> Any:
    mapping = yaml.safe_load((ROOT / "examples" / "policy.yaml").read_text())
    mapping["escalations"]["P2"] = [
        {"name": "watch", "on": "response_at_risk", "at": "50%", "to": "team_lead",
         "actions": ["notify"]},
        {"name": "lead", "on": "response_breach", "to": "team_lead", "actions": ["note"]},
    ]  # fmt: skip
    mapping["connectors"] = {k: v for k, v in mapping["connectors"].items() if k == "sim"}
    return config_from_mapping(mapping).policy


async def test_an_at_risk_steps_read_is_a_warning_unless_a_breach_shares_it(
    tmp_path: Path,
) -> None:
    # At 11:40: "A" (11:00) has its at-risk step due (11:30) and its breach not yet
    # (12:00); "B" (09:00) has both due (09:30, 10:00).
    created = {"A": START + timedelta(hours=2), "B": START}
    psa = RecordingPsa(ManualClock(START + timedelta(hours=2, minutes=40)), created)
    store = await run_a_minute(psa, _policy(), tmp_path / "state.db")
    fired = sorted(outcomes(store))
    assert fired == [("A", "watch", "done"), ("B", "lead", "done"), ("B", "watch", "done")]
    assert psa.read_at == {"A": WARNING, "B": URGENT}
    store.close()


@dataclass
class HeldWarningsPsa(ScriptedPsa):
    """The verify reads of the tickets in ``held`` wait until a write reaches another
    ticket; "B" is an outage (P1), the others are slow VPNs (P2)."""

    held: frozenset[str] = frozenset()
    release: asyncio.Event = field(default_factory=asyncio.Event)
    written_while_held: list[str] = field(default_factory=list)

    def tickets(self) -> tuple[Ticket, ...]:
        return tuple(
            parse_ticket(
                {
                    "id": tid,
                    "source": "sim",
                    "client": "globex",
                    "subject": "Server down" if tid == "B" else "VPN slow",
                    "created_at": at.isoformat(),
                }
            )
            for tid, at in self.created.items()
        )

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        if ticket_id in self.held:
            await self.release.wait()
        return await super().fetch_ticket(ticket_id)

    async def apply(self, ticket: Ticket, actions: list[tuple[str, str]]) -> WriteResult:
        if not self.release.is_set():
            self.written_while_held.append(ticket.id)
        self.release.set()
        return await super().apply(ticket, actions)


def _policy_with_a_plain_p1() -> Any:
    mapping = yaml.safe_load((ROOT / "examples" / "policy.yaml").read_text())
    mapping["escalations"]["P1"] = [
        {"name": "director", "on": "response_breach", "to": "team_lead", "actions": ["note"]},
    ]  # fmt: skip
    mapping["escalations"]["P2"] = [
        {"name": "watch", "on": "response_at_risk", "at": "50%", "to": "team_lead",
         "actions": ["notify"]},
    ]  # fmt: skip
    mapping["connectors"] = {k: v for k, v in mapping["connectors"].items() if k == "sim"}
    return config_from_mapping(mapping).policy


async def test_at_risk_steps_waiting_on_the_psa_leave_slots_for_a_breach(tmp_path: Path) -> None:
    # At 11:40, two P2 tickets (11:05) have their at-risk step due at 11:35, and their
    # verify reads hang; the P1 "B" (11:22) breaches at 11:37. With every slot held by the
    # warnings, the breach waited for them (issue 10, the 50-kill soak: eight at-risk steps
    # waiting for the budget held all eight slots and a due breach was never started).
    at = START + timedelta(hours=2, minutes=40)
    created = {
        "W1": START + timedelta(hours=2, minutes=5),
        "W2": START + timedelta(hours=2, minutes=5),
        "B": START + timedelta(hours=2, minutes=22),
    }
    psa = HeldWarningsPsa(ManualClock(at), created, held=frozenset({"W1", "W2"}))
    policy, db = _policy_with_a_plain_p1(), tmp_path / "state.db"
    # Bounded: with the breach behind the held warnings, nothing would ever release them.
    store = await asyncio.wait_for(run_a_minute(psa, policy, db, concurrency=2), 30)
    assert psa.written_while_held == ["B"], "the breach waited for the at-risk steps' slots"
    assert sorted(outcomes(store)) == [
        ("B", "director", "done"),
        ("W1", "watch", "done"),
        ("W2", "watch", "done"),
    ]
    store.close()
