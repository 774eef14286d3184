"""Helpers shared by the subcommands: the exit codes, loading the policy, reading ticket
files, instants, opening a store that must exist."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import IO, Any

import orjson
from rich.console import Console, RenderableType
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.style import StyleType
from rich.table import Table
from rich.text import Text

from sla_connector.core.errors import ConfigError, TicketError
from sla_connector.core.policy import Policy
from sla_connector.core.ticket import Ticket, parse_instant, parse_ticket
from sla_connector.runtime.service import open_store, store_url
from sla_connector.settings import AppConfig, load_config
from sla_connector.settings.secret_env import missing_secrets
from sla_connector.store import Store
from sla_connector.store.engine import mask_url

__all__ = [
    "EXIT_CODES",
    "ExitCode",
    "PlainTable",
    "Rejected",
    "add_command",
    "add_config_argument",
    "add_now_argument",
    "load_policy",
    "open_existing_store",
    "open_input",
    "parse_line",
    "parse_now",
    "read_lines",
    "read_tickets",
    "require_secrets",
    "terminal_text",
]


def terminal_text(value: str) -> Text:
    """``value`` as a terminal shows it literally: rich markup (``[red]``), emoji codes
    (``:warning:``) and control characters (an ANSI escape in a ticket subject) inert;
    each control character becomes U+FFFD."""
    return Text("".join(ch if ch.isprintable() else "\ufffd" for ch in value))


class PlainTable(Table):
    """A rich table whose text cells come from data (ticket ids, client and rule names):
    each is shown as written (``terminal_text``), never read as markup."""

    def add_row(
        self,
        *renderables: RenderableType | None,
        style: StyleType | None = None,
        end_section: bool = False,
    ) -> None:
        cells = [terminal_text(r) if isinstance(r, str) else r for r in renderables]
        super().add_row(*cells, style=style, end_section=end_section)


class ExitCode(IntEnum):
    """The exit status of every command; ``EXIT_CODES`` says what each one means."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    UNAVAILABLE = 3
    INTERRUPTED = 130


EXIT_CODES: tuple[tuple[ExitCode, str, str], ...] = (
    (ExitCode.OK, "ok", "The command did what was asked and found nothing wrong."),
    (
        ExitCode.FINDINGS,
        "findings",
        "The command ran and reports a problem it looks for: a connector or channel failing "
        "`check`, a broken evidence chain (`verify-log`), rejected ticket lines (`audit`), a "
        "ticket not found (`explain`), a report not delivered (`report`), a file `init` will "
        "not overwrite, an exclusion refused (`exclude`).",
    ),
    (
        ExitCode.USAGE,
        "usage or configuration",
        "A bad command line, an invalid configuration (the message names the key path), a "
        "missing secret, an input file or a store that does not exist. Fix it and run again: "
        "retrying unchanged cannot help, so the shipped systemd unit and Kubernetes manifests "
        "do not restart on it.",
    ),
    (
        ExitCode.UNAVAILABLE,
        "runtime or unreachable",
        "Something needed is not available now: a busy dashboard port, an unreachable PSA "
        "host or store, a failed worker process. Trying again later may help.",
    ),
    (ExitCode.INTERRUPTED, "interrupted", "Stopped by Ctrl-C (SIGINT) before it finished."),
)


def load_policy(path: str) -> Policy:
    """Load and validate the YAML policy; errors name the key path (exit code 2)."""
    return load_config(Path(path)).policy


def open_existing_store(config: AppConfig) -> Store:
    """The configured store, for a command that only reads it: one that does not exist is
    a ``ConfigError`` (exit 2), never created empty."""
    url = store_url(config)
    if not Store.exists(url):
        raise ConfigError(
            "store.url",
            f"no store at {mask_url(url)}; check store.url (or the variable store.url_env "
            "names) points at the daemon's store, or run `sla-connector run` to create it",
        )
    return open_store(config)


