"""The README's first command, ``make demo``, reaches its first escalation and stops on Ctrl-C.

(The second, ``make test``, is what ``.ci/run`` runs.)
"""

from __future__ import annotations

import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

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
