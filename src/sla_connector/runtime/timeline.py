"""Where jobs run in time: APScheduler on a real clock, or a discrete-event virtual loop.

The daemon only asks a timeline for three things: run a job every N seconds of virtual
time, run a job at an instant (a re-armable timer), and run a job on a cron schedule in a
time zone. ``SchedulerTimeline`` maps those onto APScheduler's ``AsyncIOScheduler`` (the
production path, accelerated when the clock is); ``VirtualTimeline`` runs them in virtual
time as fast as the machine allows, so a simulated month takes seconds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from sla_connector.runtime.clocks import ManualClock, ScaledClock, SystemClock

__all__ = ["Job", "SchedulerTimeline", "Timeline", "VirtualTimeline"]

Job = Callable[[], Awaitable[None]]
log = logging.getLogger("sla_connector.runtime")


class Timeline(Protocol):
    """The scheduling port the daemon runs on."""

    def every(
        self, name: str, interval: timedelta, job: Job, *, first: datetime | None = None
    ) -> None: ...

    def at(self, name: str, instant: datetime | None, job: Job) -> None:
        """Arm (or re-arm, or with None disarm) the one-shot timer ``name``."""
        ...

    def cron(self, name: str, trigger: CronTrigger, job: Job) -> None: ...

    def cancel(self, name: str) -> None: ...


class SchedulerTimeline:
    """APScheduler 3 ``AsyncIOScheduler`` driven by the wall clock or an accelerated one."""

    def __init__(self, clock: SystemClock | ScaledClock) -> None:
        self.clock = clock
        self.scheduler = AsyncIOScheduler(timezone=UTC)

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def _real(self, instant: datetime) -> datetime:
        """The wall-clock moment at which the clock shows ``instant``."""
        ahead = instant - self.clock.now()
        return datetime.now(UTC) + timedelta(seconds=max(self.clock.real_seconds(ahead), 0.0))

    def every(
        self, name: str, interval: timedelta, job: Job, *, first: datetime | None = None
    ) -> None:
        seconds = max(self.clock.real_seconds(interval), 0.001)
        start = self._real(first) if first is not None else datetime.now(UTC)
        self.scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            next_run_time=start,
            id=name,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )

    def at(self, name: str, instant: datetime | None, job: Job) -> None:
        if instant is None:
            self.cancel(name)
            return
        self.scheduler.add_job(
            job,
            "date",
            run_date=self._real(instant),
            id=name,
            replace_existing=True,
            misfire_grace_time=None,
        )

    def cron(self, name: str, trigger: CronTrigger, job: Job) -> None:
        async def fire_and_rearm() -> None:
            await job()
            self._arm_cron(name, trigger, fire_and_rearm)

        self._arm_cron(name, trigger, fire_and_rearm)

    def _arm_cron(self, name: str, trigger: CronTrigger, job: Job) -> None:
        # Cron times are virtual instants; compute the next one on the virtual clock.
        now = self.clock.now()
        following = trigger.get_next_fire_time(None, now + timedelta(microseconds=1))
        if following is not None:
            self.at(name, following, job)

    def cancel(self, name: str) -> None:
        if self.scheduler.get_job(name) is not None:
            self.scheduler.remove_job(name)


@dataclass(order=True)
class _Entry:
    when: datetime
    order: int
    name: str = field(compare=False)
    job: Job = field(compare=False)
    generation: int = field(compare=False)
    repeat: timedelta | CronTrigger | None = field(compare=False, default=None)


class VirtualTimeline:
    """A discrete-event loop: jobs run in virtual-time order and the clock jumps between them."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self._queue: list[_Entry] = []
        self._generation: dict[str, int] = {}
        self._order = itertools.count()

    def _push(self, name: str, when: datetime, job: Job, repeat: Any = None) -> None:
        generation = self._generation.get(name, 0) + 1
        self._generation[name] = generation
        entry = _Entry(
            max(when, self.clock.now()), next(self._order), name, job, generation, repeat
        )
        heapq.heappush(self._queue, entry)

    def every(
        self, name: str, interval: timedelta, job: Job, *, first: datetime | None = None
    ) -> None:
        self._push(name, first or self.clock.now(), job, interval)

    def at(self, name: str, instant: datetime | None, job: Job) -> None:
        if instant is None:
            self.cancel(name)
        else:
            self._push(name, instant, job)

    def cron(self, name: str, trigger: CronTrigger, job: Job) -> None:
        following = trigger.get_next_fire_time(None, self.clock.now())
        if following is not None:
            self._push(name, following, job, trigger)

    def cancel(self, name: str) -> None:
        self._generation[name] = self._generation.get(name, 0) + 1

    def next_instant(self) -> datetime | None:
        while self._queue and self._queue[0].generation != self._generation.get(
            self._queue[0].name
        ):
            heapq.heappop(self._queue)
        return self._queue[0].when if self._queue else None

    async def run_until(
        self, end: datetime, *, pace: Callable[[datetime], Awaitable[None]] | None = None
    ) -> None:
        """Run every job due up to ``end`` in order, then leave the clock at ``end``.

        ``pace`` is awaited before each jump, so a demo can slow virtual time to a speed.
        """
        while True:
            upcoming = self.next_instant()
            if upcoming is None or upcoming > end:
                break
            entry = heapq.heappop(self._queue)
            if pace is not None:
                await pace(entry.when)
            if entry.when > self.clock.now():
                self.clock.set(entry.when)
            if isinstance(entry.repeat, timedelta):
                self._push(entry.name, entry.when + entry.repeat, entry.job, entry.repeat)
            elif isinstance(entry.repeat, CronTrigger):
                following = entry.repeat.get_next_fire_time(
                    None, entry.when + timedelta(microseconds=1)
                )
                if following is not None:
                    self._push(entry.name, following, entry.job, entry.repeat)
            try:
                await entry.job()
            except asyncio.CancelledError:
                raise
            except Exception:  # a job boundary: one failing job must not stop the loop
                log.exception("job %s failed", entry.name)
        if end > self.clock.now():
            self.clock.set(end)
