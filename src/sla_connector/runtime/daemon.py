"""The enforcement daemon: poll each PSA, plan, fire at the due instant, survive restarts.

``Daemon`` holds no state of its own that matters across a restart: cursors, clocks,
the ledger, the evidence log and the request budgets live in the store, so ``start``
re-arms everything from there.

Start fast, fire first (issue 10): ``start`` takes the leads and dispatches every step the
store says is due (and every step a crashed process left claimed) before anything else,
then arms the timers and starts the polls in the background; it awaits no PSA request, so
"daemon started" is logged at once. Due steps are verified and written concurrently, at
most ``DaemonSettings.concurrency`` at a time per connector in each of two pools (due
at-risk steps, the rest), their requests marked urgent (``core.ports.urgent``) so the
connector's rate limiter lets them go before polls and full reads, at-risk steps' after
the others' (a warning, ahead of the breach whose steps are the commitment). Each poll
re-arms the timer after every page, so a step is armed at its due instant the moment a
poll shows its ticket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sla_connector.core.calendars import from_us, to_us
from sla_connector.core.errors import FatalConnectorError, RetriableConnectorError, StoreError
from sla_connector.core.policy import Policy
from sla_connector.core.ports import (
    BudgetKeeper,
    Clock,
    Connector,
    ObjectFailure,
    RequestLog,
    TicketMemory,
    TicketRecaller,
    urgent,
)
from sla_connector.core.vocabulary import Vocabulary
from sla_connector.runtime.escalator import Escalator, FireResult, Notifier
from sla_connector.runtime.isolation import ObjectFailures
from sla_connector.runtime.notifications import Notifications, NotifyPolicy
from sla_connector.runtime.planner import Planner
from sla_connector.runtime.storehealth import StoreHealth
from sla_connector.runtime.timeline import Timeline, VirtualTimeline
from sla_connector.runtime.withdrawals import restore, withdraw
from sla_connector.store import LedgerRow, Store

__all__ = ["ConnectorStatus", "Daemon", "DaemonSettings"]

log = logging.getLogger("sla_connector.runtime")
INSTALLED_KEY = "__installed_at__"
_FOREVER = 2**62  # a due instant later than any step's
_FIRST_RETRY = timedelta(seconds=1)


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
    concurrency: int = 8  # due steps verified and written at once, per connector
    # Real time: steps fire in tasks of their own, so a slow write never holds up the next
    # due step. On a VirtualTimeline (discrete-event time) the fire job always awaits them.
    detached: bool = True
    notify: NotifyPolicy = field(default_factory=NotifyPolicy)


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
        notify_channel: str = "log",
    ) -> None:
        self.policy = policy
        self.store = store
        self.connectors = dict(connectors)
        self.clock = clock
        self.timeline = timeline
        self.settings = settings
        self.status = {name: ConnectorStatus() for name in connectors}
        # Notices go through their own ledger (runtime.notifications): recorded, retried.
        self.notifications = (
            None
            if notifier is None
            else Notifications(
                store,
                notifier,
                clock,
                timeline,
                owner=settings.owner,
                channel_name=notify_channel,
                leading=self.leading,
                policy=settings.notify,
            )
        )
        self.escalator = Escalator(
            policy,
            store,
            connectors,
            clock,
            owner=settings.owner,
            dry_run=settings.dry_run,
            notifier=None if self.notifications is None else self.notifications.submit,
            vocabulary=settings.vocabulary,
        )
        self.planner: Planner | None = None
        self.store_health = StoreHealth(clock)
        self.started = False
        self._busy: set[asyncio.Task[Any]] = set()
        # Held while a poll page is evaluated and stored in a worker thread: the leadership
        # tick's store writes wait for it here, asynchronously, instead of blocking the event
        # loop on the database's write lock. Fire tasks do not take it (they run up to
        # ``concurrency`` at once, each behind a PSA round trip), so a step's store write may
        # briefly wait on the database lock while a page is being stored.
        self._writing = asyncio.Lock()
        self._detached = settings.detached and not isinstance(timeline, VirtualTimeline)
        self._in_flight: dict[str, set[str]] = {name: set() for name in connectors}
        self._backoff: dict[str, dict[str, datetime]] = {name: {} for name in connectors}
        self._retries: dict[str, dict[str, int]] = {name: {} for name in connectors}
        # Two pools of ``concurrency`` slots per connector, one for due at-risk steps and one
        # for the others: eight at-risk steps waiting for the PSA's budget (which lets them
        # go after the breaches) held every slot of one pool, and a due breach never started
        # (issue 10, the 50-kill soak). ``_holding``: the spawned steps, and their pool.
        self._slots = {
            name: {pool: asyncio.Semaphore(max(1, settings.concurrency)) for pool in (False, True)}
            for name in connectors
        }
        self._holding: dict[str, dict[str, bool]] = {name: {} for name in connectors}
        self._ticket_locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}
        for connector in self.connectors.values():
            if isinstance(connector, BudgetKeeper):
                budget: RequestLog = store
                connector.keep_budgets(budget)
            if isinstance(connector, TicketRecaller):
                memory: TicketMemory = store
                connector.recall_with(memory)

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Take the leads, fire what is due, then arm polls and timers (issue 10: start
        fast, fire first). No PSA request is awaited here in real time: the steps already
        due and those a crash left claimed are verified and written in tasks of their own,
        and the first poll (a full read after a long pause) runs in the background."""
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
                f"poll:{name}",
                self.settings.poll_intervals[name],
                self._job(self.poll, name),
                first=self._first_poll(name),
            )
        interval = self.settings.leadership_interval
        self.timeline.every(
            "leadership", interval, self._lead_guarded, first=self.clock.now() + interval
        )
        if self.notifications is not None:
            self.notifications.start()
        self.started = True
        log.info(
            "daemon started",
            extra={
                "event": "start",
                "connectors": sorted(self.connectors),
                "firing": {name: len(keys) for name, keys in self._in_flight.items()},
            },
        )

    def _first_poll(self, name: str) -> datetime | None:
        """When a (re)started daemon first polls: at once, unless the last life's poll
        stored its cursor less than an interval ago; then when the interval ends. A
        crash-looping daemon otherwise re-reads the export at every start, and the
        export's budget (Zendesk: 10 a minute) goes on reads that show nothing new while
        the polls that would show new tickets wait for it (issue 10, the 50-kill soak)."""
        saved = self.store.cursor_saved_at(name)
        if saved is None:
            return None
        resume = from_us(saved) + self.settings.poll_intervals[name]
        return resume if resume > self.clock.now() else None

    async def stop(self) -> None:
        """Let in-flight polls and writes finish, then close the connectors."""
        self.escalator.stopping = True
        posting = set() if self.notifications is None else self.notifications.halt()
        for name in list(self.connectors):
            self.timeline.cancel(f"poll:{name}")
            self.timeline.cancel(f"fire:{name}")
        self.timeline.cancel("leadership")
        if self._busy or posting:
            await asyncio.wait(self._busy | posting, timeout=8)
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

    def leading(self) -> list[str]:
        """The connectors this replica leads now."""
        return [name for name, status in self.status.items() if status.leading]

    async def _quiet(self, timeout: float = 10.0) -> bool:
        """Wait (at most ``timeout`` s) for the polls and writes in flight to end."""
        running = {task for task in self._busy if task is not asyncio.current_task()}
        if not running:
            return True
        _, pending = await asyncio.wait(running, timeout=timeout)
        return not pending

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
        await self._guarded(self._lead_job, "leadership", "leadership")

    def fair_share(self) -> int:
        """How many connectors this replica may lead: all of them divided among live replicas."""
        wall = int(time.time() * 1_000_000)
        self.store.heartbeat(self.settings.owner, at=wall)
        since = wall - int(self.settings.replica_timeout.total_seconds() * 1_000_000)
        replicas = max(1, len(self.store.live_replicas(since=since)))
        return math.ceil(len(self.connectors) / replicas)

    async def _lead_job(self) -> None:
        async with self._writing:
            await self._lead()

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
            self.status[name].leading = False  # no new poll or firing of it starts here
            self.timeline.cancel(f"fire:{name}")
            if not await self._quiet():
                # A write may still be in flight: releasing now would let the next leader
                # reconcile its step while it lands, and write it again. Next tick.
                self.status[name].leading = True
                self.arm(name)
                continue
            self.store.release_lead(name)
            log.info("handed over", extra={"event": "leadership", "connector": name})
        for name, status in self.status.items():
            if status.leading or sum(s.leading for s in self.status.values()) >= share:
                continue
            if self.store.try_lead(name):
                status.leading = True
                log.info("leading", extra={"event": "leadership", "connector": name})
                # Steps a dead process left claimed are settled by their marker, and steps
                # already due are written, before any poll.
                await self.fire(name, reconcile=True)
                if self.notifications is not None:
                    self.notifications.arm()  # the notices of the connector taken over

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
                async with self._writing:
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
                self.arm(name)  # at first sight: a step is armed as soon as a page shows it
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

    async def fire(self, name: str, *, reconcile: bool = False) -> None:
        """Dispatch the connector's due steps (and, on taking the lead, those a crashed
        process left claimed), at most ``concurrency`` at a time; then re-arm its timer.

        A step whose last attempt ended ``retry`` (the PSA still failing after the
        per-request retries) waits out its own back-off; the other steps do not.
        """
        status = self.status[name]
        if not status.leading or self.escalator.stopping:
            return
        now = self.clock.now()
        in_flight, backoff = self._in_flight[name], self._backoff[name]
        work: list[tuple[LedgerRow, bool]] = []
        if reconcile:
            work += [(row, True) for row in self.store.firing(name)]
        # No more tasks than slots: each one that ends re-arms the timer, which takes the
        # next due steps, so the store is asked for a few rows at a time, never hundreds
        # (enough for a pool's rows to be found behind a full pool's).
        holding, size = self._holding[name], self.settings.concurrency
        free = {
            pool: max(0, size - sum(p == pool for p in holding.values())) for pool in (False, True)
        }
        limit = len(in_flight) + len(backoff) + 2 * size
        due = self.store.due(to_us(now), name, limit=limit)
        work += [(row, False) for row in due if backoff.get(row.key, now) <= now]
        tasks = []
        for row, rec in work:
            pool = self._warns(row)
            if row.key in in_flight or not (free[pool] or rec):
                continue  # a claimed step left by a crash is settled whatever the pools hold
            free[pool] = max(0, free[pool] - 1)
            tasks.append(self._spawn(name, row, rec, pool))
        if tasks and not self._detached:
            await asyncio.gather(*tasks)
        self.arm(name)

    def _spawn(
        self, name: str, row: LedgerRow, reconciling: bool, pool: bool
    ) -> asyncio.Task[None]:
        self._in_flight[name].add(row.key)
        self._holding[name][row.key] = pool
        task = asyncio.get_running_loop().create_task(self._fire_one(name, row, reconciling))
        self._busy.add(task)
        task.add_done_callback(self._busy.discard)
        return task

    async def _fire_one(self, name: str, row: LedgerRow, reconciling: bool) -> None:
        """Verify and write one step (its requests urgent), then record how it went; then
        the ticket's other steps due by now, one after the other, so they share its verify
        read (``runtime.ticket_reads``) and never race each other's writes."""
        status = self.status[name]
        try:
            slots = self._slots[name][self._holding[name][row.key]]
            async with slots, self._ticket_lock(name, row.ticket_id):
                if self.escalator.stopping or not status.leading:
                    return  # the next start (or the new leader) fires it
                with urgent(warning=self._only_warnings(name, row)):
                    if reconciling:
                        result = await self.escalator.reconcile_row(row)
                    else:
                        result = await self.escalator.fire(row)
                self._count(name, result)
                await self._fire_siblings(name, row)
        except Exception:  # a task boundary: one step's failure must not stop the others
            log.exception("firing %s failed", row.key)
        finally:
            self._in_flight[name].discard(row.key)
            self._holding[name].pop(row.key, None)
            self.arm(name)

    async def _fire_siblings(self, name: str, row: LedgerRow) -> None:
        """The ticket's steps due by now that no task is firing yet, earliest first."""
        in_flight, backoff = self._in_flight[name], self._backoff[name]
        now = self.clock.now()
        for sibling in self.store.due_of_ticket(to_us(now), name, row.ticket_id):
            if sibling.key in in_flight or backoff.get(sibling.key, now) > now:
                continue
            if self.escalator.stopping or not self.status[name].leading:
                return
            in_flight.add(sibling.key)
            try:
                with urgent(warning=self._warns(sibling)):
                    result = await self.escalator.fire(sibling)
                self._count(name, result)
            finally:
                in_flight.discard(sibling.key)

    def _warns(self, row: LedgerRow) -> bool:
        """Whether the row is an at-risk step's: its requests go after those of the other
        due steps when the PSA's budget is short (``core.ports.urgent``)."""
        return any(step.name == row.step and step.at_risk for step in self.policy.ladder(row.tier))

    def _only_warnings(self, name: str, row: LedgerRow) -> bool:
        """Whether the row and the ticket's other steps due by now (which share its verify
        read: ``_fire_siblings``) are all at-risk steps: a breach due on the same ticket
        must not wait behind the warning's priority."""
        if not self._warns(row):
            return False
        due = self.store.due_of_ticket(to_us(self.clock.now()), name, row.ticket_id)
        return all(self._warns(sibling) for sibling in due)

    @contextlib.asynccontextmanager
    async def _ticket_lock(self, name: str, ticket_id: str) -> AsyncIterator[None]:
        """One step of a ticket at a time: a second write would meet the first's change
        (a 409 on a safe update) and re-read for nothing."""
        key = (name, ticket_id)
        lock, users = self._ticket_locks.get(key, (asyncio.Lock(), 0))
        self._ticket_locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._ticket_locks[key]
            if users == 1:
                del self._ticket_locks[key]  # nobody else is waiting for this ticket
            else:
                self._ticket_locks[key] = (lock, users - 1)

    def _count(self, name: str, result: FireResult) -> None:
        status, backoff = self.status[name], self._backoff[name]
        status.fired[result.state] = status.fired.get(result.state, 0) + 1
        # "failed" goes back to planned while attempts remain (store.finish): it waits
        # out the same back-off as a retry instead of being re-read again at once.
        if result.state in ("retry", "failed"):
            status.failures_in_a_row += 1
            tries = self._retries[name].get(result.key, 0) + 1
            self._retries[name][result.key] = tries
            # The first retry of a step comes after a second (a 409, one unlucky read);
            # then ``retry_backoff``, doubling up to ten times it (the PSA is down).
            wait = (
                _FIRST_RETRY
                if tries == 1
                else self.settings.retry_backoff * min(2 ** (tries - 2), 10)
            )
            backoff[result.key] = self.clock.now() + wait
        elif result.state != "lost_claim":
            status.failures_in_a_row = 0
            backoff.pop(result.key, None)
            self._retries[name].pop(result.key, None)
        status.retry_after = min(backoff.values(), default=None)

    def arm(self, name: str) -> None:
        """Point the connector's timer at its next step to fire: the earliest due step not
        being fired already, or a step's retry when its back-off ends."""
        if self.escalator.stopping or not self.status[name].leading:
            return
        in_flight, backoff = self._in_flight[name], self._backoff[name]
        now = self.clock.now()
        for key in [key for key, until in backoff.items() if until <= now]:
            del backoff[key]  # its back-off is over: the step is due like any other
        upcoming = self.store.due(_FOREVER, name, limit=len(in_flight) + len(backoff) + 1)
        instants = [
            max(from_us(row.due_at), backoff.get(row.key, from_us(row.due_at)))
            for row in upcoming
            if row.key not in in_flight
        ]
        when = min(instants, default=None)
        self.timeline.at(f"fire:{name}", when, self._job(self.fire, name))
