"""``sla-connector audit``: recompute SLA outcomes and adherence from ticket history.

The input is streamed line by line and the JSON output is written as it goes, so a
million tickets never sit in memory; only the adherence and objective counters
accumulate. Clients with a contract get their monthly objectives and credits
(``credits``), with the exclusions recorded in the state store and those of PSA tags.
"""

from __future__ import annotations

import argparse
import csv
import io
import multiprocessing
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson
from rich.console import Console
from rich.table import Table

from sla_connector.cli.common import (
    ExitCode,
    PlainTable,
    Rejected,
    add_config_argument,
    add_now_argument,
    load_policy,
    open_input,
    parse_line,
    parse_now,
    read_lines,
)
from sla_connector.cli.credits import comparison_table, credit_records, credits_table
from sla_connector.cli.exclude import recorded_exclusions
from sla_connector.cli.records import adherence_record, ticket_record
from sla_connector.core.adherence import AdherenceCounter, AdherenceRow
from sla_connector.core.calendars import to_us
from sla_connector.core.durations import format_seconds
from sla_connector.core.errors import SlaConnectorError, UnavailableError
from sla_connector.core.evaluate import evaluate
from sla_connector.core.exclusions import RecordedExclusions
from sla_connector.core.objectives import MonthAssessment, ObjectiveCounter, assess
from sla_connector.core.policy import Policy
from sla_connector.core.vocabulary import ALL_CLOCKS_MET
from sla_connector.settings import load_config

__all__ = ["register", "run"]

_BATCH = 2000

_CSV_COLUMNS = (
    "id",
    "source",
    "client",
    "tier",
    "rule",
    "response_state",
    "response_due_at",
    "response_breached_at",
    "response_elapsed_seconds",
    "resolution_state",
    "resolution_due_at",
    "resolution_breached_at",
    "resolution_elapsed_seconds",
    "resolution_cycle",
    "escalations",
)


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "audit",
        help="recompute SLA outcomes and adherence from ticket history (JSONL)",
        description="Evaluate canonical tickets (one JSON object per line) under the policy.",
    )
    add_config_argument(parser)
    parser.add_argument(
        "--tickets", required=True, metavar="FILE", help="JSONL tickets, - for stdin"
    )
    parser.add_argument("--format", choices=("json", "table", "csv"), default="json")
    add_now_argument(parser)
    parser.add_argument(
        "--compare-policy",
        metavar="OTHER",
        help="also evaluate under a second policy and show adherence side by side",
    )
    parser.add_argument(
        "--no-store",
        action="store_true",
        help="ignore the exclusions recorded in the state store (`exclude`); PSA tags still apply",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="worker processes for large inputs (default: one per CPU; 1 runs in-process)",
    )
    parser.set_defaults(handler=run)


@dataclass(slots=True)
class _Counters:
    """Adherence and objective counts under one policy."""

    adherence: AdherenceCounter
    objectives: ObjectiveCounter

    @classmethod
    def until(cls, now_us: int) -> _Counters:
        return cls(AdherenceCounter(end=now_us), ObjectiveCounter(end=now_us))

    def merge(self, other: _Counters) -> None:
        self.adherence.merge(other.adherence)
        self.objectives.merge(other.objectives)


@dataclass(slots=True)
class _Chunk:
    """What evaluating a batch of lines produced: records, counters and messages."""

    records: list[bytes] | list[dict[str, Any]]
    counters: _Counters
    other_counters: _Counters | None
    messages: list[str] = field(default_factory=list)
    rejected: int = 0


