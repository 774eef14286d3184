"""``sla-connector demo``: everything embedded, no config, no account, no network."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from sla_connector.cli.common import ExitCode, add_command
from sla_connector.runtime.demo import DemoOptions, format_summary, run_demo

__all__ = ["register", "run"]


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("speed must be positive, or 'max'")
    return value


def register(commands: Any) -> None:
    parser = add_command(
        commands,
        "demo",
        run,
        summary="the whole product on an embedded simulated PSA, in virtual time",
        description=(
            "Simulate a PSA with three clients, run the daemon in virtual time with the "
            "dashboard on 127.0.0.1, then write the weekly report and print a summary."
        ),
        config=False,
    )
    parser.add_argument("--days", type=float, default=7.0, help="simulated days (default 7)")
    parser.add_argument(
        "--speed",
        type=_speed,
        default=1440.0,
        metavar="X|max",
        help="virtual seconds per real second (default 1440: a day a minute), or max",
    )
    parser.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder")
    parser.add_argument("--port", type=int, default=8321, help="dashboard port (default 8321)")
    parser.add_argument(
        "--history-weeks",
        type=int,
        default=12,
        metavar="N",
        help="weeks of history stored before the live days, without enforcement (default 12; "
        "0: none)",
    )


def run(args: argparse.Namespace) -> int:
    options = DemoOptions(
        days=args.days,
        speed=args.speed,
        out=args.out,
        port=args.port,
        history_weeks=max(0, args.history_weeks),
    )
    result = asyncio.run(run_demo(options, say=lambda line: print(line, flush=True)))
    print(format_summary(result), flush=True)
    return ExitCode.INTERRUPTED if result.interrupted else ExitCode.OK
