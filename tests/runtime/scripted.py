"""A scripted PSA and a daemon run on virtual time, for tests of how due steps are fired.

``ScriptedPsa`` serves a fixed set of tickets that are never answered, counts its verify
reads and writes; ``run_a_minute`` starts a daemon on it at a given instant, lets a virtual
minute pass and hands back the store for the test to read the evidence log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sla_connector.core.ports import CheckResult, PollPage, WriteResult
from sla_connector.core.ticket import Ticket, parse_ticket
from sla_connector.runtime.clocks import ManualClock
from sla_connector.runtime.daemon import Daemon, DaemonSettings
from sla_connector.runtime.timeline import VirtualTimeline
from sla_connector.store import Store

START = datetime.fromisoformat("2026-11-02T09:00:00+00:00")  # Monday, London = UTC


def open_ticket(ticket_id: str, created: datetime = START) -> Ticket:
    return parse_ticket(
        {
            "id": ticket_id,
            "source": "sim",
            "client": "globex",
            "subject": "VPN slow",
            "created_at": created.isoformat(),
        }
    )


@dataclass
class ScriptedPsa:
    """Tickets ``created`` (id -> instant), never answered; reads and writes recorded."""

    clock: ManualClock
    created: dict[str, datetime]
    name: str = "sim"
    fetched: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    def tickets(self) -> tuple[Ticket, ...]:
        return tuple(open_ticket(tid, at) for tid, at in self.created.items())

    async def fetch_changed(self, since_cursor: str | None) -> AsyncIterator[PollPage]:
        yield PollPage(self.tickets(), cursor=self.clock.now().isoformat())

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        self.fetched.append(ticket_id)
        return next(t for t in self.tickets() if t.id == ticket_id)

    async def apply(self, ticket: Ticket, actions: list[tuple[str, str]]) -> WriteResult:
        self.written.append(ticket.id)
        return WriteResult(True, "written")

    async def assign(self, ticket: Ticket, person_or_group: str) -> WriteResult:
        raise AssertionError("apply is used")

    set_priority = add_internal_note = add_tag = assign  # type: ignore[assignment]

    async def check(self) -> CheckResult:
        return CheckResult(True, "ok")

    async def aclose(self) -> None:
        return None


async def run_a_minute(psa: Any, policy: Any, db: Path, *, concurrency: int = 8) -> Store:
    """Start a daemon on ``psa`` at its clock's instant, run a virtual minute, stop it;
    the store (still open) for the test to read."""
    clock = psa.clock
    store = Store.open(f"sqlite:///{db}")
    timeline = VirtualTimeline(clock)
    settings = DaemonSettings(
        poll_intervals={"sim": timedelta(hours=4)},
        reconcile_intervals={"sim": timedelta(days=1)},
        owner="test",
        backfill=timedelta(hours=6),
        concurrency=concurrency,
    )
    daemon = Daemon(
        policy=policy,
        store=store,
        connectors={"sim": psa},
        clock=clock,
        timeline=timeline,
        settings=settings,
    )
    await daemon.start()
    await timeline.run_until(clock.now() + timedelta(minutes=1))
    await daemon.stop()
    return store


def outcomes(store: Store) -> list[tuple[str, str, str]]:
    """(ticket, step, state) of each escalation outcome in the evidence log, in order."""
    return [
        (e.payload["ticket"], e.payload["step"], e.payload["state"])
        for e in store.evidence()
        if e.kind == "escalation"
    ]