class _Auditor:
    """Evaluates batches of JSONL lines under the policy (and the what-if policy)."""

    def __init__(
        self,
        policy: Policy,
        other: Policy | None,
        now: datetime,
        serialise: bool,
        exclusions: RecordedExclusions,
    ) -> None:
        self.policies = (policy, other)
        self.now = now
        self.serialise = serialise
        self.exclusions = exclusions

    def __call__(self, lines: list[tuple[int, bytes]]) -> _Chunk:
        policy, other = self.policies
        now_us = to_us(self.now)
        sources = policy.sources
        counters = _Counters.until(now_us)
        other_counters = _Counters.until(now_us) if other is not None else None
        records: list[Any] = []
        chunk = _Chunk(records, counters, other_counters)
        for number, raw in lines:
            item = parse_line(number, raw, sources)
            if isinstance(item, Rejected):
                chunk.rejected += 1
                chunk.messages.append(f"line {item.line}: rejected: {item.reason}")
                continue
            evaluation = evaluate(item, policy, self.now, exclusions=self.exclusions)
            chunk.messages.extend(
                f"ticket {item.id}: priority {unknown!r} is not a configured tier; ignored"
                for unknown in evaluation.unknown_priorities
            )
            counters.adherence.add(evaluation)
            counters.objectives.add(evaluation, policy)
            if other is not None and other_counters is not None:
                seen = evaluate(item, other, self.now, exclusions=self.exclusions)
                other_counters.adherence.add(seen)
                other_counters.objectives.add(seen, other)
            record = ticket_record(evaluation)
            records.append(orjson.dumps(record) if self.serialise else record)
        return chunk


def _batches(lines: Iterable[tuple[int, bytes]], size: int) -> Iterator[list[tuple[int, bytes]]]:
    batch: list[tuple[int, bytes]] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


_FORKED: _Auditor | None = None


def _forked_batch(lines: list[tuple[int, bytes]]) -> _Chunk:
    """Runs in a forked worker, which inherited the auditor instead of unpickling a policy."""
    assert _FORKED is not None
    return _FORKED(lines)


def _chunks(auditor: _Auditor, path: str, handle: IO[bytes], jobs: int) -> Iterator[_Chunk]:
    """Evaluate the opened file in order, in ``jobs`` forked worker processes when more
    than one. A batch that fails (in a worker or here) is one ``UnavailableError``."""
    global _FORKED  # noqa: PLW0603 - the fork start method hands it to the workers
    batches = _batches(read_lines(path, handle=handle), _BATCH)
    try:
        if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            yield from map(auditor, batches)
            return
        _FORKED = auditor
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            yield from pool.imap(_forked_batch, batches, chunksize=1)
    except SlaConnectorError:
        raise
    except Exception as exc:
        raise UnavailableError(
            f"audit of {path} failed ({type(exc).__name__}: {exc}); nothing was written. "
            "Run again with --jobs 1 to see where, and report it if it persists"
        ) from exc
    finally:
        _FORKED = None


@dataclass(frozen=True, slots=True)
class _Summary:
    """What follows the tickets: adherence, credits, and both under the what-if policy."""

    adherence: list[AdherenceRow]
    credits: list[MonthAssessment]
    comparison: list[dict[str, Any]] | None = None
    other_credits: list[MonthAssessment] | None = None


def run(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config))
    policy = config.policy
    other = load_policy(args.compare_policy) if args.compare_policy else None
    now = parse_now(args.now)
    now_us = to_us(now)
    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    exclusions = {} if args.no_store else recorded_exclusions(config)
    auditor = _Auditor(policy, other, now, args.format == "json", exclusions)
    counters = _Counters.until(now_us)
    other_counters = _Counters.until(now_us) if other is not None else None
    rejected = 0
    # The input is opened before any output, and the output is spooled until the end, so
    # a missing file or a failed worker leaves stdout empty (never half a JSON document).
    handle = open_input(args.tickets)
    with _Spool() as out:
        writer = _writer(args.format, out.text)
        for chunk in _chunks(auditor, args.tickets, handle, jobs):
            for message in chunk.messages:
                print(message, file=sys.stderr)
            rejected += chunk.rejected
            counters.merge(chunk.counters)
            if other_counters is not None and chunk.other_counters is not None:
                other_counters.merge(chunk.other_counters)
            writer.records(chunk.records)
        rows = counters.adherence.rows()
        summary = _Summary(rows, assess(policy, counters.objectives, now_us))
        if other is not None and other_counters is not None:
            summary = _Summary(
                rows,
                summary.credits,
                _compare(rows, other_counters.adherence.rows()),
                assess(other, other_counters.objectives, now_us),
            )
        writer.finish(summary)
        out.publish(sys.stdout)
    if rejected:
        print(f"sla-connector: {rejected} ticket line(s) rejected", file=sys.stderr)
        return ExitCode.FINDINGS
    return ExitCode.OK


