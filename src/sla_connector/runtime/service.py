"""The composition root: the running daemon built from a validated ``AppConfig``.

``Service.build(config)`` is the one place that wires the product: the clock, the store,
the connectors (through the entry-point registry), the timeline, the escalation notices,
the daemon, the dashboard app and the report jobs. ``sla-connector run`` (``serve``), the
demo and the tests all build the daemon here, so what is tested is what runs. Each part is
built by a named function below, in the order ``build`` calls them.

Given a ``ManualClock`` the service runs in discrete-event virtual time (the demo, the
runtime tests); otherwise on the wall clock, or on ``runtime.clock``'s accelerated one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from sla_connector.core.calendars import from_us, to_us
from sla_connector.core.errors import ConfigError, StoreError
from sla_connector.core.plugins import ConnectorPlugin
from sla_connector.core.ports import Clock, Connector
from sla_connector.core.vocabulary import Vocabulary
from sla_connector.registry import load_connector_factory
from sla_connector.runtime.clocks import ManualClock, ScaledClock, SystemClock
from sla_connector.runtime.daemon import Daemon, DaemonSettings
from sla_connector.runtime.escalator import Notifier
from sla_connector.runtime.notifications import NotifyPolicy
from sla_connector.runtime.notify import log_notifier, slack_notifier
from sla_connector.runtime.redaction import read_secret, remember, remember_password_of
from sla_connector.runtime.report_jobs import ReportJob
from sla_connector.runtime.serving import DashboardServer, listen, on_stop_signals
from sla_connector.runtime.source import StoreSource
from sla_connector.runtime.timeline import SchedulerTimeline, Timeline, VirtualTimeline
from sla_connector.settings import AppConfig, require_secret, resolve_secret
from sla_connector.settings.services import ConnectorConfig, is_loopback
from sla_connector.store import OwnerLock, Store
from sla_connector.web.app import create_app
from sla_connector.web.portal import PortalSettings, mint_link

__all__ = [
    "Service",
    "allowed_hosts",
    "build_clock",
    "build_connectors",
    "build_dashboard",
    "build_notifier",
    "connector_settings",
    "daemon_settings",
    "dashboard_token",
    "evidence_key",
    "open_store",
    "portal_link",
    "portal_settings",
    "psa_links",
    "public_without_token",
    "serve",
    "store_url",
    "vocabulary_of",
    "warn_if_public",
]

log = logging.getLogger("sla_connector.runtime")
Environ = Mapping[str, str] | None


def vocabulary_of(config: AppConfig) -> Vocabulary:
    """ "Late" and "at risk" as configured (``runtime.late_after``, ``adherence.at_risk``)."""
    return Vocabulary(late_after=config.runtime.late_after, at_risk=config.adherence.at_risk)


def build_clock(config: AppConfig) -> SystemClock | ScaledClock:
    """The wall clock, or accelerated virtual time when ``runtime.clock`` says so."""
    virtual = config.runtime.clock
    if virtual is None:
        return SystemClock()
    return ScaledClock(start=virtual.start, anchor=virtual.anchor, speed=virtual.speed)


def connector_settings(config: AppConfig, name: str) -> dict[str, Any]:
    """The raw mapping of one ``connectors.<name>`` entry, as the connector factory expects."""
    return config.connectors[name].model_dump(mode="python")


def build_connectors(config: AppConfig, clock: Clock) -> dict[str, Connector]:
    """One connector per configured entry, through the entry-point registry.

    The secrets its ``*_env`` keys name are remembered first, so that no log line shows
    them whatever a PSA's error message carries (``runtime.redaction``).
    """
    built: dict[str, Connector] = {}
    for name, entry in config.connectors.items():
        settings = connector_settings(config, name)
        for key, variable in settings.items():
            if key.endswith("_env") and isinstance(variable, str):
                read_secret(variable, f"connectors.{name}.{key}")
        factory = load_connector_factory(entry.type, name)
        built[name] = factory(name, settings, clock)
    return built


def store_url(config: AppConfig, environ: Environ = None) -> str:
    """``store.url``, or the URL in the variable ``store.url_env`` names (for a password).

    A named variable that is unset is an error, not a fall-back: two replicas silently
    falling back to their own SQLite files would both lead every connector. The URL's
    password is kept out of the logs (``runtime.redaction``).
    """
    url = config.store.url
    if config.store.url_env:
        url = require_secret(config.store.url_env, "store.url_env", environ)
    remember_password_of(url)
    return url


def evidence_key(config: AppConfig, environ: Environ = None) -> bytes | None:
    """The evidence log's key from ``store.evidence_key_env`` (or its ``_FILE``); None when
    no key is configured (an unkeyed chain). A named variable that is unset is an error."""
    variable = config.store.evidence_key_env
    if not variable:
        return None
    key = require_secret(variable, "store.evidence_key_env", environ)
    remember(key)
    return key.encode()


def open_store(config: AppConfig, environ: Environ = None) -> Store:
    return Store.open(
        store_url(config, environ),
        max_attempts=config.runtime.max_attempts,
        evidence_key=evidence_key(config, environ),
    )


DEFAULT_RECONCILE_INTERVAL = timedelta(hours=1)
"""Between full reads when neither the configuration nor the connector type says."""


def reconcile_interval(entry: ConnectorConfig) -> timedelta:
    """``connectors.<name>.reconcile_interval``, else the connector type's own default
    (``ConnectorSettings.reconcile_interval``: ConnectWise 24 h, where a full read re-reads
    histories), else ``DEFAULT_RECONCILE_INTERVAL``."""
    configured: timedelta | None = entry.reconcile_interval
    if configured is not None:
        return configured
    factory = load_connector_factory(entry.type)
    declared = factory.declaration if isinstance(factory, ConnectorPlugin) else None
    if declared is not None and declared.reconcile_interval is not None:
        return declared.reconcile_interval
    return DEFAULT_RECONCILE_INTERVAL


def daemon_settings(config: AppConfig, *, virtual: bool = False) -> DaemonSettings:
    """The daemon's knobs; ``virtual`` for a discrete-event run where real time does not pass.

    Leadership is about live processes, so it ticks every 5 s of real time: scaled by the
    clock's speed in accelerated time, and hourly in a discrete-event simulation.
    """
    runtime = config.runtime
    speed = runtime.clock.speed if runtime.clock is not None else 1.0
    leadership = timedelta(hours=1) if virtual else timedelta(seconds=5 * speed)
    owner = runtime.owner or f"{socket.gethostname()}:{os.getpid()}"
    return DaemonSettings(
        poll_intervals={name: c.poll_interval for name, c in config.connectors.items()},
        reconcile_intervals={name: reconcile_interval(c) for name, c in config.connectors.items()},
        owner=owner,
        dry_run=runtime.dry_run,
        horizon=runtime.horizon,
        backfill=runtime.backfill,
        retry_backoff=runtime.retry_backoff,
        leadership_interval=leadership,
        replica_timeout=timedelta(seconds=15),
        vocabulary=vocabulary_of(config),
        # Notices are retried on the wall clock's pace: 10 s, doubling, 6 posts in all.
        notify=NotifyPolicy(
            backoff=timedelta(seconds=10 * speed),
            max_backoff=timedelta(minutes=10 * speed),
            sweep=leadership,
        ),
    )


def build_notifier(config: AppConfig, environ: Environ = None) -> Notifier:
    """Escalation notices: Slack (through the reports' delivery code) when ``notify.slack``
    is configured, else the log."""
    if config.notify.slack is not None:
        return slack_notifier(config.notify.slack.webhook_env, environ=environ)
    return log_notifier


def dashboard_token(config: AppConfig, environ: Environ = None) -> str | None:
    """The dashboard's bearer token from ``dashboard.token_env``; None when not configured."""
    variable = config.dashboard.token_env
    if not variable:
        return None
    token = resolve_secret(variable, environ)
    remember(token)
    if not token:
        raise ConfigError(
            "dashboard.token_env",
            f"environment variable {variable} is empty or unset; "
            "set the dashboard token there or remove token_env",
        )
    return token


def readiness_of(daemon: Daemon, store: Store) -> dict[str, Any]:
    """``/readyz``: started, the store writable, which connectors this replica leads,
    their polls, what is next; not ready while the store fails (``runtime.storehealth``)."""
    health = daemon.store_health
    problem: str | None
    try:
        next_due = store.next_due() if health.ok else None
    except StoreError as exc:
        next_due, problem = None, str(exc)
    else:
        problem = health.problem
    return {
        "ready": daemon.started and problem is None,
        "store": {**health.report(), "ok": problem is None, "problem": problem},
        "leading": {name: status.leading for name, status in daemon.status.items()},
        "last_poll_ok": {name: status.last_poll_ok for name, status in daemon.status.items()},
        "next_escalation_due": None if next_due is None else from_us(next_due).isoformat(),
    }


def portal_settings(config: AppConfig, environ: Environ = None) -> PortalSettings:
    """The client portal's credentials, read before anything starts: a client's
    ``portal.token_env`` or the ``dashboard.portal_link_key_env`` that is unset is a
    ``ConfigError`` naming the key (the daemon does not start half-configured). Without
    any, the portal opens to the MSP's dashboard credential only."""
    tokens: dict[str, str] = {}
    for key, client in config.clients.items():
        if client.portal is not None:
            path = f"clients.{key}.portal.token_env"
            tokens[key] = require_secret(client.portal.token_env, path, environ)
            remember(tokens[key])
    link_key = None
    if config.dashboard.portal_link_key_env:
        variable = config.dashboard.portal_link_key_env
        link_key = require_secret(variable, "dashboard.portal_link_key_env", environ)
        remember(link_key)
    if len(set(tokens.values())) < len(tokens):
        raise ConfigError(
            "clients", "two clients have the same portal token; give each client its own"
        )
    archive = config.reports.archive_dir
    return PortalSettings(
        tokens=tokens, link_key=link_key, archive_dir=None if archive is None else Path(archive)
    )


def portal_link(
    config: AppConfig, client: str, base_url: str, now: datetime, environ: Environ = None
) -> str | None:
    """A signed link to ``client``'s portal for the report email, valid for
    ``dashboard.portal_link_days`` from ``now``; None without ``portal_link_key_env``."""
    variable = config.dashboard.portal_link_key_env
    if not variable:
        return None
    key = require_secret(variable, "dashboard.portal_link_key_env", environ)
    remember(key)
    expires = now + timedelta(days=config.dashboard.portal_link_days)
    return mint_link(base_url, client, key, expires=expires)


def psa_links(connectors: Mapping[str, Connector]) -> dict[str, str]:
    """Each connector's URL template of a ticket's page in the PSA, where it has one."""
    links = {}
    for name, connector in connectors.items():
        template = getattr(connector, "ticket_url", None)
        if isinstance(template, str) and "{id}" in template:
            links[name] = template
    return links


def build_dashboard(
    config: AppConfig,
    store: Store,
    clock: Clock,
    daemon: Daemon,
    *,
    token: str | None,
    cache_seconds: float = 2.0,
    portal: PortalSettings | None = None,
    banner: str | None = None,
) -> Starlette:
    """The dashboard, JSON API, /metrics and the client portal over the store and the
    daemon's health."""
    source = StoreSource(config.policy, store, clock, daemon.status, psa_links(daemon.connectors))
    return create_app(
        source,
        token=token,
        readiness=lambda: readiness_of(daemon, store),
        vocabulary=vocabulary_of(config),
        display_tz=config.reports.timezone,
        cache_seconds=cache_seconds,
        public_paths=("/healthz",),  # liveness reveals nothing; /readyz keeps the token
        portal=portal,
        banner=banner,
        allowed_hosts=allowed_hosts(config),
    )


def allowed_hosts(config: AppConfig) -> tuple[str, ...] | None:
    """The ``Host`` names the dashboard answers to besides loopback: the configured ones,
    and the bind address when it is a specific one (not ``0.0.0.0`` or ``::``).

    None (no Host check) with a token and no ``allowed_hosts``: the token already defeats
    DNS rebinding (a rebound page has neither the token nor the cookie, which the browser
    keeps for the real name), and a probe or Prometheus may use any name or pod address.
    """
    dashboard = config.dashboard
    if dashboard.token_env and not dashboard.allowed_hosts:
        return None
    own = () if dashboard.bind in ("0.0.0.0", "::", "") else (dashboard.bind,)
    return (*dashboard.allowed_hosts, *own)


def public_without_token(config: AppConfig) -> bool:
    """Whether the dashboard is served beyond loopback without a token (which the settings
    allow only with ``dashboard.allow_public_without_token``)."""
    dashboard = config.dashboard
    return dashboard.token_env is None and not is_loopback(dashboard.bind)


def warn_if_public(config: AppConfig) -> None:
    """Log a warning when the dashboard is served beyond loopback without a token."""
    dashboard = config.dashboard
    if public_without_token(config):
        log.warning(
            "dashboard served without a token",
            extra={
                "event": "dashboard",
                "bind": dashboard.bind,
                "detail": "anyone who can reach this address reads every client's figures "
                "(dashboard.allow_public_without_token is true)",
            },
        )


@dataclass
class Service:
    """The daemon and everything around it, built once from the configuration."""

    config: AppConfig
    clock: Clock
    timeline: Timeline
    store: Store
    daemon: Daemon
    dashboard: Starlette
    reports: ReportJob | None
    lock: OwnerLock | None = None

    @classmethod
    def build(
        cls,
        config: AppConfig,
        *,
        clock: Clock | None = None,
        environ: Environ = None,
        cache_seconds: float = 2.0,
        banner: str | None = None,
    ) -> Service:
        """Build every part; a ``ManualClock`` makes it a discrete-event run (no real time).

        ``environ`` replaces ``os.environ`` as the source of the secrets the config names.
        """
        virtual = isinstance(clock, ManualClock)
        running_clock = clock or build_clock(config)
        token = dashboard_token(config, environ)
        portal = portal_settings(config, environ)
        store = open_store(config, environ)
        # One `run` per SQLite file; a simulation in virtual time owns its files anyway.
        lock = None if virtual else store.acquire_sqlite_owner_lock()
        try:
            timeline = _timeline(running_clock)
            daemon = Daemon(
                policy=config.policy,
                store=store,
                connectors=build_connectors(config, running_clock),
                clock=running_clock,
                timeline=timeline,
                settings=daemon_settings(config, virtual=virtual),
                notifier=build_notifier(config, environ),
                notify_channel="log" if config.notify.slack is None else "slack",
            )
        except BaseException:
            _close(store, lock)
            raise
        return cls(
            config=config,
            clock=running_clock,
            timeline=timeline,
            store=store,
            daemon=daemon,
            dashboard=build_dashboard(
                config,
                store,
                running_clock,
                daemon,
                token=token,
                cache_seconds=cache_seconds,
                portal=portal,
                banner=banner,
            ),
            reports=_report_job(config, store, running_clock, environ),
            lock=lock,
        )

    @property
    def connectors(self) -> Mapping[str, Connector]:
        return self.daemon.connectors

    @property
    def virtual(self) -> bool:
        return isinstance(self.timeline, VirtualTimeline)

    async def start(self) -> None:
        """Start the timeline, the daemon (leadership, reconcile, polls) and the report jobs."""
        if isinstance(self.timeline, SchedulerTimeline):
            self.timeline.start()
        # A key configured on an existing unkeyed log: anchor it before anything else.
        self.store.anchor_evidence_key(at=to_us(self.clock.now()))
        await self.daemon.start()
        if self.reports is not None:
            self.reports.arm(self.timeline)

    async def stop(self) -> None:
        """Let in-flight writes finish (at most 9 s), then stop the timeline, close the store."""
        try:
            if isinstance(self.timeline, SchedulerTimeline):
                # Pause (no new jobs) rather than shut down first: shutting down cancels
                # running jobs, i.e. in-flight writes, which stop() must let finish.
                self.timeline.pause()
                await asyncio.wait_for(self.daemon.stop(), timeout=9)
                self.timeline.shutdown()
            else:
                await self.daemon.stop()
        finally:
            _close(self.store, self.lock)


def _close(store: Store, lock: OwnerLock | None) -> None:
    store.close()
    if lock is not None:
        lock.release()


def _report_job(
    config: AppConfig, store: Store, clock: Clock, environ: Environ
) -> ReportJob | None:
    """The scheduled reports' job, when anyone is to receive them."""
    if not config.reports.recipients:
        return None
    return ReportJob(
        config.reports,
        config.notify,
        config.policy,
        store,
        clock,
        started=clock.now(),
        vocabulary=vocabulary_of(config),
        environ=environ,
    )


def _timeline(clock: Clock) -> Timeline:
    if isinstance(clock, ManualClock):
        return VirtualTimeline(clock)
    if isinstance(clock, SystemClock | ScaledClock):
        return SchedulerTimeline(clock)
    raise TypeError(f"no timeline runs on a {type(clock).__name__}")


async def serve(config: AppConfig, stop: asyncio.Event | None = None) -> int:
    """``sla-connector run``: serve until ``stop`` is set or SIGTERM/SIGINT; the exit code."""
    stop = stop or asyncio.Event()
    # A busy dashboard port stops start-up first, before the store or a PSA is touched.
    sock = listen(config.dashboard.bind, config.dashboard.port)
    with on_stop_signals(stop.set):
        try:
            service = Service.build(config)
        except BaseException:
            sock.close()
            raise
        warn_if_public(config)
        server = DashboardServer(service.dashboard, config.dashboard.bind, config.dashboard.port)
        await server.start(sock=sock)
        try:
            await service.start()
            await stop.wait()
            log.info("stopping", extra={"event": "signal"})
        finally:
            try:
                await service.stop()
            finally:
                await server.stop()
    return 0
