"""Build the daemon's parts from the validated configuration (the composition root)."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from typing import Any

from sla_connector.core.ports import Clock, Connector
from sla_connector.registry import load_connector_factory
from sla_connector.runtime.clocks import ScaledClock, SystemClock
from sla_connector.runtime.daemon import DaemonSettings
from sla_connector.runtime.escalator import Notifier
from sla_connector.runtime.notify import log_notifier, slack_notifier
from sla_connector.settings import AppConfig, require_secret
from sla_connector.store import Store

__all__ = [
    "build_clock",
    "build_connectors",
    "build_notifier",
    "daemon_settings",
    "open_store",
    "store_url",
]


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
    """One connector per configured entry, through the entry-point registry."""
    built: dict[str, Connector] = {}
    for name, entry in config.connectors.items():
        factory = load_connector_factory(entry.type, name)
        built[name] = factory(name, connector_settings(config, name), clock)
    return built


def store_url(config: AppConfig) -> str:
    """``store.url``, or the URL in the variable ``store.url_env`` names (for a password).

    A named variable that is unset is an error, not a fall-back: two replicas silently
    falling back to their own SQLite files would both lead every connector.
    """
    if config.store.url_env:
        return require_secret(config.store.url_env, "store.url_env")
    return config.store.url


def open_store(config: AppConfig) -> Store:
    return Store.open(store_url(config), max_attempts=config.runtime.max_attempts)


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
        reconcile_intervals={name: c.reconcile_interval for name, c in config.connectors.items()},
        owner=owner,
        dry_run=runtime.dry_run,
        horizon=runtime.horizon,
        backfill=runtime.backfill,
        retry_backoff=runtime.retry_backoff,
        leadership_interval=leadership,
        replica_timeout=timedelta(seconds=15),
    )


def build_notifier(config: AppConfig) -> Notifier:
    """Slack when ``notify.slack`` is configured, else the log."""
    if config.notify.slack is not None:
        return slack_notifier(config.notify.slack.webhook_env)
    return log_notifier
