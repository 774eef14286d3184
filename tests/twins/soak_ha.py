"""Soak two replicas on PostgreSQL against a twin, SIGKILLing the leader (issue 10 item 8).

``run_ha_soak(HaSoakConfig(...))`` plays a scenario (``soak_scenario``) on the twin like
``soak.run_soak``, but runs two ``sla-connector run`` processes (``replica-a`` and
``replica-b``) on one PostgreSQL schema (created for the run, dropped after). A killer
thread finds the replica that leads the connector (its ``/readyz``) and SIGKILLs it
``kills`` times, each kill timed by the scenario's due instants: ``at`` a step's due
instant, ``just after`` it (0.3-0.9 s later) or at a random moment, in the order
``KILL_PATTERN`` gives; the killed replica is restarted 0.5-1 s later. For every kill it
records how long until a replica led again (``/readyz`` says so): the standby on its next
leadership tick, or the restarted replica if its start-up took the lead first.

The report is ``soak_report.SoakReport`` over the twin's journal (duplicates, misses,
extra and early writes) plus ``HaResult``: the takeover times and the lateness of the
steps that fell due during a failover (from one second before the kill until the new
leader took over). Every wait is bounded; every process is killed in ``finally``.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import yaml

from tests.twins.server import free_port
from tests.twins.soak import Daemon, SoakConfig, _Run, daemon_config
from tests.twins.soak_report import SoakReport, percentile
from tests.twins.soak_scenario import (
    ExpectedStep,
    PolicySpec,
    Scenario,
    expected_steps,
    generate,
)
from tests.twins.soak_vendors import SoakVendor, vendor

__all__ = ["KILL_PATTERN", "HaResult", "HaSoakConfig", "run_ha_soak"]

KILL_PATTERN = ("at", "after", "random", "at", "after", "after")
REPLICAS = ("replica-a", "replica-b")
TAKEOVER_LIMIT = 30.0  # seconds the killer waits for a new leader before giving up


@dataclass
class HaSoakConfig:
    name: str
    minutes: float
    workdir: Path
    postgres_url: str
    kills: int = 6
    seed: int = 1
    tickets: int | None = None
    policy: PolicySpec = field(default_factory=PolicySpec)
    poll_interval: str = "5s"
    gap: float = 12.0  # at least this long between two kills (a takeover, then steady)
    first_kill: float = 20.0  # no kill in the first seconds (both replicas starting)
    drain: float = 30.0
    vendor: str = "zendesk"


@dataclass
class Failover:
    kind: str  # at | after | random
    killed_at: float  # Unix seconds
    leader: str
    took_over_at: float | None = None
    new_leader: str | None = None

    @property
    def takeover(self) -> float | None:
        return None if self.took_over_at is None else self.took_over_at - self.killed_at


@dataclass
class HaResult:
    failovers: list[Failover]
    failover_lateness: list[float]  # steps due during a failover: applied - due, seconds

    def row(self) -> dict[str, str]:
        takeovers = [f.takeover for f in self.failovers if f.takeover is not None]

        def seconds(values: list[float], share: float) -> str:
            found = percentile(values, share)
            return "-" if found is None else f"{found:.1f} s"

        return {
            "leader kills": f"{len(self.failovers)} ({self.kinds()})",
            "takeover max": seconds(takeovers, 1.0),
            "steps due in a failover": str(len(self.failover_lateness)),
            "their p99": seconds(self.failover_lateness, 0.99),
            "their max": seconds(self.failover_lateness, 1.0),
        }

    def kinds(self) -> str:
        counts: dict[str, int] = {}
        for failover in self.failovers:
            counts[failover.kind] = counts.get(failover.kind, 0) + 1
        return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))


class _Replica:
    def __init__(self, name: str, daemon: Daemon, port: int) -> None:
        self.name, self.daemon, self.port = name, daemon, port

    def leads(self) -> bool:
        if self.daemon.process is None or self.daemon.process.poll() is not None:
            return False
        try:
            answer = httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2)
            leading: dict[str, bool] = answer.json().get("leading", {})
        except (httpx.HTTPError, ValueError):
            return False
        return any(leading.values())


def _dues(scenario: Scenario, run: _Run) -> list[float]:
    """The due instants (Unix seconds) of the steps to be written, from the tickets created
    so far (a breach step: created + response target + its delay)."""
    spec = scenario.policy
    dues = []
    for plan in scenario.tickets:
        created = run.stamped.get(plan.label, {}).get("create")
        if created is None or plan.kind not in ("breach", "late_reply", "customer_noise"):
            continue
        dues.append(created + spec.response(plan.tier) + spec.breach_step(plan.tier)[1])
    return sorted(dues)


def _kill_loop(
    cfg: HaSoakConfig,
    run: _Run,
    replicas: list[_Replica],
    failovers: list[Failover],
    rnd: random.Random,
) -> None:
    """Kill the leader ``cfg.kills`` times, timed by due instants; keep both replicas up."""
    last = run.t0 + cfg.first_kill - cfg.gap
    end = run.t0 + run.scenario.duration - 10
    for n in range(cfg.kills):
        kind = KILL_PATTERN[n % len(KILL_PATTERN)]
        earliest = last + cfg.gap
        target = None
        while target is None and not run.stop.is_set() and time.time() < end:
            if kind == "random":
                target = earliest + rnd.uniform(0, 5)
                break
            offset = 0.0 if kind == "at" else rnd.uniform(0.3, 0.9)
            upcoming = [d + offset for d in _dues(run.scenario, run) if d + offset >= earliest]
            if upcoming:
                target = upcoming[0]
            else:
                _supervise(run, replicas, 0.2)
        if target is None or target >= end:
            return
        while time.time() < target and not run.stop.is_set():
            _supervise(run, replicas, min(0.05, max(0.0, target - time.time())))
        if run.stop.is_set():
            return
        leader = next((r for r in replicas if r.leads()), None)
        if leader is None:  # nobody leads yet (both starting): try again a little later
            last = time.time() - cfg.gap + 2
            continue
        leader.daemon.kill()
        failover = Failover(kind, time.time(), leader.name)
        failovers.append(failover)
        run.kills += 1
        restart_at = time.time() + rnd.uniform(0.5, 1.0)
        deadline = time.time() + TAKEOVER_LIMIT
        while time.time() < deadline and not run.stop.is_set():
            if leader.daemon.process is None and time.time() >= restart_at:
                leader.daemon.start()
            # The standby, or the killed replica once restarted: whichever leads first.
            survivor = next((r for r in replicas if r.leads()), None)
            if survivor is not None:
                failover.took_over_at, failover.new_leader = time.time(), survivor.name
                break
            time.sleep(0.1)
        if leader.daemon.process is None:
            leader.daemon.start()
        last = failover.killed_at


def _supervise(run: _Run, replicas: list[_Replica], pause: float) -> None:
    """Restart a replica that exited by itself (counted in the report), then sleep."""
    for replica in replicas:
        if replica.daemon.exited():
            replica.daemon.start()
    time.sleep(pause)


def _schema_url(base: str, schema: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


def _configs(
    cfg: HaSoakConfig, soak: SoakVendor, scenario: Scenario, url: str
) -> list[tuple[str, Path, int]]:
    base = daemon_config(soak, scenario, SoakConfig(cfg.name, cfg.minutes, cfg.workdir))
    made = []
    for name in REPLICAS:
        port = free_port()
        data: dict[str, Any] = {
            **base,
            "connectors": {"psa": soak.entry(cfg.poll_interval)},
            "store": {"url": url},
            "dashboard": {"bind": "127.0.0.1", "port": port},
            "runtime": {**base["runtime"], "owner": name},
        }
        path = cfg.workdir / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        made.append((name, path, port))
    return made


def run_ha_soak(cfg: HaSoakConfig) -> tuple[SoakReport, HaResult]:
    """One HA run; the replicas' logs stay in ``cfg.workdir`` (``<replica>/daemon-*.log``)."""
    cfg.workdir.mkdir(parents=True, exist_ok=True)
    scenario = generate(seed=cfg.seed, minutes=cfg.minutes, tickets=cfg.tickets, policy=cfg.policy)
    soak = vendor(cfg.vendor, cfg.seed)
    twin = soak.twin
    rnd = random.Random(cfg.seed + 7)
    schema = f"ha_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(cfg.postgres_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    failovers: list[Failover] = []
    replicas: list[_Replica] = []
    try:
        with twin.serve():
            env = {**os.environ, **soak.env(), "PYTHONUNBUFFERED": "1"}
            for name, path, port in _configs(
                cfg, soak, scenario, _schema_url(cfg.postgres_url, schema)
            ):
                logs = cfg.workdir / name
                logs.mkdir(exist_ok=True)
                replicas.append(_Replica(name, Daemon(path, env, logs), port))
            plain = SoakConfig(
                cfg.name,
                cfg.minutes,
                cfg.workdir,
                seed=cfg.seed,
                drain=cfg.drain,
                vendor=cfg.vendor,
            )
            run = _Run(plain, soak, scenario, replicas[0].daemon, time.time())
            killer = threading.Thread(
                target=_kill_loop,
                args=(cfg, run, replicas, failovers, rnd),
                name="ha-killer",
                daemon=True,
            )
            try:
                for replica in replicas:
                    replica.daemon.start()
                killer.start()
                run.play()
                run.wait_until(scenario.duration, supervise=False)
                run.stop.set()
                killer.join(TAKEOVER_LIMIT + 10)
                deadline = time.time() + cfg.drain
                while time.time() < deadline:
                    _supervise(run, replicas, 0.1)
            finally:
                run.stop.set()
                killer.join(TAKEOVER_LIMIT + 10)
                for replica in replicas:
                    replica.daemon.stop()
            expected = expected_steps(scenario, run.stamped, run.ids)
            report = SoakReport.build(
                f"{cfg.name} ({cfg.vendor}, 2 replicas on PostgreSQL)",
                twin.journal,
                expected,
                integration=soak.integration,
                group_window=soak.group_window,
            )
            twin.journal.dump(cfg.workdir / "journal.jsonl")
    finally:
        for replica in replicas:
            replica.daemon.kill()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    requests = twin.journal.requests()
    report.kills = run.kills
    report.vendor_429 = sum(r.status == 429 and r.fault is None for r in requests)
    report.requests = len(requests)
    report.starts = sum(r.daemon.starts for r in replicas)
    report.notes += [f"scenario step failed: {e}" for e in run.errors]
    report.notes.append(
        f"{sum(r.daemon.unexpected_exits for r in replicas)} replica exits nobody caused"
    )
    report.notes += [
        f"kill {n + 1} ({f.kind}) of {f.leader} at +{f.killed_at - run.t0:.1f} s: "
        + (
            f"{f.new_leader} led {f.takeover:.1f} s later"
            if f.takeover is not None
            else "nobody took over"
        )
        for n, f in enumerate(failovers)
    ]
    return report, HaResult(failovers, _failover_lateness(report, expected, failovers))


def _failover_lateness(
    report: SoakReport, expected: list[ExpectedStep], failovers: list[Failover]
) -> list[float]:
    """Lateness of the written steps due from 1 s before a kill until the takeover."""
    windows = [
        (f.killed_at - 1.0, f.took_over_at if f.took_over_at is not None else f.killed_at + 60)
        for f in failovers
    ]
    due_in = {
        f"{e.ticket}:{e.step}:c1"
        for e in expected
        if e.must_write and any(low <= e.due <= high for low, high in windows)
    }
    return [late for key, late in report.late_by_step.items() if key in due_in]
