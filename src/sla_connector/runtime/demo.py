"""``sla-connector demo``: the whole product on the embedded simulator, in virtual time.

Tickets arrive from the simulated PSA for three clients, the daemon runs the clocks and
fires escalations at their due instants, the dashboard answers on loopback while it runs,
and at the end the weekly report is written to disk and summarised. No account, no
network beyond 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sla_connector.core.calendars import from_us
from sla_connector.core.errors import UnavailableError
from sla_connector.core.vocabulary import FIRED_STATES, Vocabulary, is_fired
from sla_connector.reporting.compute import build_report
from sla_connector.reporting.model import Report
from sla_connector.reporting.periods import Period, period_containing, weekly_period
from sla_connector.reporting.render import render_csv, render_html, render_json, render_text
from sla_connector.runtime.clocks import ManualClock
from sla_connector.runtime.daemon import Daemon
from sla_connector.runtime.demo_history import HISTORY_WEEKS, seed_history
from sla_connector.runtime.demo_packs import write_client_files
from sla_connector.runtime.service import Service, vocabulary_of
from sla_connector.runtime.serving import DashboardServer, on_stop_signals
from sla_connector.runtime.timeline import VirtualTimeline
from sla_connector.settings import AppConfig, config_from_mapping, parse_yaml
from sla_connector.store import Store

__all__ = ["DEMO_START", "DemoOptions", "DemoResult", "demo_config", "run_demo"]

DEMO_START = datetime.fromisoformat("2026-11-02T00:00:00+00:00")  # a Monday
_PROGRESS_EVERY = timedelta(hours=6)
_MAX_SLEEP = 0.5


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """``days`` of virtual time at ``speed`` virtual seconds per real second (None: flat out)."""

    days: float = 7.0
    speed: float | None = 1440.0
    out: Path = Path("demo-output")
    port: int = 8321
    start: datetime = DEMO_START
    client_files: bool = True
    history_weeks: int = HISTORY_WEEKS


@dataclass(slots=True)
class DemoResult:
    """What the demo did, for the summary and the tests."""

    report: Report
    report_files: dict[str, Path]
    tickets: int
    escalations_on_time: int
    escalations_late: int
    dashboard_url: str | None
    dashboard_hits: int = 0
    interrupted: bool = False
    states: dict[str, int] = field(default_factory=dict)


def demo_config(options: DemoOptions) -> AppConfig:
    """The bundled demo policy with its state under ``options.out``."""
    text = files("sla_connector.runtime").joinpath("demo_policy.yaml").read_text()
    data = parse_yaml(text, "demo_policy.yaml")
    data["connectors"]["sim"]["start"] = options.start.isoformat()
    data["store"] = {"url": f"sqlite:///{(options.out / 'state.db').resolve()}"}
    data["dashboard"] = {"bind": "127.0.0.1", "port": options.port}
    data["runtime"] = {"owner": "demo"}
    return config_from_mapping(data, "the demo policy")


def _counting(app: Any, hits: dict[str, int]) -> Any:
    """The app, counting the HTTP requests it answers (the summary says how many)."""

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            hits["count"] += 1
        await app(scope, receive, send)

    return counting


async def _serve_dashboard(
    app: Any, port: int, say: Callable[[str], None]
) -> tuple[DashboardServer | None, str | None]:
    server = DashboardServer(app, "127.0.0.1", port, log_level="warning")
    try:
        started = await server.start(wait=True)
    except UnavailableError:
        started = False
    if not started:
        say(f"dashboard: port {port} is not free; running without it (choose one with --port)")
        return None, None
    url = f"http://127.0.0.1:{port}"
    say(f"dashboard: {url}  (live while the demo runs)")
    return server, url


class _Interrupted(Exception):
    """Ctrl-C (or SIGTERM) during the demo: stop virtual time, then report as usual."""


async def _play(service: Service, options: DemoOptions, say: Callable[[str], None]) -> bool:
    """Run virtual time to the demo's end; True when interrupted (Ctrl-C)."""
    assert isinstance(service.clock, ManualClock) and isinstance(service.timeline, VirtualTimeline)
    stop = asyncio.Event()
    pace = _Pacer(options.speed, service.clock, service.store, say, service.daemon, stop)
    try:
        with on_stop_signals(stop.set):
            await service.start()
            say(
                f"simulating {options.days:g} day(s) from {options.start:%a %d %b %Y} "
                f"at {'maximum speed' if options.speed is None else f'{options.speed:g}x'}"
            )
            end = options.start + timedelta(days=options.days)
            await service.timeline.run_until(end, pace=pace)
    except (_Interrupted, asyncio.CancelledError):
        return True
    return False


