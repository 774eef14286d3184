"""``sla-connector run``: the daemon in the foreground, as a container or systemd runs it.

JSON logs on stderr; SIGTERM or SIGINT lets in-flight writes finish and exits within 10 s;
``/healthz`` and ``/readyz`` answer on the dashboard port.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvicorn

from sla_connector.cli.common import add_config_argument
from sla_connector.core.calendars import from_us
from sla_connector.core.errors import ConfigError
from sla_connector.core.ports import Clock
from sla_connector.reporting.delivery import Deliverer
from sla_connector.reporting.schedule import monthly_trigger, run_due_reports, weekly_trigger
from sla_connector.runtime.assemble import (
    build_clock,
    build_connectors,
    build_notifier,
    daemon_settings,
    open_store,
)
from sla_connector.runtime.daemon import Daemon
from sla_connector.runtime.logs import configure_logging
from sla_connector.runtime.source import StoreSource
from sla_connector.runtime.timeline import Job, SchedulerTimeline
from sla_connector.settings import AppConfig, load_config, resolve_secret
from sla_connector.store import Store
from sla_connector.web.app import create_app

__all__ = ["register", "run"]

log = logging.getLogger("sla_connector.runtime")


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "run",
        help="run the daemon: poll, enforce, dashboard, reports",
        description="Run the enforcement daemon in the foreground (JSON logs on stderr).",
    )
    add_config_argument(parser)
    parser.add_argument(
        "--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR")
    )
    parser.set_defaults(handler=run)


def _report_job(config: AppConfig, store: Store, clock: Clock) -> Job:
    """Send every due report run: at the cron times, and hourly to catch up after downtime."""
    deliverer = Deliverer(config.notify)
    started = clock.now()

    async def send_due() -> None:
        outcomes = await run_due_reports(
            store, config.policy, config.reports, clock.now(), deliverer, not_before=started
        )
        for outcome in outcomes:
            log.info(
                "report run",
                extra={"event": "report", "state": outcome.state, "kind": outcome.kind},
            )

    return send_due


def run(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config))
    configure_logging(args.log_level)
    return asyncio.run(serve(config))


async def serve(config: AppConfig, stop: asyncio.Event | None = None) -> int:
    """Run until ``stop`` is set (or a signal arrives); returns the exit code."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    clock = build_clock(config)
    store = open_store(config)
    lock = store.acquire_sqlite_owner_lock() if store.dialect == "sqlite" else None
    connectors = build_connectors(config, clock)
    timeline = SchedulerTimeline(clock)
    daemon = Daemon(
        policy=config.policy,
        store=store,
        connectors=connectors,
        clock=clock,
        timeline=timeline,
        settings=daemon_settings(config),
        notifier=build_notifier(config),
    )

    def readiness() -> dict[str, Any]:
        leading = {name: status.leading for name, status in daemon.status.items()}
        polled = {name: status.last_poll_ok for name, status in daemon.status.items()}
        next_due = store.next_due()
        return {
            "ready": daemon.started,
            "leading": leading,
            "last_poll_ok": polled,
            "next_escalation_due": None if next_due is None else from_us(next_due).isoformat(),
        }

    token = None
    if config.dashboard.token_env:
        token = resolve_secret(config.dashboard.token_env)
        if not token:
            raise ConfigError(
                "dashboard.token_env",
                f"environment variable {config.dashboard.token_env} is empty or unset; "
                "set the dashboard token there or remove token_env",
            )
    source = StoreSource(config.policy, store, clock, daemon.status)
    app = create_app(
        source,
        token=token,
        readiness=readiness,
        display_tz=config.reports.timezone,
        public_paths=("/healthz",),  # liveness reveals nothing; /readyz keeps the token
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.dashboard.bind,
            port=config.dashboard.port,
            log_config=None,
            lifespan="off",
        )
    )
    web = asyncio.create_task(server.serve())
    reports = _report_job(config, store, clock)
    try:
        timeline.start()
        await daemon.start()
        if config.reports.recipients:
            timeline.cron("report:weekly", weekly_trigger(config.reports), reports)
            timeline.cron("report:monthly", monthly_trigger(config.reports), reports)
            timeline.every("report:sweep", timedelta(hours=1), reports)  # catch-up and retries
        await stop.wait()
        log.info("stopping", extra={"event": "signal"})
    finally:
        # Pause (no new jobs) rather than shut down first: APScheduler's shutdown cancels
        # running jobs, i.e. in-flight writes, which stop() must let finish.
        if timeline.scheduler.running:
            timeline.scheduler.pause()
        await asyncio.wait_for(daemon.stop(), timeout=9)
        timeline.shutdown()
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(web, timeout=2)
        store.close()
        if lock is not None:
            lock.release()
    return 0
