"""``SimulatedPsa``: the simulator's in-memory state, free of any transport.

It holds the generated tickets, an hourly index of the instants at which each ticket
changes, and the write-backs it accepted. Every method takes the present as an argument,
so the embedded adapter (``connector``) and an HTTP front end can both serve it from
their own clock. Days are generated lazily, the first time the present reaches them.

Change feed: a cursor ``sim1:<seconds>:<writes>`` says "every generated change at or
before that UTC second and the first <writes> write-backs have been delivered". A ticket
has changed since the cursor when it was created, got an event in the interval
(cursor second, now], or received a write-back numbered after the cursor's.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sla_connector.core.ticket import Event, Ticket
from sla_connector_psa.simulator.life import (
    DAY,
    HOUR,
    MINUTE,
    Life,
    WorkingHours,
    generate_day,
)
from sla_connector_psa.simulator.settings import MAX_TICKETS_PER_DAY, SimulatorConfig

__all__ = [
    "CURSOR_PREFIX",
    "PICKED_UP_SOONER",
    "SimWrite",
    "SimulatedPsa",
    "UnknownTicketError",
    "WithdrawnTicketError",
]

_log = logging.getLogger(__name__)

CURSOR_PREFIX = "sim1"
# Ticket id = day * stride + number within the day; a day holds far fewer than the stride
# even at MAX_TICKETS_PER_DAY on a busy weekday.
_ID_STRIDE = 5 * MAX_TICKETS_PER_DAY
PICKED_UP_SOONER = 4
"""A reassigned ticket's remaining life runs this many times faster (``_expedite``)."""


class UnknownTicketError(LookupError):
    """No ticket with that id exists (yet) in the simulated PSA."""


class WithdrawnTicketError(UnknownTicketError):
    """The ticket was withdrawn (deleted, merged, spam, moved out of scope)."""

    def __init__(self, ticket_id: str, reason: str, detail: str) -> None:
        super().__init__(f"ticket {ticket_id} was withdrawn: {reason}")
        self.ticket_id = ticket_id
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SimWrite:
    """One accepted write-back, numbered in arrival order from 1."""

    seq: int
    ticket_id: str
    action: str
    payload: Mapping[str, Any]
    at: datetime