class _Spool:
    """The output, held (in memory, then in a temporary file past 64 MiB) until
    ``publish`` copies it to stdout: a failure before that leaves stdout untouched."""

    def __init__(self) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=64 << 20)  # noqa: SIM115
        self.text = io.TextIOWrapper(
            self.file,
            encoding="utf-8",
            newline="",
            write_through=True,
        )

    def __enter__(self) -> _Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.text.detach()
        self.file.close()

    def publish(self, stdout: IO[str]) -> None:
        self.text.flush()
        self.file.seek(0)
        stdout.flush()
        target = getattr(stdout, "buffer", None)
        if target is not None:
            shutil.copyfileobj(self.file, target, 1 << 20)
            target.flush()
        else:
            while block := self.file.read(1 << 20):
                stdout.write(block.decode("utf-8"))
        stdout.flush()


def _compare(left: list[AdherenceRow], right: list[AdherenceRow]) -> list[dict[str, Any]]:
    """Rows of both policies side by side, keyed by (client, tier, kind)."""
    keyed_left = {(r.client, r.tier, r.kind): r for r in left}
    keyed_right = {(r.client, r.tier, r.kind): r for r in right}
    order = {"response": 0, "resolution": 1, "ticket": 2}
    keys = sorted(set(keyed_left) | set(keyed_right), key=lambda k: (k[0], k[1], order[k[2]]))
    rows = []
    for key in keys:
        a, b = keyed_left.get(key), keyed_right.get(key)
        adherence_a = a.adherence if a else None
        adherence_b = b.adherence if b else None
        rows.append(
            {
                "client": key[0],
                "tier": key[1],
                "kind": key[2],
                "policy": adherence_record(a) if a else None,
                "other": adherence_record(b) if b else None,
                "difference": (
                    None
                    if adherence_a is None or adherence_b is None
                    else adherence_b - adherence_a
                ),
            }
        )
    return rows


