"""Soak the real daemon against a vendor's twin: ``sla-connector run`` as a process.

``run_soak(SoakConfig(...))`` generates a scenario (``soak_scenario``), serves the twin of
``SoakConfig.vendor`` (``zendesk``, ``connectwise`` or ``jira_sm``: ``soak_vendors``) on
loopback in this process, writes a configuration pointing that connector at it
(``base_url: http://127.0.0.1:<port>``, SQLite store, the policy from the scenario), starts
the .venv's ``sla-connector run -c <config>`` and then, on the wall clock:

- plays the scenario's people (tickets created, replies, solves, deletes) through the
  twin's Python methods;
- SIGKILLs the daemon on a seeded schedule (random moments, bursts of three kills within
  5 s, and a share timed while a write has landed at the twin but its answer is held)
  and restarts it after 0.2-1 s; a daemon that exits by itself is restarted too;
- injects faults at a rate (``FaultPlan.set_rate``).

When the scenario is over, kills and faults stop and the daemon is left to catch up for
``drain`` seconds (so a late write is told apart from one never made); then it stops the
daemon, reads the journal and returns a ``SoakReport`` (``soak_report``). Every wait is
bounded by the scenario's duration plus the drain; every process it starts is killed in
``finally``. A library, used by ``bench/bench_soak.py``.
"""

from __future__ import annotations

import compileall
import functools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.twins.faults import FaultKind
from tests.twins.server import free_port
from tests.twins.soak_report import SoakReport
from tests.twins.soak_scenario import (
    ExpectedStep,
    Scenario,
    expected_steps,
    generate,
    policy_mapping,
)
from tests.twins.soak_vendors import SoakVendor, vendor

__all__ = [
    "CLI",
    "Daemon",
    "SoakConfig",
    "compile_sources",
    "daemon_config",
    "kill_schedule",
    "run_soak",
]

CLI = str(Path(sys.executable).with_name("sla-connector"))
MAX_STARTS = 400
ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def compile_sources() -> None:
    """Write the checkout's bytecode once, before the first daemon starts.

    An installed daemon has it: pip compiles a wheel's modules at install (the Dockerfile's
    image too). The checkout's editable install has none, and where
    ``PYTHONDONTWRITEBYTECODE`` is set (this machine, many CI images) every start would
    compile about 1,300 code objects again: 0.6-0.8 s more per start, which under a crash
    loop is the difference between a life that reads a page and one killed before it
    starts. ``compileall`` writes the files whatever that variable says.
    """
    for tree in ("src", "connectors"):
        compileall.compile_dir(ROOT / tree, quiet=1)


@dataclass
class SoakConfig:
    name: str
    minutes: float
    workdir: Path
    kills: int = 0
    fault_rate: float = 0.0
    seed: int = 1
    tickets: int | None = None
    burst_share: float = 0.3  # share of kills that come in bursts of three within 5 s
    in_flight_share: float = 0.25  # share of kills timed while a write is held
    poll_interval: str = "5s"
    stall_seconds: float = 31.0  # longer than the connector's 30 s read timeout
    restart_delay: tuple[float, float] = (0.2, 1.0)
    drain: float = 30.0  # after the scenario: no kills, no faults, the daemon left to catch up
    vendor: str = "zendesk"  # zendesk | connectwise | jira_sm


@dataclass(frozen=True)
class KillEvent:
    at: float  # seconds into the run
    in_flight: bool


def kill_schedule(
    rnd: random.Random,
    kills: int,
    start: float,
    end: float,
    burst_share: float,
    in_flight_share: float,
) -> list[KillEvent]:
    """``kills`` moments in [start, end): singles at random, some in bursts within 5 s."""
    events: list[KillEvent] = []
    bursts = round(kills * burst_share / 3)
    for _ in range(bursts):
        first = rnd.uniform(start, end - 5)
        events += [
            KillEvent(first + offset, False)
            for offset in sorted(rnd.uniform(0, 5) for _ in range(3))
        ]
    while len(events) < kills:
        events.append(KillEvent(rnd.uniform(start, end), False))
    events = sorted(events[:kills], key=lambda e: e.at)
    singles = [i for i, e in enumerate(events) if not _in_burst(events, i)]
    for i in rnd.sample(singles, min(len(singles), round(kills * in_flight_share))):
        events[i] = KillEvent(events[i].at, True)
    return events


