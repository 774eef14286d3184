"""``backfill``: months of real history out of each PSA, as canonical JSONL and/or the store.

Each configured connector (or one, ``--connector``) is built as ``run`` builds it, with
``full_read_lookback`` set to the span asked for, and read with its own full read
(``fetch_changed(None)``): open tickets however old and every ticket updated within the
span, each with its history, through the connector's history readers and within its own
request budget. Nothing is ever written to the PSA.

Resumable: each page's tickets are appended to ``<out>.partial`` and the page's cursor is
saved in ``<out>.checkpoint`` (JSON, per connector, with the newest ``created_at`` read,
which the progress bar's ETA reads through ``Step``) before the next page is read, so a run
interrupted at any point resumes from the last saved cursor (``fetch_changed(cursor)``) and
re-delivered tickets replace their earlier lines. When every connector is done the
tickets are written to ``<out>`` (one line per ticket, the format ``audit --tickets``
reads, sorted by source and id) and the working files are removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from sla_connector.core.calendars import to_us
from sla_connector.core.errors import ConfigError
from sla_connector.core.evaluate import evaluate
from sla_connector.core.ports import Clock, Connector
from sla_connector.core.ticket import Ticket, parse_ticket
from sla_connector.registry import load_connector_factory
from sla_connector.runtime.planner import ticket_row
from sla_connector.runtime.redaction import read_secret
from sla_connector.settings import AppConfig
from sla_connector.store import Store

__all__ = ["Backfill", "Progress", "Step", "parse_since"]

_SINCE_RE = re.compile(r"^\s*(\d+)\s*(mo|months?|w|weeks?|d|days?)\s*$", re.IGNORECASE)
_DAYS = {"mo": 30, "month": 30, "months": 30, "w": 7, "week": 7, "weeks": 7}


@dataclass(frozen=True)
class Step:
    """Where a connector's read has got to, told to ``progress`` after each page.

    ``reached`` is the newest ``created_at`` among the tickets read so far (this run and,
    after a resume, the runs before): the connectors' full reads go through the span in
    ticket order (ConnectWise by id, Zendesk and Jira by last update), so it moves from
    ``start`` towards ``end`` as the read does, whichever order the PSA uses. Creation, not
    the last update, because in id order an old ticket updated yesterday would jump the
    estimate to the end; in update order it lags by a ticket's age, a small share of months.
    """

    connector: str
    tickets: int
    pages: int
    start: datetime  # ``since`` back from the run's start
    end: datetime  # the run's start
    reached: datetime | None

    @property
    def fraction(self) -> float | None:
        """How far through the span, 0 to 1 (None before any ticket)."""
        if self.reached is None:
            return None
        span = (self.end - self.start).total_seconds()
        done = (self.reached - self.start).total_seconds()
        return min(max(done / span, 0.0), 1.0) if span > 0 else 1.0


Progress = Callable[[Step], None]
"""Told where the read has got to after each page."""


def _reached(mine: dict[str, Any]) -> datetime | None:
    """The checkpoint's newest ``created_at`` of a connector (see ``Step.reached``)."""
    value = mine.get("reached")
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def parse_since(text: str) -> timedelta:
    """``4mo`` (30-day months), ``6w``, ``120d``: how far back to read."""
    found = _SINCE_RE.match(text)
    if found is None:
        raise ConfigError("--since", f"{text!r} is not a span; write e.g. 4mo, 6w or 120d")
    count, unit = int(found.group(1)), found.group(2).lower()
    days = count * _DAYS.get(unit, 1)
    if not 0 < days <= 3660:
        raise ConfigError("--since", f"{text!r}: between 1 day and 10 years")
    return timedelta(days=days)


