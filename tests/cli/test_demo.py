"""``sla-connector demo`` end to end (issue 6 acceptance): a subprocess, its summary, its report."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_demo_three_days_at_max_speed_summary_matches_the_report(tmp_path: Path) -> None:
    port = _free_port()
    out = tmp_path / "demo-output"
    command = [
        str(Path(sys.executable).parent / "sla-connector"),
        "demo",
        "--days",
        "3",
        "--speed",
        "max",
        "--out",
        str(out),
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    answered = False
    deadline = time.monotonic() + 480  # the three clients' PDF packs take a while on 2 cores
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if not answered:
                try:
                    reply = httpx.get(f"http://127.0.0.1:{port}/api/overview", timeout=2)
                    answered = reply.status_code == 200 and "clients" in reply.json()
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        output, _ = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert answered, "the dashboard never answered while the demo ran"
    assert f"dashboard: http://127.0.0.1:{port}" in output
    report_path = Path(re.search(r"Report: (\S+\.html)", output).group(1))  # type: ignore[union-attr]
    report = json.loads(report_path.with_suffix(".json").read_text())
    for suffix in (".txt", ".csv"):
        assert report_path.with_suffix(suffix).exists()
    assert any(c["response"]["met"] + c["response"]["breached"] for c in report["clients"])
    for client in report["clients"]:
        line = re.search(rf"client {client['client']}\s+(.*)", output)
        assert line is not None, output
        for kind in ("response", "resolution", "ticket"):
            cell = client[kind]
            decided = cell["met"] + cell["breached"]
            rate = "n/a" if cell["rate"] is None else f"{cell['rate'] * 100:.1f}%"
            assert f"{kind} {rate} ({cell['met']}/{decided})" in line.group(1)
    # Each demo client's weekly report and monthly evidence pack (issue 15 item 6).
    # The last complete month (October, with seeded history), else November so far.
    packs = sorted(p.name for p in out.glob("*-monthly-*.pdf"))
    assert [name.split("-monthly-")[0] for name in packs] == [
        c["client"] for c in report["clients"]
    ]
    assert all(re.fullmatch(r".+-monthly-2026-1[01]\.pdf", name) for name in packs), packs
    assert all((out / name).read_bytes().startswith(b"%PDF-") for name in packs)
    assert len(list(out.glob("*-weekly-2026-W*.html"))) == len(report["clients"])
    summary = re.search(
        r"Demo finished: (\d+) tickets; escalations fired: (\d+) on time, (\d+) late", output
    )
    assert summary is not None, output
    assert int(summary.group(1)) > 500
    assert int(summary.group(2)) > 0
    # 12 weeks of history before the live days: the week before has content, and once
    # enforcement starts (escalated tickets picked up sooner) resolution adherence rises.
    history = re.search(r"history: (\d+) resolved tickets over the 12 weeks", output)
    assert history is not None and int(history.group(1)) > 10 * 7 * 12, output
    resolution = report["total"]["resolution"]
    assert resolution["previous_met"] + resolution["previous_breached"] > 500
    assert resolution["rate"] > resolution["previous_rate"] + 0.02, resolution
