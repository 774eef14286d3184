"""Benchmark: a killed daemon restarted with 200 overdue steps in its store (issue 10).

Serves the Zendesk twin on loopback with an Enterprise plan's account limit (700 requests a
minute; developer.zendesk.com/api-reference/introduction/rate-limits), creates ``--steps``
P1 tickets, and plays the daemon's first life in this process: the shipped ``zendesk``
connector reads every ticket (its requests counted in the store's request log, as the
daemon counts them) and the planner puts their steps in the store. Once every
``p1-director`` step is overdue, it starts ``sla-connector run`` as a real process on that
store, with ``requests_per_minute`` ``--budget``, and waits (at most 5 minutes) until the
twin's journal shows every step written.

Prints: seconds from the process start to the first and to the last write, steps written,
duplicates, and the most requests the daemon (both lives) sent in any 60 s window against
the budget. Logs and the journal stay in ``--out``.

    .venv/bin/python bench/bench_restart.py
    .venv/bin/python bench/bench_restart.py --steps 200 --budget 650
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.twins.server import free_port  # noqa: E402
from tests.twins.soak import CLI, compile_sources  # noqa: E402
from tests.twins.soak_scenario import PolicySpec, policy_mapping  # noqa: E402
from tests.twins.soak_vendors import ZendeskSoak  # noqa: E402
from tests.twins.zendesk import ZendeskTwin  # noqa: E402

from sla_connector.registry import load_connector_factory  # noqa: E402
from sla_connector.runtime.clocks import SystemClock  # noqa: E402
from sla_connector.runtime.planner import Planner  # noqa: E402
from sla_connector.settings import config_from_mapping  # noqa: E402
from sla_connector.store import Store  # noqa: E402

SPEC = PolicySpec(p1_response=10, director_after=5)  # p1-director due 15 s after creation


def busiest_minute(instants: list[float]) -> int:
    ordered = sorted(instants)
    most, start = 0, 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - 60:
            start += 1
        most = max(most, end - start + 1)
    return most


async def first_life(soak: ZendeskSoak, entry: dict[str, Any], db: Path, ids: list[str]) -> int:
    """Read every ticket and plan its steps, as the killed daemon had; the steps planned."""
    os.environ.update(soak.env())
    settings = {k: v for k, v in entry.items() if k != "poll_interval"}
    connector: Any = load_connector_factory("zendesk", "psa")("psa", settings, SystemClock())
    store = Store.open(f"sqlite:///{db}")
    connector.keep_budgets(store)
    policy = config_from_mapping(policy_mapping(SPEC)).policy
    planner = Planner(policy, store, SystemClock(), horizon=timedelta(days=1), not_before=0)
    # One read at a time, as a poll reads: each request is counted as it leaves.
    planner.ingest([await connector.fetch_ticket(ticket) for ticket in ids])
    await connector.aclose()
    planned = sum(row.step == "p1-director" for row in store.ledger())
    store.close()
    return planned


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--budget", type=int, default=650, help="requests_per_minute")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="sla-restart-"))
    out.mkdir(parents=True, exist_ok=True)
    twin = ZendeskTwin(seed=3, account_limit=700)
    soak = ZendeskSoak(twin)
    with twin.serve():
        entry = {**soak.entry("5s"), "requests_per_minute": args.budget}
        ids = [soak.create(f"P1 {n}: mail down", "P1", n)[0] for n in range(args.steps)]
        created = time.time()
        planned = asyncio.run(first_life(soak, entry, out / "soak.db", ids))
        time.sleep(max(0.0, created + SPEC.p1_response + SPEC.director_after + 2 - time.time()))
        config = {
            **policy_mapping(SPEC),
            "connectors": {"psa": entry},
            "store": {"url": f"sqlite:///{out / 'soak.db'}"},
            "dashboard": {"bind": "127.0.0.1", "port": free_port()},
            "runtime": {"backfill": "1h"},
        }
        (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        env = {**os.environ, **soak.env(), "PYTHONUNBUFFERED": "1"}
        compile_sources()
        with (out / "daemon.log").open("wb") as sink:
            began = time.time()
            process = subprocess.Popen(
                [CLI, "run", "-c", str(out / "config.yaml")],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
            )
            try:
                deadline = began + 300
                while time.time() < deadline:
                    notes = [w for w in twin.journal.api_writes() if w.kind == "private_comment"]
                    if len({w.step for w in notes}) >= planned:
                        break
                    time.sleep(0.2)
            finally:
                process.terminate()
                process.wait(20)
        twin.journal.dump(out / "journal.jsonl")
    writes = [
        w
        for w in twin.journal.api_writes()
        if w.principal == soak.integration and w.kind == "private_comment" and w.at >= began
    ]
    per_step = Counter(w.step for w in writes)
    requests = [r.at for r in twin.journal.requests() if r.principal == soak.integration]
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"steps overdue at restart: {planned}; written: {len(per_step)}")
    print(f"duplicates: {sum(n - 1 for n in per_step.values())}")
    if writes:
        print(f"first write {min(w.at for w in writes) - began:.1f} s after the process start")
        print(f"last write {max(w.at for w in writes) - began:.1f} s after the process start")
    print(f"busiest minute: {busiest_minute(requests)} requests (budget {args.budget}/min)")
    print(f"logs in {out}")
    return 0 if len(per_step) == planned else 1


if __name__ == "__main__":
    raise SystemExit(main())
