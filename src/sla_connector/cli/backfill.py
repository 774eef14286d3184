"""``sla-connector backfill``: months of history out of each PSA, for ``audit`` and reports.

Reads closed and open tickets with their history (each connector's own full read, within
its request budget; nothing is written to the PSA), then writes canonical JSONL (the
format ``audit --tickets`` reads) and/or loads the store. An interrupted run resumes from
its checkpoint when started again with the same ``--out``. The work is
``runtime.backfill``; this module parses arguments and prints.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sla_connector.cli.common import add_command
from sla_connector.core.errors import ConfigError
from sla_connector.runtime.backfill import Backfill, Step, parse_since
from sla_connector.runtime.clocks import SystemClock
from sla_connector.runtime.service import open_store
from sla_connector.settings import load_config

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    parser = add_command(
        commands,
        "backfill",
        run,
        summary="read months of ticket history from each PSA into JSONL or the store",
        description=(
            "Read closed and open tickets with their history from each configured PSA "
            "(the connectors' own history readers, within their rate budgets; nothing is "
            "written to the PSA) and write canonical JSONL for `audit --tickets` and/or "
            "load the store. Resumable: run it again with the same --out after an "
            "interruption."
        ),
    )
    parser.add_argument(
        "--since", required=True, metavar="SPAN", help="how far back: 4mo, 6w or 120d"
    )
    parser.add_argument("--connector", metavar="KEY", help="only this connectors.<KEY>")
    parser.add_argument("--out", metavar="FILE.jsonl", help="write the tickets here")
    parser.add_argument(
        "--store",
        action="store_true",
        help="also load the tickets into the configured store (no escalation is planned)",
    )


class _Bar:
    """Progress on a TTY (stderr): tickets, pages, rate, and an ETA from how far the read
    has come through the span (``Step.fraction``: the PSAs give no ticket total up front,
    but every full read walks from ``since`` to now).

    The pace is each connector's own (they are read one after the other): its first report
    is paced from when the previous connector finished (or the bar started) and from 0, so
    a fresh read has an ETA after its first page; later reports are paced from that first
    report, so a resumed run, whose first report is already part-way through the span, is
    not credited with the earlier run's work."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, tty: bool | None = None
    ) -> None:
        self.clock = clock
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.started = clock()
        self._began: dict[str, float] = {}  # connector -> when its read began
        self._first: dict[str, tuple[float, float]] = {}  # connector -> (time, fraction)
        self._last = self.started

    def __call__(self, step: Step) -> None:
        if not self.tty:
            return
        print(f"\r{self.line(step)}", end="", file=sys.stderr, flush=True)

    def line(self, step: Step) -> str:
        """The bar's text for this report (also what the tests read)."""
        now = self.clock()
        fraction = step.fraction
        read_since = self._began.setdefault(step.connector, self._last)
        began, base = self._first.get(step.connector, (read_since, 0.0))
        if step.connector not in self._first and fraction is not None:
            self._first[step.connector] = (now, fraction)
        self._last = now
        spent = max(now - began, 1e-6)
        rate = step.tickets / max(now - read_since, 1e-6) * 60
        line = (
            f"{step.connector}: {step.tickets} tickets, {step.pages} pages, {rate:.0f} tickets/min"
        )
        if fraction is None or step.reached is None:
            return line
        bar = "#" * int(fraction * 20)
        line += f" [{bar:<20}] {fraction:.0%}"
        pace = (fraction - base) / spent  # share of the span per second
        if fraction < 1.0 and pace > 0:
            line += f" ETA {_duration((1.0 - fraction) / pace)}"
        elif fraction >= 1.0:
            line += " ETA 0s"
        return line + f" (through {step.reached.date().isoformat()})"


def _duration(seconds: float) -> str:
    """3m20s, 2h05m, 45s: what an operator reads at a glance."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def run(args: argparse.Namespace) -> int:
    if not args.out and not args.store:
        raise ConfigError("backfill", "give --out FILE.jsonl, --store, or both")
    config = load_config(Path(args.config))
    store = open_store(config) if args.store else None
    job = Backfill(
        config,
        parse_since(args.since),
        SystemClock(),
        out=Path(args.out) if args.out else None,
        store=store,
        only=args.connector,
        progress=_Bar(),
    )
    started = time.monotonic()
    try:
        counts = asyncio.run(job.run())
    finally:
        if store is not None:
            store.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    minutes = max(time.monotonic() - started, 1e-6) / 60
    for name, count in counts.items():
        print(f"{name}: {count} tickets read")
    total = sum(counts.values())
    where = " and ".join(
        part for part in (args.out and f"written to {args.out}", args.store and "loaded") if part
    )
    print(f"backfill: {total} tickets {where} ({total / minutes:.0f} tickets/min)")
    return 0
