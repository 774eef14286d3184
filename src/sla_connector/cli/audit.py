"""``sla-connector audit``: recompute SLA outcomes and adherence from ticket history.

The input is streamed line by line and the JSON output is written as it goes, so a
million tickets never sit in memory; only the adherence counters accumulate.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable
from typing import IO, Any

import orjson
from rich.console import Console
from rich.table import Table

from sla_connector.cli.common import (
    Rejected,
    add_config_argument,
    add_now_argument,
    load_policy,
    parse_now,
    read_tickets,
)
from sla_connector.cli.records import adherence_record, instant, ticket_record
from sla_connector.core.adherence import AdherenceCounter, AdherenceRow
from sla_connector.core.calendars import to_us
from sla_connector.core.durations import format_seconds
from sla_connector.core.evaluate import TicketEvaluation, evaluate

__all__ = ["register", "run"]

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
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    policy = load_policy(args.config)
    other = load_policy(args.compare_policy) if args.compare_policy else None
    now = parse_now(args.now)
    now_us = to_us(now)
    counter = AdherenceCounter(end=now_us)
    other_counter = AdherenceCounter(end=now_us) if other is not None else None
    sources = set(policy.sources)
    rejected = 0
    out = sys.stdout
    writer = _writer(args.format, out)
    for _, item in read_tickets(args.tickets, sources):
        if isinstance(item, Rejected):
            rejected += 1
            print(f"line {item.line}: rejected: {item.reason}", file=sys.stderr)
            continue
        evaluation = evaluate(item, policy, now)
        for unknown in evaluation.unknown_priorities:
            print(
                f"ticket {item.id}: priority {unknown!r} is not a configured tier; ignored",
                file=sys.stderr,
            )
        counter.add(evaluation)
        if other is not None and other_counter is not None:
            other_counter.add(evaluate(item, other, now))
        writer.ticket(evaluation)
    rows = counter.rows()
    comparison = _compare(rows, other_counter.rows()) if other_counter is not None else None
    writer.finish(rows, comparison)
    if rejected:
        print(f"sla-connector: {rejected} ticket line(s) rejected", file=sys.stderr)
        return 1
    return 0


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
    def ticket(self, evaluation: TicketEvaluation) -> None:
        raise NotImplementedError

    def finish(self, rows: list[AdherenceRow], comparison: list[dict[str, Any]] | None) -> None:
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

    def ticket(self, evaluation: TicketEvaluation) -> None:
        self._write((b"\n" if self.first else b",\n") + orjson.dumps(ticket_record(evaluation)))
        self.first = False

    def finish(self, rows: list[AdherenceRow], comparison: list[dict[str, Any]] | None) -> None:
        tail: dict[str, Any] = {"adherence": [adherence_record(r) for r in rows]}
        if comparison is not None:
            tail["comparison"] = comparison
        body = orjson.dumps(tail)[1:-1]
        self._write(b"\n], " + body + b"}\n")
        if self.buffer is not None:
            self.buffer.flush()


class _CsvWriter(_Writer):
    """One flat row per ticket, for spreadsheets."""

    def __init__(self, out: IO[str]) -> None:
        self.csv = csv.writer(out, lineterminator="\n")
        self.csv.writerow(_CSV_COLUMNS)

    def ticket(self, evaluation: TicketEvaluation) -> None:
        record = ticket_record(evaluation)
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

    def finish(self, rows: list[AdherenceRow], comparison: list[dict[str, Any]] | None) -> None:
        return None


class _TableWriter(_Writer):
    """A readable terminal table of tickets, then adherence per client and tier."""

    def __init__(self, out: IO[str]) -> None:
        self.console = Console(file=out, width=max(Console(file=out).width, 120))
        self.tickets = Table(title="Tickets", header_style="bold")
        for column in ("Ticket", "Client", "Tier", "Rule", "Response", "Resolution", "Escalations"):
            self.tickets.add_column(column)

    def ticket(self, evaluation: TicketEvaluation) -> None:
        def clock(kind: str) -> str:
            result = evaluation.response if kind == "response" else evaluation.resolution
            used = format_seconds(result.elapsed_us / 1e6)
            return f"{result.state} ({used} / {format_seconds(result.target_us / 1e6)})"

        fired = [p for p in evaluation.steps if p.state == "fired"]
        pending = [p for p in evaluation.steps if p.state == "pending"]
        steps = ", ".join(f"{p.step.name}" for p in fired)
        if pending:
            steps += (", " if steps else "") + ", ".join(
                f"{p.step.name} due {instant(p.due_at)}" for p in pending
            )
        self.tickets.add_row(
            f"{evaluation.ticket.source}/{evaluation.ticket.id}",
            evaluation.ticket.client,
            evaluation.tier,
            evaluation.rule or "-",
            clock("response"),
            clock("resolution"),
            steps or "-",
        )

    def finish(self, rows: list[AdherenceRow], comparison: list[dict[str, Any]] | None) -> None:
        self.console.print(self.tickets)
        self.console.print(_adherence_table(rows))
        if comparison is not None:
            self.console.print(_comparison_table(comparison))


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _adherence_table(rows: Iterable[AdherenceRow]) -> Table:
    table = Table(title="Adherence (outcomes decided up to --now)", header_style="bold")
    for column in ("Client", "Tier", "Clock", "Met", "Breached", "Adherence"):
        table.add_column(
            column, justify="right" if column in ("Met", "Breached", "Adherence") else "left"
        )
    for row in rows:
        table.add_row(
            row.client, row.tier, row.kind, str(row.met), str(row.breached), _percent(row.adherence)
        )
    return table


def _comparison_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="What-if: this policy vs --compare-policy", header_style="bold")
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
            row["kind"],
            _percent(a),
            _percent(b),
            "n/a" if diff is None else f"{diff * 100:+.1f} pts",
        )
    return table
