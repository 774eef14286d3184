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
from pathlib import Path
from typing import Any

from sla_connector.cli.common import add_command
from sla_connector.core.errors import ConfigError
from sla_connector.runtime.backfill import Backfill, parse_since
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
    """Progress on a TTY (stderr): tickets, pages, rate, and the ETA once a total is known."""

    def __init__(self, total: int | None = None) -> None:
        self.started = time.monotonic()
        self.total = total
        self.tty = sys.stderr.isatty()

    def __call__(self, name: str, tickets: int, pages: int) -> None:
        if not self.tty:
            return
        spent = max(time.monotonic() - self.started, 1e-6)
        rate = tickets / spent * 60
        line = f"\r{name}: {tickets} tickets, {pages} pages, {rate:.0f} tickets/min"
        if self.total and tickets:
            left = max(self.total - tickets, 0) / (tickets / spent)
            done = min(tickets / self.total, 1.0)
            bar = "#" * int(done * 20)
            line += f" [{bar:<20}] ETA {int(left // 60)}m{int(left % 60):02d}s"
        print(line, end="", file=sys.stderr, flush=True)


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
