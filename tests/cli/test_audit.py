"""``sla-connector audit`` end to end through ``main`` (DESIGN section 8, SEMANTICS S24-S25)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sla_connector.cli import main

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "examples" / "policy.yaml"
NOW = "2026-11-03T12:00:00Z"

TICKETS = [
    {
        "id": "1",
        "source": "sim",
        "client": "globex",
        "subject": "Printer jam",
        "created_at": "2026-11-02T09:00:00Z",
        "events": [
            {"at": "2026-11-02T09:30:00.5Z", "type": "public_reply", "by": "agent"},
            {"at": "2026-11-02T10:00:00Z", "type": "status", "to": "pending"},
        ],
    },
    {
        "id": "2",
        "source": "sim",
        "client": "globex",
        "subject": "Email server down for all staff",
        "created_at": "2026-11-02T09:00:00Z",
        "events": [{"at": "2026-11-02T14:00:00Z", "type": "status", "to": "solved"}],
    },
]


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "tickets.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _audit(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> tuple[int, str, str]:
    code = main(["audit", "-c", str(POLICY), "--tickets", str(path), "--now", NOW, *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_output_has_exactly_the_design_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _audit(capsys, _write(tmp_path, [json.dumps(t) for t in TICKETS]))
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"tickets", "adherence"}
    first, second = data["tickets"]
    assert set(first) == {
        "id",
        "source",
        "client",
        "tier",
        "rule",
        "response",
        "resolution",
        "escalations",
    }
    assert set(first["response"]) == {
        "target_seconds",
        "due_at",
        "stopped_at",
        "breached_at",
        "elapsed_seconds",
        "state",
        "cycle",
    }
    assert first["resolution"]["state"] == "paused"
    assert first["resolution"]["due_at"] is None
    assert (second["tier"], second["rule"]) == ("P1", "outage")
    assert second["resolution"] == {
        "target_seconds": 14400,
        "due_at": "2026-11-02T13:00:00Z",
        "stopped_at": "2026-11-02T14:00:00Z",
        "breached_at": "2026-11-02T13:00:00Z",
        "elapsed_seconds": 18000,
        "state": "breached",
        "cycle": 1,
    }
    assert second["escalations"] == [
        {
            "step": "account-director",
            "due_at": "2026-11-02T09:45:00Z",
            "to": "dana@msp.example",
            "state": "fired",
            "cycle": 1,
        }
    ]
    rows = {(r["client"], r["tier"], r["kind"]): r for r in data["adherence"]}
    assert rows[("globex", "P1", "resolution")] == {
        "client": "globex",
        "tier": "P1",
        "kind": "resolution",
        "met": 0,
        "breached": 1,
        "adherence": 0.0,
    }
    assert rows[("globex", "P3", "resolution")]["adherence"] is None


def test_s25_seconds_are_integers_when_whole_and_times_end_in_z(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = _audit(capsys, _write(tmp_path, [json.dumps(TICKETS[0])]))
    ticket = json.loads(out)["tickets"][0]
    assert ticket["response"]["elapsed_seconds"] == 1800.5
    assert isinstance(ticket["response"]["target_seconds"], int)
    assert ticket["response"]["stopped_at"] == "2026-11-02T09:30:00.500000Z"
    assert ticket["resolution"]["elapsed_seconds"] == 3600


def test_s24_bad_lines_are_reported_with_line_numbers_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    naive = dict(TICKETS[0], id="naive", created_at="2026-11-02T09:00:00")
    unknown = dict(TICKETS[0], id="elsewhere", source="halo")
    lines = [
        json.dumps(TICKETS[0]),
        "{not json",
        json.dumps(naive),
        json.dumps(unknown),
        json.dumps(TICKETS[1]),
    ]
    code, out, err = _audit(capsys, _write(tmp_path, lines))
    assert code == 1
    assert [t["id"] for t in json.loads(out)["tickets"]] == ["1", "2"]
    assert "line 2: rejected: malformed JSON" in err
    assert "line 3: rejected: ticket naive: created_at" in err
    assert "line 4: rejected: ticket elsewhere: source 'halo' names no configured connector" in err
    assert "3 ticket line(s) rejected" in err


def test_table_and_csv_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, [json.dumps(t) for t in TICKETS])
    code, out, _ = _audit(capsys, path, "--format", "table")
    assert code == 0
    assert "Adherence" in out and "globex" in out and "0.0%" in out
    code, out, _ = _audit(capsys, path, "--format", "csv")
    lines = out.strip().splitlines()
    assert lines[0].startswith("id,source,client,tier,rule,response_state")
    assert lines[2].startswith("2,sim,globex,P1,outage,breached,2026-11-02T09:15:00Z,")
    assert "account-director@2026-11-02T09:45:00Z:fired" in lines[2]


def test_compare_policy_shows_what_if_adherence_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    relaxed = tmp_path / "relaxed.yaml"
    relaxed.write_text(
        POLICY.read_text().replace(
            "resolution: 4h, calendar: always", "resolution: 6h, calendar: always"
        )
    )
    code, out, _ = _audit(
        capsys, _write(tmp_path, [json.dumps(t) for t in TICKETS]), "--compare-policy", str(relaxed)
    )
    assert code == 0
    comparison = {(r["client"], r["tier"], r["kind"]): r for r in json.loads(out)["comparison"]}
    row = comparison[("globex", "P1", "resolution")]
    assert row["policy"]["adherence"] == 0.0
    assert row["other"]["adherence"] == 1.0
    assert row["difference"] == 1.0


def test_config_error_names_the_key_exits_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(POLICY.read_text().replace("resolution: 3bd", "resolution: 3 fortnights"))
    code = main(["audit", "-c", str(broken), "--tickets", str(_write(tmp_path, [])), "--now", NOW])
    err = capsys.readouterr().err
    assert code == 2
    assert "tiers.P3.resolution" in err
    assert "Traceback" not in err


def test_console_script_runs_as_a_subprocess(tmp_path: Path) -> None:
    path = _write(tmp_path, [json.dumps(TICKETS[1])])
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "sla-connector"),
            "audit",
            "-c",
            str(POLICY),
            "--tickets",
            str(path),
            "--now",
            NOW,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    assert data["tickets"][0]["resolution"]["state"] == "breached"


def test_bundled_sample_audits_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "audit",
            "-c",
            str(POLICY),
            "--tickets",
            str(ROOT / "examples" / "tickets.jsonl"),
            "--now",
            "2026-11-02T00:00:00Z",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert len(data["tickets"]) >= 300
    assert {r["client"] for r in data["adherence"]} == {"acme", "globex"}
