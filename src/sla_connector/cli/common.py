"""Helpers shared by the subcommands: loading the policy, reading ticket files, instants."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
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
from sla_connector.settings import load_config

__all__ = [
    "PlainTable",
    "Rejected",
    "add_command",
    "add_config_argument",
    "add_now_argument",
    "load_policy",
    "parse_line",
    "parse_now",
    "read_lines",
    "read_tickets",
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


def load_policy(path: str) -> Policy:
    """Load and validate the YAML policy; errors name the key path (exit code 2)."""
    return load_config(Path(path)).policy


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


def read_lines(path: str, progress: bool = True) -> Iterator[tuple[int, bytes]]:
    """Stream (line number, raw line) of the non-blank lines of a file, ``-`` for stdin.

    A progress bar shows on a terminal for inputs large enough to wait for.
    """
    try:
        handle: IO[bytes] = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise ConfigError("--tickets", f"cannot read {path}: {exc.strerror}") from None
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