def _ledger_states(store: Store, vocabulary: Vocabulary) -> tuple[dict[str, int], int, int]:
    """Ledger rows per state, and the fired ones on time and late."""
    ledger = store.ledger()
    states: dict[str, int] = {}
    for row in ledger:
        states[row.state] = states.get(row.state, 0) + 1
    fired = [row for row in ledger if is_fired(row.state)]
    late = vocabulary.count_late(row.lateness_us for row in fired)
    return states, len(fired) - late, late


async def run_demo(options: DemoOptions, say: Callable[[str], None] = print) -> DemoResult:
    """Run the demo to its end (or until cancelled) and write the weekly report."""
    options.out.mkdir(parents=True, exist_ok=True)
    for stale in options.out.glob("state.db*"):
        stale.unlink()
    config = demo_config(options)
    banner = (
        f"Demo, simulated time: a simulated PSA from {options.start:%a %d %b %Y}, "
        f"with {options.history_weeks} weeks of history before enforcement starts"
    )
    service = Service.build(
        config, clock=ManualClock(options.start), cache_seconds=0.5, banner=banner
    )
    hits = {"count": 0}
    server, url = await _serve_dashboard(_counting(service.dashboard, hits), options.port, say)
    await _seed(service, options, say)
    try:
        interrupted = await _play(service, options, say)
    finally:
        await service.daemon.stop()
        if server is not None:
            await server.stop(timeout=3)
    store, now = service.store, service.clock.now()
    period = _report_period(options.start, now, config.reports.timezone)
    vocabulary = vocabulary_of(config)
    report = build_report(
        store, config.policy, period, now, timezone=config.reports.timezone, vocabulary=vocabulary
    )
    states, on_time, late = _ledger_states(store, vocabulary)
    files = _write_report(report, options.out)
    if options.client_files:  # each client's weekly report and monthly pack (issue 15)
        files |= write_client_files(
            store, config, now=now, weekly=period, out=options.out, vocabulary=vocabulary, say=say
        )
    result = DemoResult(
        report=report,
        report_files=files,
        tickets=store.count_tickets(),
        escalations_on_time=on_time,
        escalations_late=late,
        dashboard_url=url,
        dashboard_hits=hits["count"],
        interrupted=interrupted,
        states=states,
    )
    store.close()
    return result


async def _seed(service: Service, options: DemoOptions, say: Callable[[str], None]) -> None:
    """Store the history (in a worker thread, so the dashboard already answers), before
    the daemon's first poll."""
    began = time.monotonic()
    seeded = await asyncio.to_thread(
        seed_history,
        service.config.policy,
        service.connectors,
        service.store,
        options.start,
        weeks=options.history_weeks,
        remember=service.dashboard.state.evaluations.prime,
    )
    if seeded:
        say(
            f"history: {seeded} resolved tickets over the {options.history_weeks} weeks before "
            f"{options.start:%d %b %Y}, before enforcement (stored in "
            f"{time.monotonic() - began:.1f} s)"
        )


