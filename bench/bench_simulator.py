"""Time the simulator PSA over a month of virtual time at 400 tickets a day.

Acceptance (issue 3): the month generates in under 10 s. Two runs: one full read at the
end of the month, and incremental polls every 5 virtual minutes across the month (what the
daemon does). Run with ``python bench/bench_simulator.py [--days N] [--per-day N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta

from sla_connector_psa.simulator import create

START = datetime(2026, 11, 2, tzinfo=UTC)


class VirtualClock:
    """A clock the benchmark moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


async def full_read(days: int, per_day: int) -> tuple[int, float]:
    clock = VirtualClock(START)
    connector = create("sim", {"seed": 7, "tickets_per_day": per_day}, clock)
    began = time.perf_counter()
    clock.current = START + timedelta(days=days)
    count = 0
    async for page in connector.fetch_changed(None):
        count += len(page.tickets)
    return count, time.perf_counter() - began


async def polled(days: int, per_day: int, every: timedelta) -> tuple[int, int, float]:
    clock = VirtualClock(START)
    connector = create("sim", {"seed": 7, "tickets_per_day": per_day}, clock)
    began = time.perf_counter()
    cursor: str | None = None
    polls = changes = 0
    end = START + timedelta(days=days)
    while clock.current < end:
        clock.current += every
        async for page in connector.fetch_changed(cursor):
            changes += len(page.tickets)
            cursor = page.cursor
        polls += 1
    return polls, changes, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=400)
    args = parser.parse_args()
    count, seconds = asyncio.run(full_read(args.days, args.per_day))
    print(f"full read after {args.days} days: {count} tickets in {seconds:.2f} s")
    polls, changes, seconds = asyncio.run(polled(args.days, args.per_day, timedelta(minutes=5)))
    print(f"{polls} polls every 5 min: {changes} changed tickets delivered in {seconds:.2f} s")


if __name__ == "__main__":
    main()
