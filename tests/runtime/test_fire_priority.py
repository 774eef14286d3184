"""The priority a due step's PSA requests carry (issue 10): a breach's before an at-risk's.

When the PSA's budget is short, the rate limiter lets requests go in priority order
(``core.ports.PRIORITIES``). An at-risk notice is a warning ahead of a breach, whose
steps are the commitment, so its verify read goes after any breach step's; a ticket with a
breach due as well is read at the breach's priority (its steps share the one read).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from sla_connector.core.ports import URGENT, WARNING, request_priority
from sla_connector.core.ticket import Ticket
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
