"""The enforcement daemon: poll each PSA, plan, fire at the due instant, survive restarts.

``Daemon`` holds no state of its own that matters across a restart: cursors, clocks,
the ledger and the evidence log live in the store, so ``start`` re-arms everything from
there.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sla_connector.core.calendars import from_us, to_us
from sla_connector.core.errors import FatalConnectorError, RetriableConnectorError, StoreError
from sla_connector.core.policy import Policy
from sla_connector.core.ports import Clock, Connector, ObjectFailure
from sla_connector.core.vocabulary import Vocabulary
from sla_connector.runtime.escalator import Escalator, Notifier
from sla_connector.runtime.isolation import ObjectFailures
from sla_connector.runtime.planner import Planner
from sla_connector.runtime.storehealth import StoreHealth
from sla_connector.runtime.timeline import Timeline
from sla_connector.runtime.withdrawals import restore, withdraw
from sla_connector.store import Store

__all__ = ["ConnectorStatus", "Daemon", "DaemonSettings"]

log = logging.getLogger("sla_connector.runtime")
INSTALLED_KEY = "__installed_at__"


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    """The runtime knobs the daemon needs, taken from ``runtime`` and ``connectors``."""

    poll_intervals: Mapping[str, timedelta]
    reconcile_intervals: Mapping[str, timedelta]
    owner: str
    dry_run: bool = False
    horizon: timedelta = timedelta(days=90)
    backfill: timedelta = timedelta(hours=1)
    retry_backoff: timedelta = timedelta(seconds=30)
    leadership_interval: timedelta = timedelta(seconds=5)
    replica_timeout: timedelta = timedelta(seconds=15)
    vocabulary: Vocabulary = field(default_factory=Vocabulary)


@dataclass(slots=True)
class ConnectorStatus:
    """What the health endpoints and metrics report about one connector."""

    leading: bool = False
    last_poll_at: datetime | None = None
    last_poll_ok: bool | None = None
    last_error: str | None = None
    poll_errors: int = 0
    polls: int = 0
    last_poll_seconds: float = 0.0
    retry_after: datetime | None = None
    failures_in_a_row: int = 0
    fired: dict[str, int] = field(default_factory=dict)
    objects: ObjectFailures = field(default_factory=ObjectFailures)

    @property
    def failing(self) -> tuple[str, ...]:
        """The objects failing now inside the connector, one line each (issue 12 item 4)."""
        return self.objects.lines

    @property
    def failing_by_kind(self) -> dict[str, int]:
        """How many objects of each kind are failing now."""
        counts: dict[str, int] = {}
        for failure in self.objects.failing:
            counts[failure.kind] = counts.get(failure.kind, 0) + 1
        return counts

    @property
    def object_errors(self) -> dict[str, int]:
        """Failed attempts per object kind since start (each back-off step counted once)."""
        return dict(self.objects.errors)

    @property
    def warnings(self) -> tuple[str, ...]:
        """The connector's warnings for an operator (``HealthReporter``)."""
        return self.objects.warnings


