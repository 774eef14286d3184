"""Benchmark: hostile tickets cannot freeze the daemon (issue 11 acceptance).

The daemon (the service ``run`` builds, ``runtime.service``) runs on the simulator in
discrete-event virtual time against the bundled policy plus three classification rules
with nested quantifiers, the shapes that made a backtracking engine run away:
``^(\\w+\\s?)+!$``, ``(a+)+$`` and ``^(([a-z])+.)+[A-Z]([a-z])+$``. Twice: once with the
simulator's ordinary tickets, once with one ticket in ten given an adversarial subject and
description (``aaaa...X``, a run of words without the final ``!``, 5,000-character
variants). Meanwhile a probe asks ``/healthz`` of the dashboard app on the same event loop
every 10 ms and records how long each answer took; every ``Planner.ingest`` (the
evaluation of one poll page, run off the event loop) is timed.

Targets: ``/healthz`` answers within 100 ms throughout; poll evaluation with hostile
tickets within 2x its normal time (per ticket, so the comparison does not depend on how
many tickets a poll happens to return).

    .venv/bin/python bench/bench_hostile.py [--days 2] [--tickets-per-day 1500]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sla_connector_psa.simulator import life as sim_life  # noqa: E402

from sla_connector.core.ticket import Ticket  # noqa: E402
from sla_connector.runtime.clocks import ManualClock  # noqa: E402
from sla_connector.runtime.planner import Planner, PlanOutcome  # noqa: E402
from sla_connector.runtime.service import Service  # noqa: E402
from sla_connector.runtime.timeline import VirtualTimeline  # noqa: E402
from sla_connector.settings import config_from_mapping, parse_yaml  # noqa: E402

START = datetime.fromisoformat("2026-10-05T00:00:00+00:00")
NESTED_RULES = [
    {"name": "shouting", "tier": "P2", "regex": [r"^(\w+\s?)+!$"]},
    {"name": "a-run", "tier": "P2", "regex": ["(a+)+$"]},
    {"name": "camel", "tier": "P2", "regex": ["^(([a-z])+.)+[A-Z]([a-z])+$"]},
]
HOSTILE = (
    "a" * 28 + "X",
    "printer not working on the third floor again please help " * 3 + "?",
    "a" * 5000 + "X",
    ("word " * 1000).strip(),
    "abcdefghijklmnopqrstuvwxyzabcdefghij" * 20 + "1",
)


def config(folder: Path, per_day: int) -> Any:
    data = parse_yaml((ROOT / "examples" / "policy.yaml").read_text())
    data["classification"]["rules"].extend(NESTED_RULES)
    sim = data["connectors"]["sim"]
    sim.update(
        {
            "poll_interval": "15m",
            "reconcile_interval": "24h",
            "start": START.isoformat(),
            "tickets_per_day": per_day,
        }
    )
    data["connectors"] = {"sim": sim}
    data["store"] = {"url": f"sqlite:///{folder / 'state.db'}"}
    data.pop("reports", None)
    data.pop("notify", None)
    data["runtime"] = {"owner": "bench"}
    return config_from_mapping(data)


def make_hostile() -> Callable[[], None]:
    """Give one simulated ticket in ten an adversarial subject and description."""
    original = sim_life._LifeWriter.life
    made = [0]

    def life(self: Any, created: int, client_index: int, monitoring: bool) -> Any:
        found = original(self, created, client_index, monitoring)
        made[0] += 1
        if made[0] % 10:
            return found
        text = HOSTILE[(made[0] // 10) % len(HOSTILE)]
        return dataclasses.replace(found, subject=text, description=text)

    sim_life._LifeWriter.life = life  # type: ignore[method-assign]

    def undo() -> None:
        sim_life._LifeWriter.life = original  # type: ignore[method-assign]

    return undo


@dataclasses.dataclass
class Run:
    mode: str
    wall_s: float
    polls: int
    tickets: int
    ingest_s: list[float]
    ingest_per_ticket_us: float
    healthz_ms: list[float]


async def one_run(mode: str, days: float, per_day: int) -> Run:
    undo = make_hostile() if mode == "hostile" else (lambda: None)
    timings: list[float] = []
    counted = [0]
    real_ingest = Planner.ingest

    def timed(self: Planner, tickets: Sequence[Ticket]) -> PlanOutcome:
        began = time.perf_counter()
        try:
            return real_ingest(self, tickets)
        finally:
            timings.append(time.perf_counter() - began)
            counted[0] += len(tickets)

    Planner.ingest = timed  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as folder:
            service = Service.build(config(Path(folder), per_day), clock=ManualClock(START))
            await service.start()
            latencies: list[float] = []
            done = asyncio.Event()

            async def probe() -> None:
                transport = httpx.ASGITransport(app=service.dashboard)
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://127.0.0.1"
                ) as client:
                    while not done.is_set():
                        began = time.perf_counter()
                        answer = await client.get("/healthz")
                        latencies.append((time.perf_counter() - began) * 1000)
                        assert answer.status_code == 200, answer.status_code
                        await asyncio.sleep(0.01)

            prober = asyncio.create_task(probe())
            began = time.perf_counter()
            try:
                timeline = service.timeline
                assert isinstance(timeline, VirtualTimeline)
                await timeline.run_until(START + timedelta(days=days))
            finally:
                wall = time.perf_counter() - began
                done.set()
                await prober
                polls = service.daemon.status["sim"].polls
                await service.stop()
    finally:
        Planner.ingest = real_ingest  # type: ignore[method-assign]
        undo()
    per_ticket = sum(timings) / max(1, counted[0]) * 1e6
    return Run(mode, wall, polls, counted[0], timings, per_ticket, latencies)


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=2.0)
    parser.add_argument("--tickets-per-day", type=int, default=1500)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}"
    )
    runs = [
        asyncio.run(one_run(mode, args.days, args.tickets_per_day))
        for mode in ("normal", "hostile")
    ]
    for run in runs:
        polls_ms = [s * 1000 for s in run.ingest_s]
        print(
            f"{run.mode:8} wall {run.wall_s:6.1f} s  polls {run.polls:4}  tickets evaluated "
            f"{run.tickets:7}  ingest/ticket {run.ingest_per_ticket_us:7.1f} us  ingest per page "
            f"p50 {statistics.median(polls_ms):6.1f} ms max {max(polls_ms):7.1f} ms  "
            f"healthz n={len(run.healthz_ms)} p50 {_ms(run.healthz_ms, 0.5):5.1f} ms "
            f"p99 {_ms(run.healthz_ms, 0.99):5.1f} ms max {max(run.healthz_ms):6.1f} ms"
        )
    normal, hostile = runs
    ratio = hostile.ingest_per_ticket_us / normal.ingest_per_ticket_us
    worst = max(max(run.healthz_ms) for run in runs)
    print(f"hostile/normal evaluation per ticket: {ratio:.2f}x (target <= 2x)")
    print(f"/healthz worst answer: {worst:.1f} ms (target <= 100 ms)")
    return 0 if ratio <= 2.0 and worst <= 100.0 else 1


if __name__ == "__main__":
    sys.exit(main())
