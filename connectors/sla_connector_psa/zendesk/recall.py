"""Tickets Zendesk shows unchanged since the store's snapshot, answered from that snapshot.

The connector keeps ticket histories in memory (``history.HistoryCache``, fed by the event
stream). A restarted daemon knows none, so every ticket on its first export page, and
every ticket it verifies before writing a step, costs an audits read; a daemon restarted
every few seconds spent its whole request budget on them and fell minutes behind (issue
10, the 50-kill soak). The store still holds what the last process saw.

A ticket is answered from its snapshot only when all of these hold:

- Zendesk's ``updated_at`` is the snapshot's: any update to a ticket (comment, status,
  priority, assignee, tags) sets it ("updated_at: When this record last got updated",
  Tickets API, psa-apis.md 3.2), so the history the snapshot was built from is complete;
- the snapshot was taken ``SETTLE`` after that instant: ``updated_at`` has whole-second
  precision, so a snapshot taken within the same second might miss a second update
  stamped with the same second;
- the snapshot was built with the same mapping settings (client, priority and user maps,
  status names, automation users): a changed mapping builds every ticket afresh, which
  ``normalized_with`` (a digest of those settings, kept in ``Ticket.extra``) tells.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sla_connector.core.errors import TicketError
from sla_connector.core.ports import TicketMemory
from sla_connector.core.ticket import Ticket, parse_instant
from sla_connector_psa.zendesk.settings import ZendeskSettings

__all__ = ["FINGERPRINT_KEY", "SETTLE", "Recall", "normalization_fingerprint"]

log = logging.getLogger(__name__)

FINGERPRINT_KEY = "normalized_with"
SETTLE = timedelta(seconds=2)


def normalization_fingerprint(settings: ZendeskSettings) -> str:
    """A digest of the settings a canonical ticket's fields and events are built from (no
    secret is among them)."""
    parts = (
        sorted(settings.client_map.items()),
        settings.default_client,
        sorted(settings.priority_map.items()),
        sorted(settings.users.items()),
        sorted(settings.groups.items()),
        sorted(settings.automation_users),
        sorted(settings.automatic_channels),
        sorted(settings.status_names),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


class Recall:
    """The store's snapshots, used for tickets Zendesk shows unchanged since."""

    def __init__(self, source: str, settings: ZendeskSettings) -> None:
        self.source = source
        self.fingerprint = normalization_fingerprint(settings)
        self.memory: TicketMemory | None = None
        self.recalled = 0  # tickets answered from a snapshot (a health counter)
        self._warned = False

    def stamp(self, ticket: Ticket) -> Ticket:
        """The ticket with the digest of the settings it was built with."""
        return replace(ticket, extra={**ticket.extra, FINGERPRINT_KEY: self.fingerprint})

    def partition(
        self, raws: Mapping[int, Mapping[str, Any]]
    ) -> tuple[dict[int, Ticket], set[int]]:
        """The snapshots of the tickets Zendesk shows unchanged since they were taken, and
        the tickets the store has no snapshot of at all (never planned: nothing of theirs
        can fire until they are read). Without a store, nothing is known either way."""
        if self.memory is None or not raws:
            return {}, set()
        try:
            known = self.memory.recall_tickets(self.source, [str(tid) for tid in raws])
        except Exception as exc:  # the store is down: the histories are read instead
            if not self._warned:
                self._warned = True
                log.warning("connector %s: cannot read the stored tickets: %s", self.source, exc)
            return {}, set()
        found: dict[int, Ticket] = {}
        unseen: set[int] = set()
        for tid, raw in raws.items():
            snapshot = known.get(str(tid))
            if snapshot is None:
                unseen.add(tid)
                continue
            ticket = snapshot.ticket
            if ticket.extra.get(FINGERPRINT_KEY) != self.fingerprint:
                continue
            try:
                updated = parse_instant(raw.get("updated_at"), "updated_at")
                before = parse_instant(ticket.extra.get("updated_at"), "updated_at")
            except TicketError:
                continue
            if updated == before and updated + SETTLE <= snapshot.seen_at:
                found[tid] = ticket
        return found, unseen
