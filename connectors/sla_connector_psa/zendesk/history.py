"""What the Zendesk connector remembers between polls: the ticket histories.

Polling economy (issue 3): a steady-state poll must cost one request. The ticket export says
*which* tickets changed; their status/reply/priority history comes from the incremental
ticket event stream (1,000 updates a page) when a page has enough changed tickets to make
that read pay (``ZendeskConnector.events_worth``: it costs a request of the scarce export
budget), else from each changed ticket's audits, and is kept here per ticket. A ticket's
history is *complete* once its creating update was seen in the stream or its audits were
read; only incomplete or lagging ones cost an audits read.

The cursor the runtime persists is in ``cursor``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sla_connector.core.errors import TicketError
from sla_connector.core.ticket import parse_instant
from sla_connector_psa.zendesk.normalize import Audit

__all__ = ["HistoryCache"]

_STALE_TOLERANCE = timedelta(seconds=5)  # ticket updated_at may trail its audit by a moment


@dataclass(slots=True)
class _Known:
    audits: dict[int, Audit] = field(default_factory=dict)


class HistoryCache:
    """Complete update histories per ticket id, merged from the stream and audits reads."""

    def __init__(self) -> None:
        self._tickets: dict[int, _Known] = {}

    def __len__(self) -> int:
        return len(self._tickets)

    def add_stream(self, audit: Audit) -> None:
        """Keep a streamed update if the ticket's earlier history is known (or it starts it)."""
        known = self._tickets.get(audit.ticket_id)
        if known is None:
            if not audit.creates:
                return  # earlier updates unknown: an audits read will supply everything
            known = self._tickets[audit.ticket_id] = _Known()
        known.audits[audit.id] = audit

    def set_full(self, ticket_id: int, audits: Iterable[Audit]) -> None:
        """Record a ticket's full audit list (merged with what the stream already gave)."""
        known = self._tickets.setdefault(ticket_id, _Known())
        for audit in audits:
            known.audits[audit.id] = audit

    def history(self, ticket_id: int) -> tuple[Audit, ...] | None:
        """The complete history, or None when it must be read from the ticket's audits."""
        known = self._tickets.get(ticket_id)
        if known is None:
            return None
        return tuple(known.audits.values())

    def latest(self, ticket_id: int) -> datetime | None:
        """When the newest known update happened (to detect a stream that lags the export)."""
        known = self._tickets.get(ticket_id)
        if known is None or not known.audits:
            return None
        return max(audit.at for audit in known.audits.values())

    def lags(self, ticket_id: int, raw: Mapping[str, Any]) -> bool:
        """True when the export's ticket object shows an update the known history lacks
        (its ``updated_at`` may trail its audit by a moment: ``_STALE_TOLERANCE``)."""
        latest = self.latest(ticket_id)
        if latest is None:
            return True
        try:
            updated = parse_instant(raw.get("updated_at"), "updated_at")
        except TicketError:
            return False
        return updated > latest + _STALE_TOLERANCE

    def forget(self, ticket_id: int) -> None:
        """Drop a deleted ticket, or one whose history has a hole (its audits get re-read)."""
        self._tickets.pop(ticket_id, None)

    def clear(self) -> None:
        """Forget everything: the stream position jumped, so no history is known complete."""
        self._tickets.clear()

    def prune(self, before: datetime) -> None:
        """Drop tickets not updated since ``before``: a later change re-reads their audits."""
        stale = [
            tid
            for tid, known in self._tickets.items()
            if not known.audits or max(a.at for a in known.audits.values()) < before
        ]
        for tid in stale:
            del self._tickets[tid]