def require_secrets(config: AppConfig) -> None:
    """A ``ConfigError`` naming every required secret the configuration names and that is
    not set (``NAME`` or ``NAME_FILE``), in one message."""
    missing = missing_secrets(config)
    if not missing:
        return
    listed = "; ".join(f"{secret.path}: {why}" for secret, why in missing)
    raise ConfigError(
        "",
        f"{len(missing)} secret(s) missing: {listed}. Set each variable (or VARIABLE_FILE "
        "naming a file that holds it) in the service's environment",
    )


def parse_now(value: str | None) -> datetime:
    """``--now`` as an aware instant; the wall clock when not given (the CLI is the boundary)."""
    if value is None:
        return datetime.now(UTC)
    try:
        return parse_instant(value, "--now")
    except TicketError as exc:
        raise ConfigError("--now", str(exc).removeprefix("--now: ")) from None


def add_command(
    commands: Any,
    name: str,
    handler: Callable[[argparse.Namespace], int],
    *,
    summary: str,
    description: str,
    config: bool = True,
) -> argparse.ArgumentParser:
    """A subcommand: its one-line ``summary`` (the command list), ``description``, the
    handler ``main`` calls, and ``-c CONFIG`` unless ``config`` is False."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=summary, description=description
    )
    if config:
        add_config_argument(parser)
    parser.set_defaults(handler=handler)
    return parser


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", required=True, metavar="CONFIG", help="policy YAML file")


def add_now_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--now", metavar="T", help="evaluation instant, RFC 3339 (default: the wall clock)"
    )


@dataclass(frozen=True, slots=True)
class Rejected:
    """A ticket line that could not be used, with its line number and reason (S24)."""

    line: int
    reason: str


def open_input(path: str, option: str = "--tickets") -> IO[bytes]:
    """The input file opened for reading (``-``: stdin), or a ``ConfigError`` naming it.

    Callers open the input before writing any output, so a missing file fails at once
    with nothing on stdout, whatever the number of worker processes.
    """
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise ConfigError(option, f"cannot read {path}: {exc.strerror}") from None


def read_lines(
    path: str, progress: bool = True, handle: IO[bytes] | None = None
) -> Iterator[tuple[int, bytes]]:
    """Stream (line number, raw line) of the non-blank lines of a file, ``-`` for stdin.

    A progress bar shows on a terminal for inputs large enough to wait for.
    """
    handle = handle if handle is not None else open_input(path)
    size = 0 if path == "-" else os.fstat(handle.fileno()).st_size
    bar = _progress(size) if progress else None
    try:
        for number, raw in enumerate(handle, start=1):
            if bar is not None:
                bar.advance(len(raw))
            if raw.strip():
                yield number, raw
    finally:
        if bar is not None:
            bar.close()
        if handle is not sys.stdin.buffer:
            handle.close()


def parse_line(number: int, raw: bytes, known_sources: Collection[str]) -> Ticket | Rejected:
    """One JSONL line as a ticket, or the reason it is rejected (S24)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Rejected(number, f"malformed JSON: {exc}")
    try:
        return parse_ticket(data, known_sources)
    except TicketError as exc:
        return Rejected(number, str(exc))


def read_tickets(
    path: str, known_sources: Collection[str], progress: bool = True
) -> Iterator[tuple[int, Ticket | Rejected]]:
    """Stream (line number, ticket or rejection) from a JSONL file; never loads it whole."""
    for number, raw in read_lines(path, progress):
        yield number, parse_line(number, raw, known_sources)


class _Bar:
    """A rich progress bar on stderr, advanced by bytes read."""

    def __init__(self, total: int) -> None:
        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            transient=True,
            console=Console(stderr=True),
        )
        self._task = self._progress.add_task("auditing", total=total)
        self._pending = 0
        self._progress.start()

    def advance(self, amount: int) -> None:
        self._pending += amount
        if self._pending >= 1 << 20:
            self._progress.advance(self._task, self._pending)
            self._pending = 0

    def close(self) -> None:
        self._progress.advance(self._task, self._pending)
        self._progress.stop()


def _progress(size: int) -> _Bar | None:
    """A bar only for a terminal and an input large enough to wait for."""
    if size < 5 << 20 or not sys.stderr.isatty():
        return None
    return _Bar(size)
