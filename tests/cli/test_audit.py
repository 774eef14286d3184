"""``sla-connector audit`` end to end through ``main`` (DESIGN section 8, SEMANTICS S24-S25)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

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
    assert set(data) == {"tickets", "adherence", "credits"}  # credits: issue 14
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


CREDIT_FIELDS = {
    "client",
    "month",
    "objective",
    "target",
    "actual",
    "decided",
    "excluded",
    "assessed",
    "missed",
    "credit_share",
    "credit_amount",
    "currency",
    "total_before_cap",
    "cap",
    "total",
    "chronic",
}


def _bundled(capsys: pytest.CaptureFixture[str], policy: Path, *extra: str) -> dict[str, Any]:
    tickets = str(ROOT / "examples" / "tickets.jsonl")
    code = main(["audit", "-c", str(policy), "--tickets", tickets, "--now", "2026-11-02T00:00:00Z",
                 "--no-store", *extra])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out) if "--format" not in extra else {"text": out}


def test_credits_list_has_one_row_per_client_month_objective_with_the_issue_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    credits = _bundled(capsys, POLICY)["credits"]
    assert all(set(row) == CREDIT_FIELDS for row in credits)
    keys = [
        (r["client"], r["month"], r["objective"]["tier"], r["objective"]["clock"]) for r in credits
    ]
    assert len(keys) == len(set(keys))
    assert keys[:3] == [
        ("acme", "2026-10", "P1", "response"),
        ("acme", "2026-10", "all", "resolution"),
        ("acme", "2026-10", "all", "both"),
    ]
    p1, resolution, both = credits[:3]
    assert (p1["target"], p1["decided"], p1["missed"], p1["credit_share"]) == (0.95, 14, True, 0.05)
    assert (p1["credit_amount"], p1["currency"]) == ("600.00", "USD")
    assert resolution["credit_amount"] == "1094.12" and both["credit_amount"] == "600.00"
    assert (p1["total_before_cap"], p1["cap"], p1["total"]) == ("2294.12", "1800.00", "1800.00")
    assert {r["total"] for r in credits[:3]} == {"1800.00"}
    november = [r for r in credits if (r["client"], r["month"]) == ("acme", "2026-11")]
    assert [r["assessed"] for r in november] == [False, False, False]
    globex = [r for r in credits if r["client"] == "globex"]
    assert [(r["month"], r["target"], r["cap"]) for r in globex] == [
        ("2026-10", 0.8, "6500.00"),  # version 1 was in force on 1 October
        ("2026-11", 0.9, "650.00"),  # the renewal of 15 October, with its 10% cap
        ("2026-11", 0.95, "650.00"),
    ]


def test_config_without_contracts_audits_exactly_as_before_with_an_empty_credits_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = yaml.safe_load(POLICY.read_text())
    for client in document["clients"].values():
        client.pop("contract")
    bare = tmp_path / "bare.yaml"
    bare.write_text(yaml.safe_dump(document))
    with_contracts, without = _bundled(capsys, POLICY), _bundled(capsys, bare)
    assert without["credits"] == []
    assert with_contracts["tickets"] == without["tickets"]
    assert with_contracts["adherence"] == without["adherence"]
    table = _bundled(capsys, bare, "--format", "table")["text"]
    assert "Credits" not in table and "Adherence" in table


def test_table_shows_each_months_credits_and_the_capped_total(
    capsys: pytest.CaptureFixture[str],
) -> None:
    table = _bundled(capsys, POLICY, "--format", "table")["text"]
    assert "Credits: contract objectives per month" in table
    assert re.search(r"acme .*2026-10 .*P1 response .*95% .*92\.86% .*14 .*missed .*600\.00", table)
    assert re.search(
        r"acme .*2026-10 .*total \(USD\) .*15% .*capped from 2,294\.12 .*1,800\.00", table
    )
    assert re.search(r"acme .*2026-11 so far .*not assessed", table)


def test_compare_policy_shows_credits_under_both_policies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generous = tmp_path / "generous.yaml"
    generous.write_text(POLICY.read_text().replace("cap: 15%", "cap: 25%"))
    data = _bundled(capsys, POLICY, "--compare-policy", str(generous))
    mine = {(r["client"], r["month"]): r["total"] for r in data["credits"]}
    other = {(r["client"], r["month"]): r["total"] for r in data["comparison_credits"]}
    assert mine[("acme", "2026-10")] == "1800.00"
    assert other[("acme", "2026-10")] == "2294.12"
    table = _bundled(capsys, POLICY, "--compare-policy", str(generous), "--format", "table")["text"]
    assert "Credits under --compare-policy" in table
    assert re.search(r"acme .*2026-10 .*1,800\.00 USD .*2,294\.12 USD .*494\.12 USD", table)


@pytest.mark.parametrize(
    "hostile",
    ["[bold red]PWNED[/]", "[link=https://evil.example]click[/link]", "x:warning:y", "a\x1b[2Jb"],
)
def test_finding_10_table_shows_ticket_text_literally_not_as_terminal_markup(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    hostile: str,
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # wide enough that no cell wraps
    ticket = {**TICKETS[1], "id": f"T-{hostile}"}
    path = _write(tmp_path, [json.dumps(ticket)])
    code, out, err = _audit(capsys, path, "--format", "table")
    assert code == 0, err
    shown = hostile.replace("\x1b", "\ufffd")
    assert f"sim/T-{shown} " in out
    assert "\x1b" not in out and "\u26a0" not in out  # no escape reached the terminal
