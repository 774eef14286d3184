"""Where jobs run in time: APScheduler on a real clock, or a discrete-event virtual loop.

The daemon only asks a timeline for three things: run a job every N seconds of virtual
time, run a job at an instant (a re-armable timer), and run a job on a cron schedule in a
time zone. ``SchedulerTimeline`` maps those onto the asyncio loop's timers and one task per
interval job (the production path, accelerated when the clock is); ``VirtualTimeline`` runs
them in virtual time as fast as the machine allows, so a simulated month takes seconds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

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
    """Timers and intervals on the asyncio loop, on the wall clock or an accelerated one.

    A one-shot timer (``at``) is a ``loop.call_later`` handle that re-arming replaces; a
    job it starts runs as a task of its own, so a re-armed timer always goes off, however
    long an earlier run takes (no "maximum number of running instances" skips). An
    interval job (``every``) is one task that runs the job, then waits out the rest of
    the interval: two runs of one interval job cannot overlap, by construction, and a run
    that overran its interval is followed by the next at once, never by a pile-up.
    Cron instants are computed with APScheduler's ``CronTrigger`` on the (virtual) clock.
    """

    def __init__(self, clock: SystemClock | ScaledClock) -> None:
        self.clock = clock
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._loops: dict[str, _Interval] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.paused = False

    def start(self) -> None:
        self.paused = False

    def pause(self) -> None:
        """Start no new job (a running one goes on); ``stop`` lets in-flight writes finish."""
        self.paused = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for interval in self._loops.values():
            interval.stop()

    def shutdown(self) -> None:
        self.pause()
        for task in list(self._tasks):
            task.cancel()
        for interval in self._loops.values():
            interval.task.cancel()
        self._loops.clear()

    def _delay(self, instant: datetime) -> float:
        """Real seconds until the clock shows ``instant`` (0 when it already has)."""
        return max(self.clock.real_seconds(instant - self.clock.now()), 0.0)

    def _launch(self, name: str, job: Job) -> None:
        self._timers.pop(name, None)
        if self.paused:
            return
        task = asyncio.get_running_loop().create_task(_guarded(name, job), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def every(
        self, name: str, interval: timedelta, job: Job, *, first: datetime | None = None
    ) -> None:
        self.cancel(name)
        seconds = max(self.clock.real_seconds(interval), 0.001)
        delay = self._delay(first) if first is not None else 0.0
        self._loops[name] = _Interval.begin(name, job, seconds, delay, lambda: self.paused)

    def at(self, name: str, instant: datetime | None, job: Job) -> None:
        previous = self._timers.pop(name, None)
        if previous is not None:
            previous.cancel()
        if instant is None or self.paused:
            return
        loop = asyncio.get_running_loop()
        self._timers[name] = loop.call_later(self._delay(instant), self._launch, name, job)

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
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()
        interval = self._loops.pop(name, None)
        if interval is not None:
            interval.stop()


async def _guarded(name: str, job: Job) -> None:
    try:
        await job()
    except asyncio.CancelledError:
        raise
    except Exception:  # a job boundary: one failing job must not stop the others
        log.exception("job %s failed", name)


@dataclass
class _Interval:
    """One interval job's task: run, wait out the rest of the interval, run again."""

    task: asyncio.Task[None]
    stopped: bool = False
    running: bool = False

    @classmethod
    def begin(
        cls, name: str, job: Job, seconds: float, delay: float, paused: Callable[[], bool]
    ) -> _Interval:
        loop = asyncio.get_running_loop()
        holder: list[_Interval] = []

        async def run() -> None:
            await asyncio.sleep(delay)
            while not (holder[0].stopped or paused()):
                began = loop.time()
                holder[0].running = True
                try:
                    await _guarded(name, job)
                finally:
                    holder[0].running = False
                if holder[0].stopped or paused():
                    break
                await asyncio.sleep(max(seconds - (loop.time() - began), 0.0))

        interval = cls(loop.create_task(run(), name=name))
        holder.append(interval)
        return interval

    def stop(self) -> None:
        """No further run; a run in progress finishes (a poll is never cut short)."""
        self.stopped = True
        if not self.running:
            self.task.cancel()


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