def _in_burst(events: list[KillEvent], i: int) -> bool:
    near = [e for e in events if abs(e.at - events[i].at) <= 5]
    return len(near) >= 3


class Daemon:
    """The daemon process across its restarts; records when each life began and ended."""

    def __init__(self, config: Path, env: dict[str, str], logs: Path) -> None:
        self.config, self.env, self.logs = config, env, logs
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.uptimes: list[tuple[float, float]] = []
        self.starts = 0
        self.unexpected_exits = 0

    def start(self) -> None:
        if self.starts >= MAX_STARTS:
            raise RuntimeError("the daemon was restarted too often")
        compile_sources()
        log = self.logs / f"daemon-{self.starts:03d}.log"
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                [CLI, "run", "-c", str(self.config)],
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=self.logs,
                env=self.env,
            )
        self.started_at = time.time()
        self.starts += 1

    def _ended(self) -> None:
        self.uptimes.append((self.started_at, time.time()))
        self.process = None

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self._ended()

    def exited(self) -> bool:
        """True (once) when the process has ended by itself."""
        if self.process is not None and self.process.poll() is not None:
            self.unexpected_exits += 1
            self._ended()
            return True
        return False

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self._ended()


def daemon_config(soak: SoakVendor, scenario: Scenario, cfg: SoakConfig) -> dict[str, Any]:
    return {
        **policy_mapping(scenario.policy, p1_priority=soak.p1_priority),
        "connectors": {"psa": soak.entry(cfg.poll_interval)},
        "store": {"url": f"sqlite:///{cfg.workdir / 'soak.db'}"},
        "dashboard": {"bind": "127.0.0.1", "port": free_port()},
        "runtime": {"backfill": "1h"},
    }


@dataclass
class _Run:
    cfg: SoakConfig
    soak: SoakVendor
    scenario: Scenario
    daemon: Daemon
    t0: float
    stop: threading.Event = field(default_factory=threading.Event)
    ids: dict[str, str] = field(default_factory=dict)
    stamped: dict[str, dict[str, float]] = field(default_factory=dict)
    kills: int = 0
    in_flight: int = 0
    errors: list[str] = field(default_factory=list)

    def wait_until(self, at: float, *, supervise: bool) -> bool:
        """Sleep until ``at`` seconds into the run; False when the run is stopping."""
        while time.time() < self.t0 + at:
            if self.stop.is_set():
                return False
            if supervise and self.daemon.exited():
                self.daemon.start()
            time.sleep(min(0.05, max(0.0, self.t0 + at - time.time())))
        return not self.stop.is_set()

    def play(self) -> None:
        """The scenario's people, in time order (the main thread)."""
        for n, action in enumerate(self.scenario.actions):
            if not self.wait_until(action.at, supervise=False):
                return
            try:
                self._act(action.label, action.kind, n)
            except Exception as exc:  # a scenario step that cannot be played is reported
                self.errors.append(f"{action.label} {action.kind}: {exc!r}")

    def _act(self, label: str, kind: str, customer: int) -> None:
        plan = next(p for p in self.scenario.tickets if p.label == label)
        if kind == "create":
            ticket, stamp = self.soak.create(
                f"{plan.kind} {label}: email down", plan.tier, customer
            )
            self.ids[label] = ticket
        else:
            stamp = self.soak.act(self.ids[label], kind)
        self.stamped.setdefault(label, {})[kind] = stamp

    def drain(self) -> None:
        """Leave the daemon running, unfaulted, for ``cfg.drain`` seconds (restarting it
        if it is down), so a late write is told apart from one never made."""
        if self.daemon.process is None or self.daemon.exited():
            self.daemon.start()
        deadline = time.time() + self.cfg.drain
        while time.time() < deadline:
            if self.daemon.exited():
                self.daemon.start()
            time.sleep(0.1)

    def kill_loop(self, events: list[KillEvent], rnd: random.Random) -> None:
        """SIGKILL and restart on schedule (a second thread)."""
        for event in events:
            if not self.wait_until(event.at, supervise=True):
                return
            if event.in_flight:
                faults = self.soak.twin.faults
                seen = faults.held_count
                faults.inject(FaultKind.STALL_AFTER_WRITE, path=self.soak.write_path)
                if faults.wait_held(seen, 15):
                    self.in_flight += 1
                else:
                    faults.cancel(FaultKind.STALL_AFTER_WRITE)
            self.daemon.kill()
            self.kills += 1
            if not self.wait_until(
                time.time() - self.t0 + rnd.uniform(*self.cfg.restart_delay), supervise=False
            ):
                return
            self.daemon.start()
        self.wait_until(self.scenario.duration, supervise=True)


