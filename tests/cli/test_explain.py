"""``sla-connector explain`` on the bundled sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from sla_connector.cli import main

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
