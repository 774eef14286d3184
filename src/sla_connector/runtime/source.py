"""The daemon's ``DashboardSource``: the web layer's view of the store and the daemon."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime

from sla_connector.core.exclusions import RecordedExclusions
from sla_connector.core.policy import Policy
from sla_connector.core.ports import Clock
from sla_connector.core.ticket import Ticket
from sla_connector.runtime.daemon import ConnectorStatus
from sla_connector.store import LedgerRow, NotificationRow, ReportRun, Store, WithdrawnTicket

__all__ = ["StoreSource"]

_EVIDENCE_TTL_SECONDS = 60.0
_PARSED_LIMIT = 250_000


class StoreSource:
    """Reads tickets, ledger and report runs from the store; health from the daemon."""

    def __init__(
        self,
        policy: Policy,
        store: Store,
        clock: Clock,
        status: Mapping[str, ConnectorStatus],
        psa_links: Mapping[str, str] | None = None,
    ) -> None:
        self._policy = policy
        self._store = store
        self._clock = clock
        self._status = status
        self._links = dict(psa_links or {})
        self._evidence: tuple[float, bool] | None = None
        self._parsed: dict[tuple[str, str], tuple[str, Ticket]] = {}

    def policy(self) -> Policy:
        return self._policy

    def now(self) -> datetime:
        return self._clock.now()

    def tickets(self, *, client: str | None = None, since: int | None = None) -> Iterable[Ticket]:
        """Parsed once per stored snapshot: the same ``Ticket`` object comes back while its
        row is unchanged, so the dashboard's evaluation cache recognises it cheaply."""
        parsed = self._parsed
        gone = {(w.source, w.ticket_id) for w in self._store.withdrawals(client=client)}
        for row in self._store.iter_tickets(client=client):
            if (row.source, row.id) in gone:
                continue  # withdrawn (S39): out of the open set and the measurement
            if since is None or row.is_open or row.updated_at >= since:
                key = (row.source, row.id)
                known = parsed.get(key)
                if known is not None and known[0] == row.ticket_json:
                    yield known[1]
                    continue
                ticket = row.ticket()
                if len(parsed) >= _PARSED_LIMIT:
                    parsed.clear()  # bounded: the window moves on, old tickets drop out
                parsed[key] = (row.ticket_json, ticket)
                yield ticket

    def withdrawn(self, *, client: str | None = None) -> Iterable[WithdrawnTicket]:
        return self._store.withdrawals(client=client)

    def ticket(self, source: str, ticket_id: str) -> Ticket | None:
        row = self._store.get_ticket(source, ticket_id)
        return None if row is None else row.ticket()

    def ledger(
        self, *, since: int | None = None, until: int | None = None, client: str | None = None
    ) -> Iterable[LedgerRow]:
        return self._store.ledger(since=since, until=until, client=client)

    def connector_status(self) -> Mapping[str, ConnectorStatus]:
        return self._status

    def evidence_ok(self) -> bool:
        """The hash chain's verdict, re-checked at most once a minute (it reads the whole log)."""
        cached = self._evidence
        if cached is None or time.monotonic() - cached[0] > _EVIDENCE_TTL_SECONDS:
            cached = (time.monotonic(), self._store.verify_evidence().ok)
            self._evidence = cached
        return cached[1]

    def report_runs(self) -> Iterable[ReportRun]:
        return self._store.report_runs()

    def notifications(self) -> Iterable[NotificationRow]:
        return self._store.notifications()

    def exclusions(self) -> RecordedExclusions:
        return self._store.recorded_exclusions()

    def psa_links(self) -> Mapping[str, str]:
        return self._links
