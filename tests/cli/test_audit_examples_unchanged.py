"""Issue 9's acceptance: ``audit`` on ``examples/`` is what it was before the restructuring.

The expected outputs were written by the code at commit ``e581a08``, before the connectors
became a package per PSA and the composition root, the vocabulary and the read models were
made single (tests/fixtures/reference/README.md). A change that moves a figure, a ticket's
outcome or a column fails here; a deliberate change of a figure updates the fixture in the
same commit and says why in CHANGELOG.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sla_connector.cli import main

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "fixtures" / "reference"
ARGS = [
    "audit",
    "-c",
    str(ROOT / "examples" / "policy.yaml"),
    "--tickets",
    str(ROOT / "examples" / "tickets.jsonl"),
    "--now",
    "2026-11-15T00:00:00Z",
    "--no-store",
    "--jobs",
    "1",
]


def _audit(capsys: pytest.CaptureFixture[str], fmt: str) -> str:
    code = main([*ARGS, "--format", fmt])
    out = capsys.readouterr().out
    assert code in (0, 1), out  # 1: findings (breaches), as the examples have
    return out


def test_audit_json_on_the_examples_is_unchanged_since_before_issue_9(
    capsys: pytest.CaptureFixture[str],
) -> None:
    expected = json.loads((REFERENCE / "audit-examples-before-issue-9.json").read_text())
    actual = json.loads(_audit(capsys, "json"))
    assert sum(row["met"] + row["breached"] for row in actual["adherence"]) > 1000
    assert actual == expected


def test_audit_csv_on_the_examples_is_unchanged_since_before_issue_9(
    capsys: pytest.CaptureFixture[str],
) -> None:
    expected = (REFERENCE / "audit-examples-before-issue-9.csv").read_text()
    assert _audit(capsys, "csv") == expected
