"""The ``sla-connector`` command (DESIGN section 8).

Each subcommand lives in its own module and registers itself on the parser; ``main``
turns the errors a user can cause into one clear line and an exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sla_connector import __version__
from sla_connector.cli import (
    audit,
    backfill,
    check,
    demo,
    exclude,
    explain,
    init,
    report,
    run,
    verify_log,
)
from sla_connector.core.errors import ConfigError, SlaConnectorError

__all__ = ["EXIT_CONFIG", "EXIT_FAILURE", "build_parser", "main"]

EXIT_FAILURE = 1
EXIT_CONFIG = 2


def build_parser() -> argparse.ArgumentParser:
    """The full command-line parser (also used to generate the CLI docs)."""
    parser = argparse.ArgumentParser(
        prog="sla-connector",
        description=(
            "SLA enforcement for MSPs: define tiers, enforce clocks and escalations, "
            "prove adherence."
        ),
    )
    parser.add_argument("--version", action="version", version=f"sla-connector {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (run, demo, check, audit, backfill, explain, exclude, report, verify_log, init):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except ConfigError as exc:
        print(f"sla-connector: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except SlaConnectorError as exc:
        print(f"sla-connector: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("sla-connector: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
