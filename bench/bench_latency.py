"""Benchmark: from a step's due instant to its write request reaching a loopback PSA.

Runs the real `sla-connector run` process against the simulator served over HTTP on
127.0.0.1 (the crash test's set-up), in virtual time ``--speed`` times faster than the wall
clock, for ``--minutes`` of wall time. For every escalation note the PSA received, the
latency is (virtual arrival - due instant) / speed, in real seconds. Target: p99 <= 1 s.

    .venv/bin/python bench/bench_latency.py [--speed 120] [--minutes 5]
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.runtime.crash_support import Setup, stop  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=120.0)
    parser.add_argument("--minutes", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        setup = Setup.create(Path(folder), speed=args.speed, poll="1m")
        with setup.server():
            daemon = setup.spawn()
            try:
                assert daemon.wait_started(60) is not None, daemon.log.read_text()[-2000:]
                time.sleep(args.minutes * 60)
            finally:
                stop(daemon.process, signal.SIGTERM, 15)
            writes = setup.writes()
        due = {row.key: row.due_at for row in setup.ledger()}
    latencies = []
    for write in writes:
        if write["action"] != "add_internal_note":
            continue
        text = write["payload"]["text"]
        key = text[text.rfind("[sla-connector ") + len("[sla-connector ") :].split("]", 1)[0]
        if key not in due:
            continue
        arrived = datetime.fromisoformat(write["at"])
        due_at = datetime.fromtimestamp(due[key] / 1e6, tz=arrived.tzinfo)
        latencies.append(max(0.0, (arrived - due_at).total_seconds() / args.speed))
    if not latencies:
        print(
            f"no escalation was written ({len(writes)} writes, {len(due)} ledger rows); run longer"
        )
        return 1
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    print(
        f"{len(latencies)} escalations at speed {args.speed:g}: latency due -> PSA write request "
        f"p50 {pct(0.5) * 1000:.0f} ms, p99 {pct(0.99) * 1000:.0f} ms, "
        f"max {latencies[-1] * 1000:.0f} ms (target p99 <= 1000 ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
