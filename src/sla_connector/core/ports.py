"""The ports the runtime talks through: a PSA connector and the clock.

Connectors implement ``Connector`` and register a ``ConnectorFactory`` in the entry-point
group ``sla_connector.connectors``; built-in connectors register the same way a third
party's would. What a connector may do beyond the port is declared here too, as
``runtime_checkable`` protocols the runtime checks once when it builds the connector:
``StepWriter`` (a whole escalation step in one request), ``NoteFinder`` (search the
PSA's notes for a step's marker when the ticket's ``notes`` cannot show it) and
``HealthReporter`` (what is failing inside the connector, object by object) and
``BudgetKeeper`` (the connector's request budgets kept in a ``RequestLog`` the runtime
gives it, the store, so a restarted daemon goes on with the last minute's requests counted)
and ``TicketRecaller`` (the connector is given the tickets the store last saw, a
``TicketMemory``, so a ticket the PSA shows unchanged since then is not read again in full).

Priority: the runtime marks the requests of a due step's verify and write ``URGENT``
(``urgent()``, a context variable every task inherits), ``WARNING`` for an at-risk step's;
a connector's rate limiter lets them go in that order, before background requests (polls,
full reads), when its budget is short.

Signals a connector gives the runtime besides tickets: a ``PollPage`` lists the tickets that
went away (``withdrawn``: deleted, merged, spam, out of scope) and the objects that could not
be read this time (``failures``: one project, board, ticket or page, retried later with
back-off while the rest of the poll went on); ``fetch_ticket`` raises
``core.errors.TicketGoneError`` for a ticket that went away, and a write raises
``core.errors.WriteConflictError`` on a 409.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sla_connector.core.ticket import Ticket

__all__ = [
    "BACKGROUND",
    "PRIORITIES",
    "URGENT",
    "WARNING",
    "WRITE_ACTIONS",
    "BudgetKeeper",
    "CheckResult",
    "Clock",
    "Connector",
    "ConnectorFactory",
    "ConnectorHealth",
    "HealthReporter",
    "NoteFinder",
    "ObjectFailure",
    "PollPage",
    "RecalledTicket",
    "RequestLog",
    "StepWriter",
    "TicketBatchReader",
    "TicketMemory",
    "TicketRecaller",
    "Withdrawal",
    "WriteResult",
    "is_urgent",
    "request_priority",
    "request_sent",
    "urgent",
]

WRITE_ACTIONS = ("reassign", "set_priority", "note", "tag")
"""The write-back actions of a step, as ``StepWriter.apply`` receives them."""


class Clock(Protocol):
    """Where the present comes from: the wall clock in production, virtual time in tests."""

    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """A ticket that left the open set: ``reason`` is one of ``core.errors.WITHDRAWN_REASONS``.

    The runtime cancels the ticket's pending steps with this reason and lists the ticket as
    withdrawn, never as breached (``detail``: the ticket it was merged into, where it moved).
    """

    ticket_id: str
    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ObjectFailure:
    """One object a connector could not read or write this time, the rest going on.

    ``kind`` names the object (``project``, ``board``, ``ticket``, ``page``, ``token``),
    ``object_id`` which one; ``retry_at`` is when the connector tries it again (back-off
    after ``attempts`` failures in a row); ``retriable`` False means an operator must act.
    """

    kind: str
    object_id: str
    error: str
    attempts: int = 1
    retry_at: datetime | None = None
    retriable: bool = True


@dataclass(frozen=True, slots=True)
class PollPage:
    """One batch of changed tickets and the cursor to resume after it.

    ``withdrawn`` lists tickets that went away since they were delivered; ``failures`` the
    objects this page could not read (each also held in the connector's health).
    """

    tickets: tuple[Ticket, ...]
    cursor: str | None
    rejected: tuple[tuple[str, str], ...] = ()  # (ticket id or "?", reason)
    withdrawn: tuple[Withdrawal, ...] = ()
    failures: tuple[ObjectFailure, ...] = ()


@dataclass(frozen=True, slots=True)
class ConnectorHealth:
    """What is failing inside one connector now, for ``check``, /metrics and the dashboard.

    ``failures`` are the objects currently failing (cleared when a retry succeeds);
    ``counters`` are totals since the connector started (e.g. ``unparsed_audit_trails``,
    ``retries``, ``withdrawn``); ``warnings`` are sentences an operator should read, each
    with a sample where one helps (an audit-trail line that could not be read).
    """

    failures: tuple[ObjectFailure, ...] = ()
    counters: Mapping[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What the PSA answered to a write-back."""

    ok: bool
    detail: str = ""
    response: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict of ``check``: reached, authenticated, what one read found."""

    ok: bool
    summary: str
    details: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Connector(Protocol):
    """An adapter between one PSA instance and the canonical ticket."""

    name: str

    def fetch_changed(self, since_cursor: str | None) -> AsyncIterator[PollPage]:
        """Pages of canonical tickets changed since the cursor (None: full read)."""
        ...

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        """The ticket as it is now; ``TicketGoneError`` when it went away (with the reason)."""
        ...

    async def assign(self, ticket: Ticket, person_or_group: str) -> WriteResult: ...

    async def set_priority(self, ticket: Ticket, tier: str) -> WriteResult: ...

    async def add_internal_note(self, ticket: Ticket, text: str) -> WriteResult: ...

    async def add_tag(self, ticket: Ticket, tag: str) -> WriteResult: ...

    async def check(self) -> CheckResult: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class StepWriter(Protocol):
    """Optional: writes all of a step's actions in one request (atomic where the PSA is).

    ``actions`` are ``(action, value)`` pairs in order, the action one of ``WRITE_ACTIONS``;
    the one ``WriteResult`` stands for all of them.
    """

    async def apply(self, ticket: Ticket, actions: Sequence[tuple[str, str]]) -> WriteResult: ...


@runtime_checkable
class NoteFinder(Protocol):
    """Optional: whether a note of the ticket contains ``text``, read from the PSA itself.

    For a PSA whose tickets do not carry their notes (``Ticket.notes`` is what the connector
    happened to read); the runtime looks there for a step's marker after a crash.
    """

    async def find_note(self, ticket_id: str, text: str) -> bool: ...


@runtime_checkable
class HealthReporter(Protocol):
    """Optional: the connector's per-object failures, counters and warnings right now."""

    def health(self) -> ConnectorHealth: ...


class RequestLog(Protocol):
    """Where request budgets are kept across restarts: instants (UTC microseconds) of the
    requests sent through a named budget."""

    def recent_requests(self, bucket: str, *, since: int) -> list[int]:
        """The instants of ``bucket``'s requests at or after ``since``, oldest first."""
        ...

    def record_request(self, bucket: str, *, at: int) -> None:
        """Count one request of ``bucket`` at ``at`` (before it is sent)."""
        ...


@runtime_checkable
class BudgetKeeper(Protocol):
    """Optional: the connector keeps its request budgets in ``log`` from now on, starting
    from the requests ``log`` holds for the last minute."""

    def keep_budgets(self, log: RequestLog) -> None: ...


@dataclass(frozen=True, slots=True)
class RecalledTicket:
    """A ticket as the store last saved it, and when (UTC): ``seen_at`` bounds how old the
    history it was built from can be."""

    ticket: Ticket
    seen_at: datetime


class TicketMemory(Protocol):
    """The tickets the runtime last saw, by source and id (the store's snapshots)."""

    def recall_tickets(self, source: str, ticket_ids: Sequence[str]) -> dict[str, RecalledTicket]:
        """The snapshots of those tickets it has (ids it never saw are absent)."""
        ...


@runtime_checkable
class TicketBatchReader(Protocol):
    """Optional: the connector reads several tickets in one request (Zendesk: Show Multiple
    Tickets). Each id maps to its ticket, or to the error ``fetch_ticket`` would raise for
    it (``TicketGoneError``, ``RetriableConnectorError``, ``TicketError``); an error of the
    whole request is raised. Due steps verified together then cost one request, not one
    each (issue 10: verify reads were the most of a crash loop's requests)."""

    async def fetch_tickets(
        self, ticket_ids: Sequence[str]
    ) -> Mapping[str, Ticket | Exception]: ...


@runtime_checkable
class TicketRecaller(Protocol):
    """Optional: the connector may answer a ticket the PSA shows unchanged since the
    snapshot in ``memory`` with that snapshot, instead of reading its history again (after
    a restart, every history is unknown to a connector that keeps them in memory)."""

    def recall_with(self, memory: TicketMemory) -> None: ...


URGENT = "urgent"
WARNING = "warning"
BACKGROUND = "background"
PRIORITIES = (URGENT, WARNING, BACKGROUND)  # most pressing first
request_priority: ContextVar[str] = ContextVar("sla_connector_request_priority", default=BACKGROUND)
"""``URGENT`` inside the verify-and-write of a due step, ``WARNING`` inside that of a due
at-risk step, else ``BACKGROUND``."""


request_sent: ContextVar[Callable[[], None] | None] = ContextVar(
    "sla_connector_request_sent", default=None
)
"""Called by a connector's HTTP layer each time a request made inside leaves, its rate
budget's wait over (so more than once for a request retried, or a read of several
requests). ``runtime.ticket_reads`` keeps gathering verify reads while its last request
still waits for the budget, so that reads due while the budget is spent go in one request
instead of one each."""


def is_urgent(priority: str) -> bool:
    """Whether requests of this priority are a due step's (``URGENT`` or ``WARNING``)."""
    return priority != BACKGROUND


@contextmanager
def urgent(*, warning: bool = False) -> Iterator[None]:
    """Mark the requests made inside this block (and tasks it starts) urgent: those of a
    due step. ``warning``: an at-risk step's, which go after every other due step's when
    the budget is short (an at-risk notice warns ahead of a breach; the breach's steps are
    the commitment) and before polls and full reads."""
    token = request_priority.set(WARNING if warning else URGENT)
    try:
        yield
    finally:
        request_priority.reset(token)


class ConnectorFactory(Protocol):
    """What an entry point of ``sla_connector.connectors`` loads: builds a connector."""

    def __call__(self, name: str, settings: Mapping[str, Any], clock: Clock) -> Connector: ...
