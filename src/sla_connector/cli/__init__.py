"""The ``sla-connector`` command (DESIGN section 8).

Each subcommand lives in its own module and registers itself on the parser; ``main``
turns the errors a user can cause into one clear line and an exit code, never a traceback.
The exit codes are ``common.ExitCode``, documented by ``common.EXIT_CODES`` (docs/cli.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sla_connector import __version__
from sla_connector.cli import (
    audit,
    check,
    demo,
    exclude,
    explain,
    init,
    report,
    run,
    verify_log,
)
from sla_connector.cli.common import EXIT_CODES, ExitCode
from sla_connector.core.errors import ConfigError, SlaConnectorError
from sla_connector.runtime.redaction import scrub

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The full command-line parser (also used to generate the CLI docs)."""
    parser = argparse.ArgumentParser(
        prog="sla-connector",
        description=(
            "SLA enforcement for MSPs: define tiers, enforce clocks and escalations, "
            "prove adherence."
        ),
        epilog="exit codes: "
        + ", ".join(f"{int(code)} {kind}" for code, kind, _ in EXIT_CODES)
        + " (docs/cli.md)",
    )
    parser.add_argument("--version", action="version", version=f"sla-connector {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (run, demo, check, audit, explain, exclude, report, verify_log, init):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the process exit code (``ExitCode``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except ConfigError as exc:
        print(f"sla-connector: configuration error: {scrub(str(exc))}", file=sys.stderr)
        return ExitCode.USAGE
    except SlaConnectorError as exc:
        # Unreachable hosts, a busy port, a store that cannot be read, a failed worker.
        print(f"sla-connector: {scrub(str(exc))}", file=sys.stderr)
        return ExitCode.UNAVAILABLE
    except KeyboardInterrupt:
        print("sla-connector: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.OK
    except OSError as exc:
        # A file the command writes or reads that the OS refuses (permissions, a full disk).
        where = f" {exc.filename}" if exc.filename else ""
        print(f"sla-connector: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
        return ExitCode.UNAVAILABLE
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
