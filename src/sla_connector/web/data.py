"""What the dashboard reads, as a port: ``DashboardSource`` and the record shapes it returns.

The web layer may not import the store or the runtime (layer rule), so it states what it
needs as ``Protocol``s; the runtime implements ``DashboardSource`` over its store and
daemon. Ledger rows and report runs are the core's records (``core.ledger.LedgerRow``,
``ReportRun``), the store's too; the daemon's ``ConnectorStatus`` satisfies
``ConnectorHealth`` structurally (the tests use it too). ``StaticSource`` is the in-memory
implementation for tests and demos.

Figures are never read from stored clock columns: the web layer re-evaluates the canonical
tickets with the core, so the dashboard, the reports and ``audit`` cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable
from urllib.parse import quote

from sla_connector.core.exclusions import Exclusion, RecordedExclusions
from sla_connector.core.ledger import LedgerRow, NotificationRow, ReportRun, WithdrawnTicket
from sla_connector.core.policy import Policy
from sla_connector.core.ticket import Ticket

__all__ = [
    "ConnectorHealth",
    "DashboardSource",
    "StaticSource",
    "fill_ticket_url",
]


class ConnectorHealth(Protocol):
    """A connector's poll health (the daemon's ``ConnectorStatus`` fits)."""

    @property
    def leading(self) -> bool: ...
    @property
    def last_poll_at(self) -> datetime | None: ...
    @property
    def last_poll_ok(self) -> bool | None: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def poll_errors(self) -> int: ...
    @property
    def polls(self) -> int: ...
    @property
    def last_poll_seconds(self) -> float: ...
    @property
    def failing(self) -> tuple[str, ...]:
        """Objects failing now inside the connector (a project, board, ticket, page)."""
        ...

    @property
    def failing_by_kind(self) -> Mapping[str, int]: ...
    @property
    def object_errors(self) -> Mapping[str, int]:
        """Failed attempts per object kind since start, each back-off step once."""
        ...

    @property
    def warnings(self) -> tuple[str, ...]: ...


@runtime_checkable
class DashboardSource(Protocol):
    """Everything the dashboard, the JSON API and /metrics read. Calls may block (I/O).

    The web layer calls these from a worker thread, never on the event loop.
    """

    def policy(self) -> Policy:
        """The policy in force (tiers, clients and their ``target_adherence``)."""
        ...

    def now(self) -> datetime:
        """The present of the daemon's clock (virtual in the demo and in tests)."""
        ...

    def tickets(self, *, client: str | None = None, since: int | None = None) -> Iterable[Ticket]:
        """Canonical tickets: at least every open one, and every one changed at or after
        ``since`` (UTC µs; None: all). Returning more is allowed, never fewer. Withdrawn
        tickets (S39) are never among them."""
        ...

    def withdrawn(self, *, client: str | None = None) -> Iterable[WithdrawnTicket]:
        """Tickets that went away (deleted, merged, spam, out of scope: S39)."""
        ...

    def ticket(self, source: str, ticket_id: str) -> Ticket | None:
        """One ticket by connector name and PSA id, or None."""
        ...

    def ledger(
        self, *, since: int | None = None, until: int | None = None, client: str | None = None
    ) -> Iterable[LedgerRow]:
        """Escalation steps due in [since, until) (either bound optional)."""
        ...

    def connector_status(self) -> Mapping[str, ConnectorHealth]:
        """Poll health per connector name."""
        ...

    def evidence_ok(self) -> bool:
        """Whether the evidence log's hash chain verified (may be cached by the source)."""
        ...

    def report_runs(self) -> Iterable[ReportRun]:
        """Report deliveries, so failed ones show on the dashboard and in /metrics."""
        ...

    def notifications(self) -> Iterable[NotificationRow]:
        """The notification ledger, so notices that could not be sent show on the
        dashboard and in /metrics."""
        ...

    def exclusions(self) -> RecordedExclusions:
        """The clock exclusions recorded in the store (``sla-connector exclude``), so the
        objectives and credits leave them out as the contract says (S32)."""
        ...

    def psa_links(self) -> Mapping[str, str]:
        """Per connector name, the URL template of a ticket's page in its PSA (``{id}``
        stands for the ticket id), as the connector provides it; absent: no link."""
        ...


@dataclass
class StaticSource:
    """An in-memory ``DashboardSource``: mutate its fields to simulate the daemon moving on."""

    policy_value: Policy
    clock: Callable[[], datetime]
    ticket_list: list[Ticket] = field(default_factory=list)
    ledger_rows: list[LedgerRow] = field(default_factory=list)
    connectors: dict[str, ConnectorHealth] = field(default_factory=dict)
    evidence: bool = True
    reports: list[ReportRun] = field(default_factory=list)
    excluded: dict[tuple[str, str], dict[str, Exclusion]] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    """Per connector name, a URL template with ``{id}`` (as a connector provides one)."""
    withdrawals: list[WithdrawnTicket] = field(default_factory=list)
    notices: list[NotificationRow] = field(default_factory=list)

    def policy(self) -> Policy:
        return self.policy_value

    def now(self) -> datetime:
        return self.clock()

    def tickets(self, *, client: str | None = None, since: int | None = None) -> Iterable[Ticket]:
        # ``since`` is only a hint; returning every ticket honours the contract.
        gone = {(w.source, w.ticket_id) for w in self.withdrawals}
        return [
            t
            for t in self.ticket_list
            if (client is None or t.client == client) and (t.source, t.id) not in gone
        ]

    def withdrawn(self, *, client: str | None = None) -> Sequence[WithdrawnTicket]:
        return [w for w in self.withdrawals if client is None or w.client == client]

    def ticket(self, source: str, ticket_id: str) -> Ticket | None:
        for item in self.ticket_list:
            if item.source == source and item.id == ticket_id:
                return item
        return None

    def put(self, ticket: Ticket) -> None:
        """Insert or replace a ticket by (source, id), as a poll would."""
        self.ticket_list = [
            t for t in self.ticket_list if (t.source, t.id) != (ticket.source, ticket.id)
        ]
        self.ticket_list.append(ticket)

    def ledger(
        self, *, since: int | None = None, until: int | None = None, client: str | None = None
    ) -> Sequence[LedgerRow]:
        return [
            row
            for row in self.ledger_rows
            if (since is None or row.due_at >= since)
            and (until is None or row.due_at < until)
            and (client is None or row.client == client)
        ]

    def connector_status(self) -> Mapping[str, ConnectorHealth]:
        return self.connectors

    def evidence_ok(self) -> bool:
        return self.evidence

    def report_runs(self) -> Sequence[ReportRun]:
        return list(self.reports)

    def notifications(self) -> Sequence[NotificationRow]:
        return list(self.notices)

    def exclusions(self) -> RecordedExclusions:
        return self.excluded

    def psa_links(self) -> Mapping[str, str]:
        return self.links


def fill_ticket_url(links: Mapping[str, str], source: str, ticket_id: str) -> str | None:
    """The ticket's PSA page: its connector's template with ``{id}`` replaced by the
    (URL-quoted) ticket id; None when the connector gives no template."""
    template = links.get(source)
    return None if template is None else template.replace("{id}", quote(ticket_id, safe=""))
