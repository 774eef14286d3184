"""The README's first command, ``make demo``, reaches its first escalation and stops on Ctrl-C.

(The second, ``make test``, is what ``.ci/run`` runs.)
"""

from __future__ import annotations

import os
import re
import selectors
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from sla_connector.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
PROGRESS = re.compile(r"UTC: (\d+) tickets, (\d+) escalations fired")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_reaches_its_first_escalation_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    args = f"--port {_free_port()} --out {tmp_path / 'demo-output'}"
    process = subprocess.Popen(
        ["make", "--no-print-directory", "demo", f"DEMO_ARGS={args}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    output: list[str] = []
    fired = 0
    deadline = time.monotonic() + 240
    try:
        while fired == 0 and time.monotonic() < deadline and process.poll() is None:
            if selector.select(timeout=1):
                line = process.stdout.readline()
                output.append(line)
                match = PROGRESS.search(line)
                if match:
                    fired = int(match.group(2))
        assert fired > 0, "".join(output)
        os.killpg(process.pid, signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    text = "".join(output) + rest
    assert "dashboard: http://127.0.0.1:" in text
    assert "Demo interrupted" in text, text[-2000:]
    assert re.search(r"Report: \S+weekly-\d{4}-\d{2}-\d{2}\.html", text)


def _readme_commands() -> list[list[str]]:
    """Every ``.venv/bin/sla-connector ...`` command in the README: code blocks (with their
    ``\\`` continuations) and inline code."""
    text = (ROOT / "README.md").read_text()
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        commands += [line for line in joined.splitlines() if "sla-connector " in line]
    commands += re.findall(r"`(\.venv/bin/sla-connector [^`]+)`", text)
    found = [shlex.split(line.split("#")[0]) for line in commands]
    return [argv for argv in found if argv]


def test_finding_8_readme_commands_work_as_written_from_a_fresh_clone(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13 finding 8: no bare ``sla-connector`` (not on PATH without activating the
    venv), every command parses, every file it names exists, and those that need no PSA run."""
    text = (ROOT / "README.md").read_text()
    assert not re.search(r"(?<![/\w-])sla-connector (run|check|init|audit|explain|demo)\b", text)
    commands = _readme_commands()
    assert len(commands) >= 8
    parser = build_parser()
    monkeypatch.chdir(ROOT)
    ran = 0
    for argv in commands:
        assert argv[0] == ".venv/bin/sla-connector", argv
        args = parser.parse_args(argv[1:])  # exits (fails the test) on an unknown option
        named = [a for a in argv[1:] if a.startswith(("examples/", "config.example"))]
        assert all((ROOT / path).exists() for path in named), argv
        if args.command in ("audit", "explain") and "config.yaml" not in argv:
            assert main([*argv[1:], "--no-store"] if args.command == "audit" else argv[1:]) == 0
            ran += 1
    capsys.readouterr()
    assert ran >= 3