@dataclass
class Backfill:
    """One backfill run over the configured connectors."""

    config: AppConfig
    since: timedelta
    clock: Clock
    out: Path | None = None
    store: Store | None = None
    only: str | None = None
    progress: Progress | None = None
    page_limit: int | None = None  # stop after this many pages in all (tests: an interruption)

    def __post_init__(self) -> None:
        if self.only is not None and self.only not in self.config.connectors:
            known = ", ".join(sorted(self.config.connectors))
            raise ConfigError("--connector", f"{self.only!r} is not configured (known: {known})")
        base = self.out if self.out is not None else Path("sla-connector-backfill.jsonl")
        self.partial = base.with_name(base.name + ".partial")
        self.checkpoint = base.with_name(base.name + ".checkpoint")
        self._pages = 0
        self._end = self.clock.now()  # the span read ends where the run starts

    def names(self) -> list[str]:
        return [self.only] if self.only is not None else sorted(self.config.connectors)

    def build(self, name: str) -> Connector:
        """The connector as ``run`` builds it, reading ``since`` back on a full read."""
        entry = self.config.connectors[name]
        settings: dict[str, Any] = entry.model_dump(mode="python")
        for key, variable in settings.items():
            if key.endswith("_env") and isinstance(variable, str):
                read_secret(variable, f"connectors.{name}.{key}")
        settings["full_read_lookback"] = f"{self.since.days}d"
        return load_connector_factory(entry.type, name)(name, settings, self.clock)

    def _state(self) -> dict[str, Any]:
        if not self.checkpoint.exists():
            return {}
        loaded = orjson.loads(self.checkpoint.read_bytes())
        return loaded if isinstance(loaded, dict) else {}

    def _save(self, state: dict[str, Any]) -> None:
        temp = self.checkpoint.with_name(self.checkpoint.name + ".tmp")
        temp.write_bytes(orjson.dumps(state))
        temp.replace(self.checkpoint)

    async def run(self) -> dict[str, int]:
        """Read every connector (resuming from the checkpoint); tickets read per connector.

        Raises ``InterruptedError`` when ``page_limit`` stops it (the checkpoint stays).
        """
        state = self._state()
        self._end = self.clock.now()
        counts: dict[str, int] = {}
        for name in self.names():
            mine = state.setdefault(
                name, {"cursor": None, "done": False, "tickets": 0, "reached": None}
            )
            if not mine["done"]:
                connector = self.build(name)
                try:
                    await self._read(name, connector, mine, state)
                finally:
                    await connector.aclose()
            counts[name] = int(mine["tickets"])
        tickets = dict(self._collected())
        if self.store is not None:
            self._load(list(tickets.values()))
        if self.out is not None:
            with self.out.open("wb") as sink:
                for key in sorted(tickets):
                    sink.write(orjson.dumps(tickets[key].to_json()) + b"\n")
        self.partial.unlink(missing_ok=True)
        self.checkpoint.unlink(missing_ok=True)
        return counts

    async def _read(
        self, name: str, connector: Connector, mine: dict[str, Any], state: dict[str, Any]
    ) -> None:
        pages = 0
        with self.partial.open("ab") as sink:
            async for page in connector.fetch_changed(mine["cursor"]):
                newest = _reached(mine)
                for ticket in page.tickets:
                    sink.write(orjson.dumps(ticket.to_json()) + b"\n")
                    if newest is None or ticket.created_at > newest:
                        newest = ticket.created_at
                mine["reached"] = newest.isoformat() if newest is not None else None
                sink.flush()
                mine["tickets"] += len(page.tickets)
                if page.cursor is not None:
                    mine["cursor"] = page.cursor
                self._save(state)
                pages += 1
                self._pages += 1
                if self.progress is not None:
                    start = self._end - self.since
                    self.progress(Step(name, int(mine["tickets"]), pages, start, self._end, newest))
                if self.page_limit is not None and self._pages >= self.page_limit:
                    raise InterruptedError(f"backfill stopped after {self._pages} page(s)")
        mine["done"] = True
        self._save(state)

    def _collected(self) -> Iterator[tuple[tuple[str, str], Ticket]]:
        """Every ticket of the working file, the last delivery of each winning."""
        if not self.partial.exists():
            return
        latest: dict[tuple[str, str], Ticket] = {}
        with self.partial.open("rb") as lines:
            for line in lines:
                if line.strip():
                    ticket = parse_ticket(orjson.loads(line))
                    latest[(ticket.source, ticket.id)] = ticket
        yield from latest.items()

    def _load(self, tickets: list[Ticket]) -> None:
        """Store the tickets' snapshots and clocks as a poll would, planning nothing."""
        assert self.store is not None
        now = self.clock.now()
        policy = self.config.policy
        rows = [
            ticket_row(evaluate(t, policy, now), orjson.dumps(t.to_json()).decode())
            for t in tickets
        ]
        self.store.upsert_tickets(rows)
        self.store.append_evidence(
            "backfill", {"tickets": len(rows), "since_days": self.since.days}, at=to_us(now)
        )