class _Writer:
    def records(self, records: list[bytes] | list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def finish(self, summary: _Summary) -> None:
        raise NotImplementedError


class _RowWriter(_Writer):
    """A writer that takes each ticket's record (a dict) as one row; bytes are JSON's."""

    def records(self, records: list[bytes] | list[dict[str, Any]]) -> None:
        for record in records:
            if isinstance(record, dict):
                self._row(record)

    def _row(self, record: dict[str, Any]) -> None:
        raise NotImplementedError


def _writer(kind: str, out: IO[str]) -> _Writer:
    if kind == "json":
        return _JsonWriter(out)
    if kind == "csv":
        return _CsvWriter(out)
    return _TableWriter(out)


class _JsonWriter(_Writer):
    """Streams ``{"tickets": [...], "adherence": [...]}`` (DESIGN section 8)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.first = True
        self.buffer = out.buffer if hasattr(out, "buffer") else None
        self._write(b'{"tickets": [')

    def _write(self, data: bytes) -> None:
        if self.buffer is not None:
            self.buffer.write(data)
        else:
            self.out.write(data.decode())

    def records(self, records: list[bytes] | list[dict[str, Any]]) -> None:
        if not records:
            return
        lead = b"\n" if self.first else b",\n"
        self._write(
            lead + b",\n".join(r if isinstance(r, bytes) else orjson.dumps(r) for r in records)
        )
        self.first = False

    def finish(self, summary: _Summary) -> None:
        tail: dict[str, Any] = {"adherence": [adherence_record(r) for r in summary.adherence]}
        if summary.comparison is not None:
            tail["comparison"] = summary.comparison
        tail["credits"] = credit_records(summary.credits)
        if summary.other_credits is not None:
            tail["comparison_credits"] = credit_records(summary.other_credits)
        body = orjson.dumps(tail)[1:-1]
        self._write(b"\n], " + body + b"}\n")
        if self.buffer is not None:
            self.buffer.flush()


class _CsvWriter(_RowWriter):
    """One flat row per ticket, for spreadsheets."""

    def __init__(self, out: IO[str]) -> None:
        self.csv = csv.writer(out, lineterminator="\n")
        self.csv.writerow(_CSV_COLUMNS)

    def _row(self, record: dict[str, Any]) -> None:
        response, resolution = record["response"], record["resolution"]
        self.csv.writerow(
            (
                record["id"],
                record["source"],
                record["client"],
                record["tier"],
                record["rule"] or "",
                response["state"],
                response["due_at"] or "",
                response["breached_at"] or "",
                response["elapsed_seconds"],
                resolution["state"],
                resolution["due_at"] or "",
                resolution["breached_at"] or "",
                resolution["elapsed_seconds"],
                resolution["cycle"],
                ";".join(f"{e['step']}@{e['due_at']}:{e['state']}" for e in record["escalations"]),
            )
        )

    def finish(self, summary: _Summary) -> None:
        return None


class _TableWriter(_RowWriter):
    """A readable terminal table of tickets, then adherence per client and tier."""

    def __init__(self, out: IO[str]) -> None:
        # Sized and coloured for the terminal the spooled output ends up on.
        self.console = Console(
            file=out, width=max(Console().width, 120), force_terminal=sys.stdout.isatty() or None
        )
        self.tickets = PlainTable(title="Tickets", header_style="bold")
        for column in ("Ticket", "Client", "Tier", "Rule", "Response", "Resolution", "Escalations"):
            self.tickets.add_column(column)

    def _row(self, record: dict[str, Any]) -> None:
        def clock(kind: str) -> str:
            result = record[kind]
            used = format_seconds(result["elapsed_seconds"])
            return f"{result['state']} ({used} / {format_seconds(result['target_seconds'])})"

        steps = ", ".join(
            escalation["step"]
            if escalation["state"] == "fired"
            else f"{escalation['step']} due {escalation['due_at']}"
            for escalation in record["escalations"]
        )
        self.tickets.add_row(
            f"{record['source']}/{record['id']}",
            record["client"],
            record["tier"],
            record["rule"] or "-",
            clock("response"),
            clock("resolution"),
            steps or "-",
        )

    def finish(self, summary: _Summary) -> None:
        self.console.print(self.tickets)
        self.console.print(_adherence_table(summary.adherence))
        if summary.comparison is not None:
            self.console.print(_comparison_table(summary.comparison))
        if summary.credits:
            self.console.print(credits_table(summary.credits))
        if summary.other_credits is not None and (summary.credits or summary.other_credits):
            self.console.print(
                credits_table(summary.other_credits, "Credits under --compare-policy")
            )
            self.console.print(comparison_table(summary.credits, summary.other_credits))


def _percent(value: float | None) -> str:
    return "none decided" if value is None else f"{value * 100:.1f}%"


def _kind(kind: str) -> str:
    """A kind as a person reads it: ``ticket`` is the combined metric, All clocks met."""
    return ALL_CLOCKS_MET if kind == "ticket" else kind


def _adherence_table(rows: Iterable[AdherenceRow]) -> Table:
    table = PlainTable(title="Adherence (outcomes decided up to --now)", header_style="bold")
    for column in ("Client", "Tier", "Clock", "Met", "Breached", "Adherence"):
        table.add_column(
            column, justify="right" if column in ("Met", "Breached", "Adherence") else "left"
        )
    for row in rows:
        table.add_row(
            row.client,
            row.tier,
            _kind(row.kind),
            str(row.met),
            str(row.breached),
            _percent(row.adherence),
        )
    return table


def _comparison_table(rows: list[dict[str, Any]]) -> Table:
    table = PlainTable(title="What-if: this policy vs --compare-policy", header_style="bold")
    for column in ("Client", "Tier", "Clock", "Policy", "Other", "Difference"):
        table.add_column(
            column, justify="left" if column in ("Client", "Tier", "Clock") else "right"
        )
    for row in rows:
        a = row["policy"]["adherence"] if row["policy"] else None
        b = row["other"]["adherence"] if row["other"] else None
        diff = row["difference"]
        table.add_row(
            row["client"],
            row["tier"],
            _kind(row["kind"]),
            _percent(a),
            _percent(b),
            "nothing to compare" if diff is None else f"{diff * 100:+.1f} pts",
        )
    return table
