"""The production timeline on the asyncio loop (issue 10 items 2 and 4).

Two runs of one interval job never overlap, however long a run takes (no APScheduler
"maximum number of running instances" pile-up), and a one-shot timer re-armed while an
earlier run of it is still going goes off all the same.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from sla_connector.runtime.clocks import SystemClock
from sla_connector.runtime.timeline import SchedulerTimeline

pytestmark = pytest.mark.anyio


async def test_an_interval_job_slower_than_its_interval_never_overlaps_itself() -> None:
    timeline = SchedulerTimeline(SystemClock())
    running, most, runs = 0, 0, 0
    done = asyncio.Event()

    async def slow_poll() -> None:
        nonlocal running, most, runs
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)  # five intervals long
        running -= 1
        runs += 1
        if runs >= 3:
            done.set()

    timeline.every("poll:x", timedelta(milliseconds=10), slow_poll)
    try:
        await asyncio.wait_for(done.wait(), 10)
    finally:
        timeline.shutdown()
    assert most == 1 and runs >= 3


async def test_a_timer_re_armed_during_its_own_run_goes_off_again() -> None:
    timeline = SchedulerTimeline(SystemClock())
    clock = timeline.clock
    runs = 0
    second = asyncio.Event()

    async def fire() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            timeline.at("fire:x", clock.now(), fire)  # re-armed while this run goes on
            await asyncio.sleep(0.05)
        else:
            second.set()

    timeline.at("fire:x", clock.now(), fire)
    try:
        await asyncio.wait_for(second.wait(), 10)
    finally:
        timeline.shutdown()
    assert runs == 2


async def test_a_paused_timeline_starts_no_new_job_and_lets_the_running_one_finish() -> None:
    timeline = SchedulerTimeline(SystemClock())
    started, finished = asyncio.Event(), asyncio.Event()
    runs = 0

    async def poll() -> None:
        nonlocal runs
        runs += 1
        started.set()
        await asyncio.sleep(0.05)
        finished.set()

    timeline.every("poll:x", timedelta(milliseconds=1), poll)
    await asyncio.wait_for(started.wait(), 10)
    timeline.pause()
    await asyncio.wait_for(finished.wait(), 10)
    await asyncio.sleep(0.05)
    timeline.shutdown()
    assert runs == 1
