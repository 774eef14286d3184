"""``sla-connector run``: the daemon in the foreground, as a container or systemd runs it.

JSON logs on stderr; SIGTERM or SIGINT lets in-flight writes finish and exits within 10 s;
``/healthz`` and ``/readyz`` answer on the dashboard port. Every secret the configuration
names is read first: a missing one is a configuration error (exit 2, all of them named), so
a service manager does not restart the daemon in a loop. The daemon itself is built by
the composition root, ``runtime.service``.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from sla_connector.cli.common import add_command, require_secrets
from sla_connector.runtime.logs import configure_logging
from sla_connector.runtime.service import serve
from sla_connector.settings import load_config

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    parser = add_command(
        commands,
        "run",
        run,
        summary="run the daemon: poll, enforce, dashboard, reports",
        description="Run the enforcement daemon in the foreground (JSON logs on stderr).",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR")
    )


def run(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config))
    require_secrets(config)
    configure_logging(args.log_level)
    return asyncio.run(serve(config))
