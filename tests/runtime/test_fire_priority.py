"""The priority a due step's PSA requests carry (issue 10): a breach's before an at-risk's.

When the PSA's budget is short, the rate limiter lets requests go in priority order
(``core.ports.PRIORITIES``). An at-risk notice is a warning ahead of a breach, whose
steps are the commitment, so its verify read goes after any breach step's; a ticket with a
breach due as well is read at the breach's priority (its steps share the one read).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from sla_connector.core.ports import (
    URGENT,
    WARNING,
    CheckResult,
    PollPage,
    WriteResult,
    request_priority,
)
from sla_connector.core.ticket import Ticket, parse_ticket
from sla_connector.runtime.clocks import ManualClock
from sla_connector.runtime.daemon import Daemon, DaemonSettings
from sla_connector.runtime.timeline import VirtualTimeline
from sla_connector.settings import config_from_mapping
from sla_connector.store import Store

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
START = datetime.fromisoformat("2026-11-02T09:00:00+00:00")  # Monday, London = UTC


def _ticket(ticket_id: str, created: datetime) -> Ticket:
    return parse_ticket(
        {
            "id": ticket_id,
            "source": "sim",
            "client": "globex",
            "subject": "VPN slow",
            "created_at": created.isoformat(),
        }
    )


@dataclass
class RecordingPsa:
    """P2 tickets never answered; each verify read notes the priority it was made at."""

    clock: ManualClock
    name: str = "sim"
    read_at: dict[str, str] = field(default_factory=dict)

    def tickets(self) -> tuple[Ticket, ...]:
        # At 11:40: "A" (11:00) has its at-risk step due (11:30) and its breach not yet
        # (12:00); "B" (09:00) has both due (09:30, 10:00).
        return (_ticket("A", START + timedelta(hours=2)), _ticket("B", START))

    async def fetch_changed(self, since_cursor: str | None) -> AsyncIterator[PollPage]:
        yield PollPage(self.tickets(), cursor=self.clock.now().isoformat())

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        self.read_at.setdefault(ticket_id, request_priority.get())
        return next(t for t in self.tickets() if t.id == ticket_id)

    async def apply(self, ticket: Ticket, actions: list[tuple[str, str]]) -> WriteResult:
        return WriteResult(True, "written")

    async def assign(self, ticket: Ticket, person_or_group: str) -> WriteResult:
        raise AssertionError("apply is used")

    set_priority = add_internal_note = add_tag = assign  # type: ignore[assignment]

    async def check(self) -> CheckResult:
        return CheckResult(True, "ok")

    async def aclose(self) -> None:
        return None


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
    clock = ManualClock(START + timedelta(hours=2, minutes=40))
    psa = RecordingPsa(clock)
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    timeline = VirtualTimeline(clock)
    settings = DaemonSettings(
        poll_intervals={"sim": timedelta(hours=4)},
        reconcile_intervals={"sim": timedelta(days=1)},
        owner="test",
        backfill=timedelta(hours=6),
    )
    daemon = Daemon(
        policy=_policy(),
        store=store,
        connectors={"sim": psa},
        clock=clock,  # type: ignore[dict-item]
        timeline=timeline,
        settings=settings,
    )
    await daemon.start()
    await timeline.run_until(clock.now() + timedelta(minutes=1))
    fired = sorted(
        (e.payload["ticket"], e.payload["step"], e.payload["state"])
        for e in store.evidence()
        if e.kind == "escalation"
    )
    assert fired == [("A", "watch", "done"), ("B", "lead", "done"), ("B", "watch", "done")]
    assert psa.read_at == {"A": WARNING, "B": URGENT}
    await daemon.stop()
    store.close()
