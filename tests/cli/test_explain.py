"""``sla-connector explain`` on the bundled sample."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from sla_connector.cli import main
from sla_connector.cli.common import parse_line
from sla_connector.core.calendars import to_us
from sla_connector.core.evaluate import evaluate
from sla_connector.core.ticket import Ticket
from sla_connector.runtime.planner import ticket_row
from sla_connector.settings import load_config
from sla_connector.store import WOULD_FIRE, PlannedStep, Store

ROOT = Path(__file__).resolve().parents[2]
ARGS = [
    "explain",
    "-c",
    str(ROOT / "examples/policy.yaml"),
    "--tickets",
    str(ROOT / "examples/tickets.jsonl"),
    "--now",
    "2026-11-02T00:00:00Z",
]


def test_explain_shows_tier_rule_timeline_and_escalations(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([*ARGS, "demo-p1-breach"]) == 0
    out = capsys.readouterr().out
    assert "Tier in force: P1 (Critical)" in out
    assert "rule 'outage'" in out
    assert "Resolution clock (cycle 1) — BREACHED" in out
    assert "stopped: first agent reply" in out
    assert "account-director (P1, cycle 1) -> dana@msp.example: fired" in out


def test_explain_shows_a_manual_upgrade(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "sim/demo-upgrade-p1"]) == 0
    out = capsys.readouterr().out
    assert "changed to P1 by a person in the PSA" in out


def test_explain_unknown_ticket_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "no-such-ticket"]) == 1
    assert "not found" in capsys.readouterr().err


def test_finding_2_explain_reads_the_store_when_no_tickets_file_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13 finding 2: the ticket as last seen, its ledger in words, its evidence."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    text = (ROOT / "examples/policy.yaml").read_text()
    config = tmp_path / "config.yaml"
    config.write_text(re.sub(r"(?m)^  url: sqlite:.*$", f"  url: {url}", text))
    policy = load_config(config).policy
    raw = next(
        line
        for line in (ROOT / "examples/tickets.jsonl").read_bytes().splitlines()
        if b'"demo-p1-breach"' in line
    )
    ticket = parse_line(1, raw, policy.sources)
    assert isinstance(ticket, Ticket)
    now = datetime(2026, 11, 2, tzinfo=UTC)
    evaluation = evaluate(ticket, policy, now)
    (plan,) = evaluation.steps
    with Store.open(url) as store:
        store.upsert_tickets([ticket_row(evaluation, orjson.dumps(ticket.to_json()).decode())])
        store.plan(
            [
                PlannedStep(
                    key=plan.key, source="sim", ticket_id=ticket.id, client=ticket.client,
                    tier=plan.tier, step=plan.step.name, cycle=plan.cycle, due_at=plan.due_at,
                    recipient=plan.to, actions=plan.step.actions,
                )
            ]
        )  # fmt: skip
        store.finish(plan.key, state=WOULD_FIRE, at=plan.due_at + 2_000_000, lateness_us=2_000_000)
        store.append_evidence(
            "escalation",
            {"key": plan.key, "source": "sim", "ticket": ticket.id, "step": plan.step.name,
             "cycle": 1, "state": WOULD_FIRE},
            at=to_us(now),
        )  # fmt: skip
        store.append_evidence("escalation", {"source": "sim", "ticket": "other"}, at=to_us(now))
    argv = ["explain", "-c", str(config), "--now", "2026-11-02T00:00:00Z", "demo-p1-breach"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("As last seen in the store: updated ")
    assert "Tier in force: P1 (Critical)" in out
    assert "Ledger (what the daemon did with each step):" in out
    assert "account-director (cycle 1) -> dana@msp.example" in out
    assert "shadow mode (dry_run): recorded, nothing written" in out
    assert "2s after it fell due" in out
    assert "Evidence log (hash-chained entries about this ticket):" in out
    assert out.count("  #") == 1 and "escalation account-director (cycle 1): would_fire" in out


def test_finding_2_explain_without_a_store_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "examples/policy.yaml").read_text()
    config = tmp_path / "config.yaml"
    config.write_text(re.sub(r"(?m)^  url: sqlite:.*$", f"  url: sqlite:///{tmp_path}/s.db", text))
    assert main(["explain", "-c", str(config), "demo-p1-breach"]) == 2
    assert "no store at" in capsys.readouterr().err
    assert not (tmp_path / "s.db").exists()