def _report_period(start: datetime, now: datetime, timezone: str) -> Period:
    """The last complete week, as on a Monday morning; a shorter demo's week so far."""
    zone = ZoneInfo(timezone)
    if now - start >= timedelta(days=7):
        return weekly_period(now, zone)
    return period_containing("weekly", start.astimezone(zone))


def _write_report(report: Report, out: Path) -> dict[str, Path]:
    stem = f"weekly-{report.period.start:%Y-%m-%d}"
    written = {
        "html": out / f"{stem}.html",
        "txt": out / f"{stem}.txt",
        "json": out / f"{stem}.json",
        "csv": out / f"{stem}.csv",
    }
    written["html"].write_text(render_html(report))
    written["txt"].write_text(render_text(report))
    written["json"].write_bytes(render_json(report))
    written["csv"].write_text(render_csv(report))
    return written


@dataclass
class _Pacer:
    """Slows virtual time to ``speed`` and reports progress every few virtual hours; stops
    the run (``_Interrupted``) once ``stop`` is set."""

    speed: float | None
    clock: ManualClock
    store: Store
    say: Callable[[str], None]
    daemon: Daemon
    stop: asyncio.Event
    next_progress: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.next_progress = self.clock.now() + _PROGRESS_EVERY

    async def __call__(self, upcoming: datetime) -> None:
        while self.speed is not None and upcoming > self.clock.now() and not self.stop.is_set():
            step = min((upcoming - self.clock.now()).total_seconds() / self.speed, _MAX_SLEEP)
            await asyncio.sleep(step)
            self.clock.set(min(upcoming, self.clock.now() + timedelta(seconds=step * self.speed)))
        if self.speed is None:
            await asyncio.sleep(0)  # let the dashboard (and a Ctrl-C) in between jobs
        if self.stop.is_set():
            raise _Interrupted
        if upcoming >= self.next_progress:
            self.next_progress = upcoming + _PROGRESS_EVERY
            self.say(self._progress(upcoming))

    def _progress(self, at: datetime) -> str:
        fired = sum(
            count
            for status in self.daemon.status.values()
            for state, count in status.fired.items()
            if state in FIRED_STATES
        )
        following = self.store.next_due()
        due = (
            "" if following is None else f"; next escalation due {from_us(following):%a %H:%M} UTC"
        )
        return (
            f"  {at:%a %d %b %H:%M} UTC: {self.store.count_tickets()} tickets, "
            f"{fired} escalations fired{due}"
        )


_KINDS = ("response", "resolution", "ticket")


def _cell(row: Any, kind: str) -> str:
    cell = getattr(row, kind)
    rate = "n/a" if cell.rate is None else f"{cell.rate * 100:.1f}%"
    return f"{kind} {rate} ({cell.met}/{cell.met + cell.breached})"


def format_summary(result: DemoResult) -> str:
    """The closing summary: tickets, adherence per client and tier, escalations, report path."""
    report = result.report
    lines = [
        "",
        f"Demo {'interrupted' if result.interrupted else 'finished'}: {result.tickets} tickets; "
        f"escalations fired: {result.escalations_on_time} on time, {result.escalations_late} late",
        f"Weekly report {report.period.start:%d %b} - "
        f"{report.period.end - timedelta(days=1):%d %b %Y}"
        f"{' (so far)' if report.period.end > report.generated_at else ''}: "
        "adherence (met / decided)",
    ]
    for label, rows in (("client", report.clients), ("tier", report.tiers)):
        for row in rows:
            name = row.client if label == "client" else row.tier  # type: ignore[union-attr]
            lines.append(f"  {label} {name:8} " + "  ".join(_cell(row, kind) for kind in _KINDS))
    lines.append(f"Report: {result.report_files['html']} (also .txt, .json, .csv)")
    packs = [str(path) for key, path in result.report_files.items() if key.endswith("-monthly")]
    if packs:
        lines.append(f"Client packs: {', '.join(packs)} (and each client's weekly report)")
    return "\n".join(lines)