def _dump_timeline(
    path: Path,
    expected: list[ExpectedStep],
    uptimes: list[tuple[float, float]],
    report: SoakReport,
) -> None:
    """The lives and the steps with their lateness, for reading a run afterwards."""
    steps = [
        {**asdict(step), "late": report.late_by_step.get(f"{step.ticket}:{step.step}:c1")}
        for step in expected
    ]
    lives = [{"start": start, "end": end} for start, end in uptimes]
    path.write_text(json.dumps({"lives": lives, "steps": steps}, indent=1))


def run_soak(cfg: SoakConfig) -> SoakReport:
    """One soak run; returns its report (the daemon's logs stay in ``cfg.workdir``)."""
    cfg.workdir.mkdir(parents=True, exist_ok=True)
    scenario = generate(seed=cfg.seed, minutes=cfg.minutes, tickets=cfg.tickets)
    soak = vendor(cfg.vendor, cfg.seed)
    twin = soak.twin
    twin.faults.stall_seconds = cfg.stall_seconds
    rnd = random.Random(cfg.seed + 1)
    events = kill_schedule(
        rnd, cfg.kills, 10.0, scenario.duration - 15, cfg.burst_share, cfg.in_flight_share
    )
    with twin.serve():
        config = cfg.workdir / "config.yaml"
        config.write_text(yaml.safe_dump(daemon_config(soak, scenario, cfg), sort_keys=False))
        env = {**os.environ, **soak.env(), "PYTHONUNBUFFERED": "1"}
        daemon = Daemon(config, env, cfg.workdir)
        run = _Run(cfg, soak, scenario, daemon, time.time())
        killer = threading.Thread(
            target=run.kill_loop, args=(events, rnd), name="soak-killer", daemon=True
        )
        try:
            daemon.start()
            if cfg.fault_rate:
                twin.faults.set_rate(cfg.fault_rate, path=None)
            killer.start()
            run.play()
            run.wait_until(scenario.duration, supervise=False)
            run.stop.set()
            killer.join(30)
            twin.faults.clear()
            if not killer.is_alive():
                run.drain()
        finally:
            run.stop.set()
            killer.join(30)
            twin.faults.clear()
            if killer.is_alive():
                daemon.kill()
            else:
                daemon.stop()
        expected = expected_steps(scenario, run.stamped, run.ids)
        report = SoakReport.build(
            f"{cfg.name} ({cfg.vendor})",
            twin.journal,
            expected,
            integration=soak.integration,
            uptimes=daemon.uptimes,
            group_window=soak.group_window,
        )
        twin.journal.dump(cfg.workdir / "journal.jsonl")
        _dump_timeline(cfg.workdir / "timeline.json", expected, daemon.uptimes, report)
    requests = twin.journal.requests()
    report.kills, report.kills_in_flight, report.fault_rate = (
        run.kills,
        run.in_flight,
        cfg.fault_rate,
    )
    report.faults = {str(k): v for k, v in twin.faults.injected.items()}
    report.vendor_429 = sum(r.status == 429 and r.fault is None for r in requests)
    report.requests, report.starts = len(requests), daemon.starts
    report.notes += [f"scenario step failed: {e}" for e in run.errors]
    report.notes.append(f"{daemon.unexpected_exits} daemon exits nobody caused")
    return report