@dataclass(slots=True)
class _SimTicket:
    """A generated ticket plus what write-backs added to it."""

    id: str
    life: Life
    client: str
    company: str
    created_at: datetime
    times: list[int]
    events: tuple[Event, ...]
    written: list[Event] = field(default_factory=list)
    tags: list[tuple[datetime, str]] = field(default_factory=list)
    notes: list[tuple[datetime, str]] = field(default_factory=list)
    expedited: bool = False


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class SimulatedPsa:
    """A deterministic PSA: the same config and present always show the same tickets."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self._hours = WorkingHours(config.timezone)
        self._start = config.start_ts
        self._next_day = self._start // DAY
        self._withdrawn: dict[str, tuple[str, str, datetime]] = {}
        self._tickets: list[_SimTicket] = []
        self._created: list[int] = []
        self._by_id: dict[str, int] = {}
        self._by_hour: dict[int, list[tuple[int, int]]] = {}
        self._writes: list[SimWrite] = []

    # -- generation ---------------------------------------------------------------------

    def _ensure(self, now: int) -> None:
        """Generate every UTC day up to the one holding ``now``."""
        while self._next_day * DAY <= now:
            self._generate(self._next_day)
            self._next_day += 1

    def _generate(self, day: int) -> None:
        for number, life in enumerate(generate_day(self.config, day, self._hours), start=1):
            if life.created >= self._start:
                self._add(day, number, life)

    def _sim_ticket(self, day: int, number: int, life: Life) -> _SimTicket:
        client = self.config.clients[life.client_index]
        return _SimTicket(
            id=str(day * _ID_STRIDE + number),
            life=life,
            client=client.key,
            company=client.company,
            created_at=_instant(life.created),
            times=[event[0] for event in life.events],
            events=tuple(
                Event(at=_instant(at), type=kind, to=to, by=by) for at, kind, to, by in life.events
            ),
        )

    def _add(self, day: int, number: int, life: Life) -> None:
        index = len(self._tickets)
        ticket = self._sim_ticket(day, number, life)
        self._tickets.append(ticket)
        self._created.append(life.created)
        self._by_id[ticket.id] = index
        for at in {life.created, *ticket.times}:
            self._by_hour.setdefault(at // HOUR, []).append((at, index))

    def resolved_at_start(self, life: Life) -> bool:
        """Whether a ticket's status at the simulator's start is a resolved one."""
        resolved = {name.casefold() for name in self.config.statuses.resolved_statuses}
        status = self.config.statuses.open
        for at, kind, to, _ in life.events:
            if at > self._start:
                break
            if kind == "status" and to is not None:
                status = to
        return status.casefold() in resolved

    def take_history(self, since: datetime) -> list[Ticket]:
        """Split the tickets created from ``since`` up to the start: those still open at
        the start are carried over and go on living here; those resolved by then are
        returned as they stood at the start (the demo stores them as history). Call it
        before the first read."""
        if self._tickets:
            raise RuntimeError("take_history() must come before the simulator is first read")
        since_s = self._seconds(since)
        start = _instant(self._start)
        history = []
        for day in range(since_s // DAY, self._start // DAY + 1):
            for number, life in enumerate(generate_day(self.config, day, self._hours), start=1):
                if not since_s <= life.created < self._start:
                    continue
                if self.resolved_at_start(life):
                    history.append(self._render(self._sim_ticket(day, number, life), start))
                else:
                    self._add(day, number, life)
        return history

    # -- reading -------------------------------------------------------------------------

    @staticmethod
    def _seconds(now: datetime) -> int:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("the present must be an aware datetime")
        return math.floor(now.timestamp())

    def _visible(self, now: int) -> int:
        """How many tickets exist at ``now`` (they are stored in creation order)."""
        self._ensure(now)
        return bisect.bisect_right(self._created, now)

    def changed_ids(self, cursor: str | None, now: datetime) -> tuple[list[str], str]:
        """Ids of the tickets changed since ``cursor`` (all if None) and the next cursor."""
        now_s = self._seconds(now)
        visible = self._visible(now_s)
        next_cursor = f"{CURSOR_PREFIX}:{now_s}:{len(self._writes)}"
        parsed = self.parse_cursor(cursor) if cursor is not None else None
        if parsed is None:
            return [ticket.id for ticket in self._tickets[:visible]], next_cursor
        since, seen_writes = parsed
        changed: set[int] = set()
        if since < now_s:
            first_hour = max(since, self._start - 1) // HOUR
            for hour in range(first_hour, now_s // HOUR + 1):
                for at, index in self._by_hour.get(hour, ()):
                    if since < at <= now_s:
                        changed.add(index)
        for write in self._writes[seen_writes:]:
            changed.add(self._by_id[write.ticket_id])
        return [self._tickets[index].id for index in sorted(changed)], next_cursor

    def parse_cursor(self, cursor: str) -> tuple[int, int] | None:
        """``(second, writes seen)``, or None (logged) when the cursor is not ours."""
        parts = cursor.split(":")
        if len(parts) == 3 and parts[0] == CURSOR_PREFIX:
            try:
                since, seen = int(parts[1]), int(parts[2])
            except ValueError:
                pass
            else:
                if seen >= 0:
                    return since, min(seen, len(self._writes))
        _log.warning(
            "connector %s: cursor %r is not a simulator cursor; reading everything",
            self.config.source,
            cursor,
        )
        return None

    def ticket(self, ticket_id: str, now: datetime) -> Ticket:
        """The canonical ticket as it stands at ``now`` (no event after it);
        ``WithdrawnTicketError`` once it was withdrawn."""
        found = self._find(ticket_id, now)
        gone = self.withdrawal(found.id, now)
        if gone is not None:
            raise WithdrawnTicketError(found.id, *gone)
        return self._render(found, now)

    def tickets(self, now: datetime) -> list[Ticket]:
        """Every ticket that exists (and was not withdrawn) at ``now``, oldest first."""
        visible = self._visible(self._seconds(now))
        return [
            self._render(ticket, now)
            for ticket in self._tickets[:visible]
            if self.withdrawal(ticket.id, now) is None
        ]

    def withdrawal(self, ticket_id: str, now: datetime) -> tuple[str, str] | None:
        """``(reason, detail)`` when the ticket was withdrawn at or before ``now``."""
        found = self._withdrawn.get(ticket_id)
        return (found[0], found[1]) if found is not None and found[2] <= now else None

    def withdraw(self, ticket_id: str, reason: str, now: datetime, detail: str = "") -> SimWrite:
        """Take a ticket out of the open set (a deleted, merged, spam or moved ticket); the
        change feed lists it, and reading it raises ``WithdrawnTicketError``."""
        ticket = self._find(ticket_id, now)
        self._withdrawn[ticket.id] = (reason, detail, now)
        return self._record(ticket, "withdraw", {"reason": reason, "detail": detail}, now)

    def _find(self, ticket_id: str, now: datetime) -> _SimTicket:
        now_s = self._seconds(now)
        self._ensure(now_s)
        index = self._by_id.get(str(ticket_id))
        if index is None or self._created[index] > now_s:
            raise UnknownTicketError(
                f"ticket {ticket_id} not found in simulator {self.config.source}"
            )
        return self._tickets[index]

    def _render(self, ticket: _SimTicket, now: datetime) -> Ticket:
        now_s = self._seconds(now)
        events = ticket.events[: bisect.bisect_right(ticket.times, now_s)]
        written = [event for event in ticket.written if event.at <= now]
        if written:
            events = tuple(sorted((*events, *written), key=lambda event: event.at))
        status = self.config.statuses.open
        for event in reversed(events):
            if event.type == "status" and event.to is not None:
                status = event.to
                break
        life = ticket.life
        return Ticket(
            id=ticket.id,
            source=self.config.source,
            client=ticket.client,
            created_at=ticket.created_at,
            subject=life.subject,
            description=life.description,
            channel=life.channel,
            source_priority=life.source_priority,
            status=status,
            events=events,
            tags=(*life.tags, *(tag for at, tag in ticket.tags if at <= now)),
            notes=tuple(text for at, text in ticket.notes if at <= now),
            extra={"company": ticket.company},
        )

    def counts(self, now: datetime) -> dict[str, int]:
        """Tickets so far, how many are open / paused / resolved now, and writes accepted."""
        statuses = self.config.statuses
        paused = {name.casefold() for name in statuses.paused_statuses}
        resolved = {name.casefold() for name in statuses.resolved_statuses}
        result = {"tickets": 0, "open": 0, "paused": 0, "resolved": 0, "writes": len(self._writes)}
        for ticket in self.tickets(now):
            result["tickets"] += 1
            status = ticket.status.casefold()
            key = "resolved" if status in resolved else "paused" if status in paused else "open"
            result[key] += 1
        return result

    # -- writing -------------------------------------------------------------------------

    @property
    def writes(self) -> tuple[SimWrite, ...]:
        """Every write-back accepted so far, in order."""
        return tuple(self._writes)

    def _record(
        self, ticket: _SimTicket, action: str, payload: dict[str, Any], now: datetime
    ) -> SimWrite:
        write = SimWrite(
            seq=len(self._writes) + 1, ticket_id=ticket.id, action=action, payload=payload, at=now
        )
        self._writes.append(write)
        return write

    def assign(self, ticket_id: str, person_or_group: str, now: datetime) -> SimWrite:
        """Assign the ticket; it shows as an ``assignee`` event at ``now``. The engineer it
        is reassigned to picks it up at once (``_expedite``)."""
        ticket = self._find(ticket_id, now)
        ticket.written.append(Event(at=now, type="assignee", to=person_or_group))
        self._expedite(ticket, now)
        return self._record(ticket, "assign", {"to": person_or_group}, now)

    def _expedite(self, ticket: _SimTicket, now: datetime) -> None:
        """An escalated ticket is picked up sooner: the rest of its generated life (reply,
        work, resolution, close) happens in ``1 / PICKED_UP_SOONER`` of the time that was
        left, so enforcement visibly lifts adherence (the case study's story). Only the
        first reassignment speeds a ticket up; the change feed lists the moved events."""
        if ticket.expedited:
            return
        ticket.expedited = True
        now_s = self._seconds(now)
        first = bisect.bisect_right(ticket.times, now_s)
        if first >= len(ticket.times):
            return
        index = self._by_id[ticket.id]
        times = ticket.times[:first]
        events = list(ticket.events[:first])
        for at, event in zip(ticket.times[first:], ticket.events[first:], strict=True):
            sooner = now_s + max(MINUTE, (at - now_s) // PICKED_UP_SOONER)  # order kept
            times.append(sooner)
            events.append(replace(event, at=_instant(sooner)))
            self._by_hour.setdefault(sooner // HOUR, []).append((sooner, index))
        ticket.times = times
        ticket.events = tuple(events)

    def set_priority(self, ticket_id: str, tier: str, now: datetime) -> SimWrite:
        """Set the ticket's priority; it shows as a ``priority`` event at ``now``."""
        ticket = self._find(ticket_id, now)
        ticket.written.append(Event(at=now, type="priority", to=tier))
        return self._record(ticket, "set_priority", {"tier": tier}, now)

    def add_internal_note(self, ticket_id: str, text: str, now: datetime) -> SimWrite:
        """Add a private note; it shows in the ticket's ``notes``."""
        ticket = self._find(ticket_id, now)
        ticket.notes.append((now, text))
        return self._record(ticket, "add_internal_note", {"text": text}, now)

    def add_tag(self, ticket_id: str, tag: str, now: datetime) -> SimWrite:
        """Tag the ticket (a tag it already has is not repeated); see the ticket's ``tags``."""
        ticket = self._find(ticket_id, now)
        if tag not in ticket.life.tags and all(tag != known for _, known in ticket.tags):
            ticket.tags.append((now, tag))
        return self._record(ticket, "add_tag", {"tag": tag}, now)
