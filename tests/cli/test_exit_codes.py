"""Findings 4, 5 and 6 of issue 13: one exit-code table, no traceback for an expected
condition, fail fast on unreadable input, never create a store to verify it, and no
restart loop on a configuration error."""

from __future__ import annotations

import configparser
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sla_connector.cli import audit, main
from sla_connector.cli.common import EXIT_CODES, ExitCode
from sla_connector.settings import parse_yaml
from tests.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("sla-connector"))
POLICY = ROOT / "examples" / "policy.yaml"
TICKETS = ROOT / "examples" / "tickets.jsonl"


def _cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command as a process, bounded: a hang fails the test instead of stalling it."""
    return subprocess.run(
        [CLI, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _sim_config(tmp_path: Path, port: int, **extra: object) -> Path:
    data = parse_yaml(POLICY.read_text())
    data["connectors"] = {"sim": data["connectors"]["sim"]}
    data["store"] = {"url": f"sqlite:///{tmp_path / 'state.db'}"}
    data["dashboard"] = {"bind": "127.0.0.1", "port": port}
    data.pop("reports", None)
    data.pop("notify", None)
    data.update(extra)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def busy_port() -> Iterator[int]:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


def test_the_exit_code_table_is_the_one_definition_and_is_documented() -> None:
    assert [code for code, _, _ in EXIT_CODES] == list(ExitCode)
    assert [int(code) for code in ExitCode] == [0, 1, 2, 3, 130]
    text = (ROOT / "docs" / "cli.md").read_text()
    section = text[text.index("## Exit codes") :]
    for code, kind, _ in EXIT_CODES:
        assert f"| {int(code)} | {kind} |" in section


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_finding_4_audit_of_a_missing_file_fails_fast_with_no_output(jobs: str) -> None:
    result = _cli(
        "audit", "-c", str(POLICY), "--tickets", "/nonexistent.jsonl", "--jobs", jobs, "--no-store"
    )
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "sla-connector: configuration error: --tickets: cannot read /nonexistent.jsonl: "
        "No such file or directory"
    ]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_finding_4_a_failing_worker_leaves_no_partial_json(
    jobs: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = [line for line in TICKETS.read_text().splitlines() if line.strip()]
    real = audit.evaluate
    last = lines[-1]

    def failing(ticket, *args, **kwargs):  # type: ignore[no-untyped-def]
        if ticket.id in last:
            raise RuntimeError("boom")
        return real(ticket, *args, **kwargs)

    monkeypatch.setattr(audit, "evaluate", failing)
    monkeypatch.setattr(audit, "_BATCH", 1)  # the first tickets are written before the failure
    code = main(
        ["audit", "-c", str(POLICY), "--tickets", str(TICKETS), "--jobs", jobs, "--no-store"]
    )
    captured = capsys.readouterr()
    assert code == ExitCode.UNAVAILABLE
    assert captured.out == ""
    assert "audit of" in captured.err and "RuntimeError: boom" in captured.err


def test_finding_5_verify_log_refuses_a_store_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _sim_config(tmp_path, free_port())
    assert main(["verify-log", "-c", str(config)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "no store at sqlite:///" in err and "state.db" in err
    assert not (tmp_path / "state.db").exists()


def test_finding_6_a_busy_dashboard_port_stops_run_with_one_line(
    tmp_path: Path, busy_port: int
) -> None:
    result = _cli("run", "-c", str(_sim_config(tmp_path, busy_port)))
    assert result.returncode == ExitCode.UNAVAILABLE, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"sla-connector: dashboard port 127.0.0.1:{busy_port} is already in use: stop the "
        "other process or choose another port (dashboard.port)"
    ]


def test_finding_6_a_busy_dashboard_port_in_demo_is_one_line_not_a_traceback(
    tmp_path: Path, busy_port: int
) -> None:
    result = _cli(
        "demo", "--port", str(busy_port), "--days", "0.05", "--speed", "max",
        "--out", str(tmp_path / "demo"),
    )  # fmt: skip
    assert result.returncode == ExitCode.OK, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert f"dashboard: port {busy_port} is not free" in result.stdout


def test_finding_6_a_missing_secret_in_run_exits_2_naming_every_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("H13_ZD_EMAIL", "H13_ZD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    config = _sim_config(tmp_path, free_port())
    data = parse_yaml(config.read_text())
    data["connectors"]["zd"] = {
        "type": "zendesk",
        "subdomain": "mspco",
        "email_env": "H13_ZD_EMAIL",
        "token_env": "H13_ZD_TOKEN",
    }
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["run", "-c", str(config)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "connectors.zd.email_env" in err and "H13_ZD_EMAIL" in err
    assert "connectors.zd.token_env" in err and "H13_ZD_TOKEN" in err
    assert not (tmp_path / "state.db").exists()  # nothing started


def test_finding_6_systemd_does_not_restart_on_exit_2() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(ROOT / "deploy" / "systemd" / "sla-connector.service")
    assert unit["Service"]["Restart"] == "on-failure"
    assert "2" in unit["Service"]["RestartPreventExitStatus"].split()


@pytest.mark.parametrize("manifest", ["deployment.yaml", "sidecar.yaml"])
def test_finding_6_kubernetes_does_not_restart_on_exit_2(manifest: str) -> None:
    documents = yaml.safe_load_all((ROOT / "deploy" / "kubernetes" / manifest).read_text())
    found = 0
    for document in documents:
        if not document or document.get("kind") != "Deployment":
            continue
        for container in document["spec"]["template"]["spec"]["containers"]:
            if container.get("args", [None])[0] != "run":
                continue
            found += 1
            assert container["restartPolicy"] == "Never"
            (rule,) = container["restartPolicyRules"]
            assert rule["action"] == "Restart"
            assert rule["exitCodes"] == {"operator": "NotIn", "values": [2]}
    assert found == 1
