"""ConnectWise ticket history: the exact reads, and what this process remembers of them.

ConnectWise has no bulk history endpoint in its spec, so exact history (the audit trail,
``/system/audittrail?type=Ticket&id=``, and the service notes when ``first_response`` needs
them) is read one ticket at a time, and only where its cost is accepted: for a ticket with no
cached history (the full read at start-up and every ``reconcile_interval``, a ticket first
seen by an incremental poll) and in ``fetch_ticket``. Between those reads the history is
derived from the feed row (``normalize.history_from_feed``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sla_connector.core.errors import RetriableConnectorError
from sla_connector_psa.connectwise.normalize import (
    MARKER,
    Change,
    History,
    Row,
    classify_notes,
    cw_time,
    history_from_feed,
    internal_note_texts,
    parse_audit,
)
from sla_connector_psa.connectwise.settings import CwSettings
from sla_connector_psa.http import PsaHttp

__all__ = ["HISTORY_PAGE", "HistoryReader", "read_all_pages"]

log = logging.getLogger("sla_connector_psa.connectwise")

HISTORY_PAGE = 1000


async def read_all_pages(
    http: PsaHttp, path: str, params: Mapping[str, Any], headers: Mapping[str, str]
) -> list[Any]:
    """Every element of a paged list endpoint (``page``/``pageSize``, 1000 a page)."""
    items: list[Any] = []
    page = 1
    while True:
        batch = await http.get_json(
            path, params={**params, "page": page, "pageSize": HISTORY_PAGE}, headers=headers
        )
        if not isinstance(batch, list):
            raise RetriableConnectorError(f"{path}: expected a list, got {type(batch).__name__}")
        items.extend(batch)
        if len(batch) < HISTORY_PAGE:
            return items
        page += 1


class HistoryReader:
    """Reads exact histories and caches them per ticket id for the feed-derived polls."""

    def __init__(self, settings: CwSettings, http: PsaHttp, headers: Mapping[str, str]) -> None:
        self.name = settings.name
        self.settings = settings
        self.http = http
        self._headers = dict(headers)
        self.cache: dict[str, History] = {}
        self._own_priority: dict[str, str] = {}  # ticket id -> priority name we wrote

    def clear(self) -> None:
        """Forget every history: the next read of each ticket is exact."""
        self.cache.clear()

    def wrote_priority(self, ticket_id: str, name: str) -> None:
        """Remember a priority this connector wrote, so its echo in the feed is not manual."""
        self._own_priority[ticket_id] = name

    async def notes(self, ticket_id: str) -> list[Any]:
        """Every service note of a ticket, oldest first."""
        return await read_all_pages(
            self.http, f"service/tickets/{ticket_id}/notes", {"orderBy": "id asc"}, self._headers
        )

    def _wants_notes(self, row: Row) -> bool:
        mode = self.settings.first_response
        if mode == "date_responded":
            return False
        return not (mode == "both" and row.date_responded is not None)

    async def read(self, row: Row, *, force: bool, born_after: datetime | None = None) -> History:
        """Exact history (audit trail, notes) when uncached or forced, else from the feed.

        A ticket created after ``born_after`` (the previous poll's edge) has no past this
        process could have missed: its feed row is its history, at no extra request.
        """
        cached = self.cache.get(row.id)
        if cached is None and not force and born_after is not None and row.created_at > born_after:
            cached = History(status="", priority=row.priority, owner="")
        if cached is not None and not force:
            moved = bool(row.priority) and row.priority.casefold() != cached.priority.casefold()
            ours = self._own_priority.pop(row.id, None) if moved else None
            history = history_from_feed(row, cached, ours)
        else:
            history = await self._read_exact(row, cached)
        self.cache[row.id] = history
        return history

    async def _read_exact(self, row: Row, cached: History | None) -> History:
        history = History(
            status=row.status,
            priority=row.priority,
            owner=row.owner,
            notes=list(cached.notes) if cached else [],
            texts=cached.texts if cached else (),
        )
        where = f"ticket {row.id}"
        entries = await read_all_pages(
            self.http, "system/audittrail", {"type": "Ticket", "id": int(row.id)}, self._headers
        )
        history.changes, skipped = parse_audit(entries, where)
        for reason in skipped:
            log.warning("connector %s: %s (entry skipped)", self.name, reason)
        statuses = [c for c in history.changes if c.field == "status"]
        if statuses and row.status and statuses[-1].new != row.status:
            # The audit trail lags or its wording was not recognised: trust the snapshot, and
            # keep that instant so later feed-derived polls do not move it.
            at = max(cw_time(row.last_updated, "lastUpdated"), row.created_at)
            history.changes.append(Change(at, "status", statuses[-1].new, row.status, ""))
        if self._wants_notes(row):
            notes = await self.notes(row.id)
            history.notes, skipped = classify_notes(
                notes, row.created_at, self.settings.automation_members, MARKER, where
            )
            history.texts = internal_note_texts(notes)
            for reason in skipped:
                log.warning("connector %s: %s (note skipped)", self.name, reason)
        self._own_priority.pop(row.id, None)
        return history
