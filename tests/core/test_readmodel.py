"""The read model shared by the dashboard and the reports (core/readmodel.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sla_connector.core.calendars import to_us
from sla_connector.core.evaluate import evaluate
from sla_connector.core.ledger import LedgerRow
from sla_connector.core.readmodel import Breach, breach_lines
from sla_connector.core.ticket import parse_ticket
from sla_connector.core.vocabulary import Vocabulary
from tests.reporting.conftest import make_config

START = datetime(2026, 10, 5, 9, tzinfo=UTC)
STAMP = "%Y-%m-%dT%H:%M:%SZ"


def _ticket(number: str, solved: bool) -> object:
    events = [{"at": (START + timedelta(hours=2)).strftime(STAMP), "type": "public_reply",
               "by": "agent"}]  # fmt: skip
    if solved:
        events.append({"at": (START + timedelta(hours=3)).strftime(STAMP), "type": "status",
                       "to": "solved"})  # fmt: skip
    return parse_ticket(
        {"id": number, "source": "sim", "client": "acme", "subject": "VPN down",
         "source_priority": "normal", "created_at": START.strftime(STAMP), "events": events}
    )  # fmt: skip


def test_a_closed_ticket_never_shows_a_step_as_planned(tmp_path: Path) -> None:
    policy = make_config(tmp_path).policy
    now = START + timedelta(days=1)
    breaches, ledger = [], []
    for number, solved in (("1", True), ("2", False)):
        ticket = _ticket(number, solved)
        ev = evaluate(ticket, policy, now)  # type: ignore[arg-type]
        breaches.append(Breach(ev.ticket, ev.response, still_open=not solved))
        for step, state in (("senior-engineer", "planned"), ("other", "done")):
            ledger.append(
                LedgerRow(f"sim:{number}:{step}:1", "sim", number, "acme", "P2", step, 1,
                          to_us(START + timedelta(hours=3)), "sam@msp.example", state)
            )  # fmt: skip
    lines = {b.ticket_id: b for b in breach_lines(policy, breaches, ledger, Vocabulary())}
    assert [e.state for e in lines["1"].escalations] == ["done"]  # closed: the plan is moot
    assert sorted(e.state for e in lines["2"].escalations) == ["done", "planned"]