class Daemon:
    """Wires policy, store, connectors and a timeline into the enforcement loop."""

    def __init__(
        self,
        *,
        policy: Policy,
        store: Store,
        connectors: Mapping[str, Connector],
        clock: Clock,
        timeline: Timeline,
        settings: DaemonSettings,
        notifier: Notifier | None = None,
    ) -> None:
        self.policy = policy
        self.store = store
        self.connectors = dict(connectors)
        self.clock = clock
        self.timeline = timeline
        self.settings = settings
        self.status = {name: ConnectorStatus() for name in connectors}
        self.escalator = Escalator(
            policy,
            store,
            connectors,
            clock,
            owner=settings.owner,
            dry_run=settings.dry_run,
            notifier=notifier,
            vocabulary=settings.vocabulary,
        )
        self.planner: Planner | None = None
        self.store_health = StoreHealth(clock)
        self.started = False
        self._busy: set[asyncio.Task[Any]] = set()

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Take leadership, reconcile interrupted writes, arm polls and timers."""
        now = self.clock.now()
        installed = self.store.get_cursor(INSTALLED_KEY)
        if installed is None:
            installed = str(to_us(now))
            self.store.set_cursor(INSTALLED_KEY, installed, at=to_us(now))
        not_before = int(installed) - int(self.settings.backfill.total_seconds() * 1_000_000)
        self.planner = Planner(
            self.policy,
            self.store,
            self.clock,
            horizon=self.settings.horizon,
            not_before=not_before,
        )
        await self._lead()
        for name in self.connectors:
            self.timeline.every(
                f"poll:{name}", self.settings.poll_intervals[name], self._job(self.poll, name)
            )
        self.timeline.every("leadership", self.settings.leadership_interval, self._lead_guarded)
        self.started = True
        log.info("daemon started", extra={"event": "start", "connectors": sorted(self.connectors)})

    async def stop(self) -> None:
        """Let in-flight polls and writes finish, then close the connectors."""
        self.escalator.stopping = True
        for name in list(self.connectors):
            self.timeline.cancel(f"poll:{name}")
            self.timeline.cancel(f"fire:{name}")
        self.timeline.cancel("leadership")
        if self._busy:
            await asyncio.wait(self._busy, timeout=8)
        for connector in self.connectors.values():
            await connector.aclose()
        for name, status in self.status.items():
            if status.leading:
                self.store.release_lead(name)
        self.store.forget_replica(self.settings.owner)
        log.info("daemon stopped", extra={"event": "stop"})

    def _job(self, method, name: str):  # type: ignore[no-untyped-def]
        async def run() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._busy.add(task)
            try:
                await self._guarded(lambda: method(name), name, f"{method.__name__}:{name}")
            finally:
                if task is not None:
                    self._busy.discard(task)

        return run

    async def _guarded(self, call: Callable[[], Awaitable[None]], name: str, label: str) -> None:
        """Run a job unless the store is backing off; a store failure backs off, logged at
        most once a minute (``runtime.storehealth``), and re-arms the connector's timer for
        when the back-off ends."""
        health = self.store_health
        if health.backing_off():
            return
        try:
            await call()
            if not health.ok:
                self.fair_share()  # a heartbeat: a write, so the store is proven writable
        except StoreError as exc:
            health.failed(exc, label)
            if name in self.connectors and not self.escalator.stopping:
                self.timeline.at(f"fire:{name}", health.retry_at, self._job(self.fire, name))
            return
        health.succeeded()

    async def _lead_guarded(self) -> None:
        await self._guarded(self._lead, "leadership", "leadership")

    def fair_share(self) -> int:
        """How many connectors this replica may lead: all of them divided among live replicas."""
        wall = int(time.time() * 1_000_000)
        self.store.heartbeat(self.settings.owner, at=wall)
        since = wall - int(self.settings.replica_timeout.total_seconds() * 1_000_000)
        replicas = max(1, len(self.store.live_replicas(since=since)))
        return math.ceil(len(self.connectors) / replicas)

    async def _lead(self) -> None:
        """Lead up to a fair share of connectors; notice a lost lead (HA on PostgreSQL).

        A connector's lead is a PostgreSQL advisory lock held by this replica's session, so
        a killed leader frees it and a standby takes it on its next tick.
        """
        share = self.fair_share()
        for name, status in self.status.items():
            if status.leading and not self.store.leads(name):
                status.leading = False
                self.timeline.cancel(f"fire:{name}")
                log.warning("lost the lead", extra={"event": "leadership", "connector": name})
        leading = [name for name, status in self.status.items() if status.leading]
        for name in leading[share:]:
            self.store.release_lead(name)
            self.status[name].leading = False
            self.timeline.cancel(f"fire:{name}")
            log.info("handed over", extra={"event": "leadership", "connector": name})
        for name, status in self.status.items():
            if status.leading or sum(s.leading for s in self.status.values()) >= share:
                continue
            if self.store.try_lead(name):
                status.leading = True
                log.info("leading", extra={"event": "leadership", "connector": name})
                await self.escalator.reconcile(name)
                self.arm(name)

    # -- jobs -------------------------------------------------------------------------

    async def poll(self, name: str) -> None:
        """One poll cycle of a connector: changed tickets in, plans merged, timer re-armed."""
        status = self.status[name]
        if not status.leading or self.planner is None:
            return
        connector = self.connectors[name]
        started = self.clock.now()
        now_us = to_us(started)
        cursor = self.store.get_cursor(name)
        last_full = self.store.last_full_read(name)
        reconcile = self.settings.reconcile_intervals[name]
        full = (
            cursor is None
            or last_full is None
            or now_us - last_full >= reconcile.total_seconds() * 1e6
        )
        status.polls += 1
        status.last_poll_at = started
        wall = asyncio.get_running_loop().time()
        seen: list[ObjectFailure] = []
        try:
            async for page in connector.fetch_changed(None if full else cursor):
                status.objects.record(name, page.failures)
                seen.extend(page.failures)
                if page.tickets:
                    restore(self.store, name, [t.id for t in page.tickets], at=now_us)
                # Off the event loop: however long a page's tickets take to evaluate, the
                # timers, the dashboard and SIGTERM are served meanwhile (issue 11 item 1).
                outcome = await asyncio.to_thread(self.planner.ingest, page.tickets)
                if outcome.outcomes:
                    self.store.append_evidence(
                        "clock_outcomes", {"outcomes": outcome.outcomes}, at=now_us
                    )
                for ticket_id, reason in page.rejected:
                    log.warning(
                        "ticket rejected",
                        extra={
                            "event": "reject",
                            "connector": name,
                            "ticket": ticket_id,
                            "reason": reason,
                        },
                    )
                for gone in page.withdrawn:
                    withdraw(self.store, name, gone.ticket_id, gone.reason, gone.detail, at=now_us)
                if page.cursor is not None:
                    self.store.set_cursor(name, page.cursor, at=now_us)
            if full:
                self.store.set_last_full_read(name, now_us)
            status.last_poll_ok = True
            status.last_error = None
        except (RetriableConnectorError, FatalConnectorError) as exc:
            status.last_poll_ok = False
            status.poll_errors += 1
            status.last_error = str(exc)
            level = logging.WARNING if isinstance(exc, RetriableConnectorError) else logging.ERROR
            log.log(
                level, "poll failed", extra={"event": "poll", "connector": name, "error": str(exc)}
            )
        finally:
            status.last_poll_seconds = asyncio.get_running_loop().time() - wall
            status.objects.refresh(name, connector, seen)
        self.arm(name)

    async def fire(self, name: str) -> None:
        """Fire what is due for a connector, then re-arm its timer."""
        status = self.status[name]
        if not status.leading:
            return
        now = self.clock.now()
        if status.retry_after is not None and now < status.retry_after:
            self.arm(name)
            return
        results = await self.escalator.fire_due(name)
        for result in results:
            status.fired[result.state] = status.fired.get(result.state, 0) + 1
        if any(result.state == "retry" for result in results):
            status.failures_in_a_row += 1
            backoff = self.settings.retry_backoff * min(2 ** (status.failures_in_a_row - 1), 10)
            status.retry_after = self.clock.now() + backoff
        else:
            status.failures_in_a_row = 0
            status.retry_after = None
        self.arm(name)

    def arm(self, name: str) -> None:
        """Point the connector's timer at its next due step (after any retry back-off)."""
        if self.escalator.stopping:
            return
        following = self.store.next_due(name)
        when = None if following is None else from_us(following)
        retry_after = self.status[name].retry_after
        if when is not None and retry_after is not None and when < retry_after:
            when = retry_after
        self.timeline.at(f"fire:{name}", when, self._job(self.fire, name))
