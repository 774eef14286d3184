"""Benchmarks of the enforcement daemon's steady state (issue 4).

- evaluation of one poll that returns 100 changed tickets while 50,000 are open
  (target <= 50 ms): ``Planner.ingest`` with the SQLite store holding 50,000 open tickets;
- resident memory of a daemon process holding 50,000 open tickets (target <= 300 MB).

    .venv/bin/python bench/bench_daemon.py [--open 50000] [--changed 100] [--rounds 20]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from gen_tickets import generate_tickets  # noqa: E402

from sla_connector.core.ticket import Ticket, parse_ticket  # noqa: E402
from sla_connector.runtime.clocks import ManualClock  # noqa: E402
from sla_connector.runtime.planner import Planner  # noqa: E402
from sla_connector.settings import load_config  # noqa: E402
from sla_connector.store import Store  # noqa: E402


def _rss_mib() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=50_000)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    policy = load_config(ROOT / "examples" / "policy.yaml").policy
    start = datetime.fromisoformat("2026-10-05T00:00:00+00:00")

    def tickets(count: int) -> Iterator[Ticket]:
        for data in generate_tickets(count, seed=3, start=start, days=28, source="sim"):
            # Keep every ticket open: drop the resolutions of the generated history.
            data["events"] = [e for e in data["events"] if e.get("to") not in ("solved", "closed")]
            yield parse_ticket(data, {"sim"})

    clock = ManualClock(start + timedelta(days=28))
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite:///{folder}/bench.db")
        planner = Planner(policy, store, clock, horizon=timedelta(days=90), not_before=0)
        began = time.perf_counter()
        chunk: list[Ticket] = []
        for ticket in tickets(args.open):
            chunk.append(ticket)
            if len(chunk) == 1000:
                planner.ingest(chunk)
                chunk = []
        planner.ingest(chunk)
        load_seconds = time.perf_counter() - began
        rss_after_load = _rss_mib()
        changed = list(tickets(args.changed))  # the same ids again: tickets that changed
        timings = []
        for _ in range(args.rounds):
            clock.advance(timedelta(minutes=1))
            began = time.perf_counter()
            planner.ingest(changed)
            timings.append((time.perf_counter() - began) * 1000)
        open_count = store.count_tickets(open_only=True)
        store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    timings.sort()
    print(f"stored {args.open:,} tickets ({open_count:,} open at the end) in {load_seconds:.1f} s")
    print(
        f"poll of {args.changed} changed tickets: median {statistics.median(timings):.1f} ms, "
        f"p95 {timings[int(0.95 * (len(timings) - 1))]:.1f} ms, max {timings[-1]:.1f} ms "
        f"over {args.rounds} polls (target <= 50 ms)"
    )
    print(
        f"resident memory after loading: {rss_after_load:.0f} MiB; peak {peak:.0f} MiB "
        "(target <= 300 MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
