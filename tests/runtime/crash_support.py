"""Real processes for the crash and fault tests: the simulator server and `sla-connector run`.

Both processes read one config file whose ``runtime.clock`` runs virtual time ``speed``
times faster than the wall clock from an anchor, so the test computes the same present
as they do. Every wait here is bounded; every process is killed in ``finally`` blocks.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from sla_connector.core.calendars import to_us
from sla_connector.core.evaluate import evaluate
from sla_connector.core.policy import Policy
from sla_connector.core.ticket import Ticket, parse_ticket
from sla_connector.settings import config_from_mapping, parse_yaml
from sla_connector.store import LedgerRow, Store

ROOT = Path(__file__).resolve().parents[2]
# A Monday 07:00 in London: the working day's tickets arrive and breach within the day.
SIM_START = datetime(2026, 10, 5, 6, 0, tzinfo=UTC)
CLI = str(Path(sys.executable).with_name("sla-connector"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Setup:
    """One scenario's files, ports and virtual clock."""

    root: Path
    config_path: Path
    write_log: Path
    server_port: int
    speed: float
    anchor: datetime
    policy: Policy
    store_url: str
    logs: list[Path] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        root: Path,
        *,
        speed: float,
        timeout: float = 2.0,
        poll: str = "2m",
        retry_backoff: str = "30s",
    ) -> Setup:
        server_port, dashboard_port = free_port(), free_port()
        store_url = f"sqlite:///{root / 'state.db'}"
        data = parse_yaml((ROOT / "examples" / "policy.yaml").read_text())
        sim = dict(data["connectors"]["sim"])
        sim.update(
            {
                "type": "simulator_http",
                "base_url": f"http://127.0.0.1:{server_port}",
                "start": SIM_START.isoformat(),
                "tickets_per_day": 400,
                "poll_interval": poll,
                "reconcile_interval": "1h",
                "timeout": timeout,
                "connect_timeout": timeout,
            }
        )
        data["connectors"] = {"sim": sim}
        data["store"] = {"url": store_url}
        data["dashboard"] = {"bind": "127.0.0.1", "port": dashboard_port}
        data.pop("reports", None)
        data.pop("notify", None)
        # A little ahead of now: the processes start while virtual time is still at SIM_START.
        anchor = datetime.now(UTC) + timedelta(seconds=3)
        data["runtime"] = {
            "retry_backoff": retry_backoff,
            "clock": {"start": SIM_START.isoformat(), "anchor": anchor.isoformat(), "speed": speed},
        }
        config = config_from_mapping(data)
        path = root / "config.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return cls(
            root, path, root / "writes.jsonl", server_port, speed, anchor, config.policy, store_url
        )

    # -- time ---------------------------------------------------------------------------

    def virtual(self, wall: datetime) -> datetime:
        return SIM_START + (wall - self.anchor) * self.speed

    def now(self) -> datetime:
        return self.virtual(datetime.now(UTC))

    def wait_until(self, instant: datetime, *, daemon: Daemon | None = None) -> None:
        """Sleep until virtual time reaches ``instant``, checking the daemon stays alive."""
        real = (instant - self.now()).total_seconds() / self.speed
        deadline = time.monotonic() + max(real, 0.0) + 5
        while self.now() < instant and time.monotonic() < deadline:
            if daemon is not None:
                assert daemon.process.poll() is None, daemon.log.read_text()[-3000:]
            time.sleep(0.2)

    # -- the PSA ------------------------------------------------------------------------

    @contextmanager
    def server(
        self,
        *,
        faults: float = 0.0,
        seed: int = 0,
        delay: float = 2.0,
        write_delay: float = 0.0,
    ) -> Iterator[subprocess.Popen[bytes]]:
        command = [
            sys.executable,
            "-m",
            "sla_connector_psa.simulator_server",
            "--config",
            str(self.config_path),
            "--port",
            str(self.server_port),
            "--write-log",
            str(self.write_log),
        ]
        if faults:
            command += ["--faults", str(faults), "--seed", str(seed), "--fault-delay", str(delay)]
        if write_delay:
            command += ["--write-delay", str(write_delay)]
        log = (self.root / "server.log").open("wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        try:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, "the simulator server exited at start-up"
                try:
                    httpx.get(self.sim_url("now"), timeout=1).raise_for_status()
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, "the simulator server did not start"
                    time.sleep(0.1)
            yield process
        finally:
            stop(process, signal.SIGTERM, 10)
            log.close()

    def sim_url(self, what: str) -> str:
        return f"http://127.0.0.1:{self.server_port}/_sim/{what}"

    def server_tickets(self) -> list[Ticket]:
        response = httpx.get(self.sim_url("tickets"), timeout=30)
        response.raise_for_status()
        return [parse_ticket(raw) for raw in response.json()["tickets"]]

    def wait_for_write(self, timeout: float) -> bool:
        """Return as soon as the PSA accepts another write (to kill the daemon mid-step)."""
        size = self.write_log.stat().st_size if self.write_log.exists() else 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.write_log.exists() and self.write_log.stat().st_size > size:
                return True
            time.sleep(0.001)
        return False

    def writes(self) -> list[dict[str, Any]]:
        lines = self.write_log.read_text().splitlines() if self.write_log.exists() else []
        return [json.loads(line) for line in lines]

    # -- the daemon ---------------------------------------------------------------------

    def spawn(self) -> Daemon:
        log = self.root / f"daemon-{len(self.logs):03d}.log"
        self.logs.append(log)
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [CLI, "run", "-c", str(self.config_path)],
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        return Daemon(process, log)

    def ledger(self) -> list[LedgerRow]:
        store = Store.open(self.store_url)
        try:
            return store.ledger()
        finally:
            store.close()

    def backlog(self, until: datetime) -> int:
        """Steps due by ``until`` still waiting (planned or firing), read beside the daemon."""
        with closing(sqlite3.connect(self.root / "state.db", timeout=30)) as db:
            (count,) = db.execute(
                "SELECT count(*) FROM ledger WHERE state IN ('planned', 'firing') AND due_at <= ?",
                (us(until),),
            ).fetchone()
        return int(count)

    def drain(self, until: datetime, daemon: Daemon, *, timeout: float) -> int:
        """Wait (at most ``timeout`` real seconds) until the backlog due by ``until`` is gone."""
        deadline = time.monotonic() + timeout
        while (left := self.backlog(until)) and time.monotonic() < deadline:
            assert daemon.process.poll() is None, daemon.log.read_text()[-3000:]
            time.sleep(0.5)
        return left

    def installed_at(self) -> int:
        store = Store.open(self.store_url)
        try:
            value = store.get_cursor("__installed_at__")
        finally:
            store.close()
        assert value is not None, "no daemon ever started"
        return int(value)


@dataclass
class Daemon:
    """One `sla-connector run` process and its JSON log."""

    process: subprocess.Popen[bytes]
    log: Path

    def lines(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue  # a torn last line, or a non-JSON line from a library
        return entries

    def started_at(self) -> datetime | None:
        """The wall-clock instant the daemon logged that it had started, if it has."""
        for entry in self.lines():
            if entry.get("msg") == "daemon started":
                return datetime.fromisoformat(entry["ts"])
        return None

    def wait_started(self, timeout: float) -> datetime | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            started = self.started_at()
            if started is not None:
                return started
            time.sleep(0.02)
        return self.started_at()

    def errors(self) -> list[dict[str, Any]]:
        return [e for e in self.lines() if e.get("level") in ("error", "critical")]


def stop(process: subprocess.Popen[bytes], signum: int, timeout: float) -> int | None:
    """Signal a process and reap it; SIGKILL when it outlives ``timeout``."""
    if process.poll() is None:
        process.send_signal(signum)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        return None


def expected_steps(
    tickets: list[Ticket], policy: Policy, now: datetime, not_before: int
) -> dict[str, int]:
    """Independently from the core: every step fired by ``now`` with its due instant."""
    expected: dict[str, int] = {}
    for ticket in tickets:
        for plan in evaluate(ticket, policy, now).steps:
            if plan.state == "fired" and plan.due_at >= not_before:
                expected[plan.key] = plan.due_at
    return expected


def notes_by_key(writes: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The note writes the PSA accepted, grouped by the ledger key in their marker."""
    found: dict[str, list[str]] = {}
    for write in writes:
        if write["action"] != "add_internal_note":
            continue
        text = write["payload"]["text"]
        start = text.rfind("[sla-connector ")
        assert start >= 0, f"an escalation note without its marker: {text!r}"
        key = text[start + len("[sla-connector ") :].split("]", 1)[0]
        found.setdefault(key, []).append(text)
    return found


def us(instant: datetime) -> int:
    return to_us(instant)
