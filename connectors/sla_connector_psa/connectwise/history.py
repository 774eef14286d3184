"""ConnectWise ticket history: the exact reads, and what this process remembers of them.

ConnectWise has no bulk history endpoint in its spec, so exact history (the audit trail,
``/system/audittrail?type=Ticket&id=``, and the notes when ``first_response`` needs them) is
read one ticket at a time, and only where its cost is accepted: for a ticket with no cached
history (the first full read, a ticket first seen by an incremental poll), for a ticket whose
``lastUpdated`` moved since its last exact read (a later full read, every
``reconcile_interval``), and in ``fetch_ticket``. Between those reads the history is derived
from the feed row (``normalize.history_from_feed``).

The notes come from ``/service/tickets/{id}/allNotes`` when ``count_time_entries`` is on
(the default): a member who answers by logging time with notes "added to the Discussion"
has replied, and only ``allNotes`` shows time entries among the notes (3p
Jetbuilt/connect_wise ``docs/ServiceTicketNotesApi.md``, generated from the 2025.1 spec).

Changes made by an API member (this connector's own PATCHes, an RMM integration's) are
never a person's manual priority change: the API members are ``api_member`` from the
configuration, the ``_info.updatedBy`` of this connector's own write answers, and the
members with ``licenseClass`` ``A`` ("A = API Member", spec ``Member.licenseClass``), read
once. An audit trail that has entries none of which can be read is reported loudly (a
log line, the health counter ``unparsed_audit_trails`` and a warning with a sample), since
every such ticket would count as born in its current status.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sla_connector.core.errors import ConnectorError, RetriableConnectorError
from sla_connector_psa.connectwise.normalize import (
    MARKER,
    Change,
    History,
    Row,
    classify_notes,
    cw_time,
    history_from_feed,
    initial_description,
    internal_note_texts,
    is_creation,
    parse_audit,
)
from sla_connector_psa.connectwise.settings import CwSettings
from sla_connector_psa.health import HealthBook
from sla_connector_psa.http import NotFoundError, PsaHttp

__all__ = ["HISTORY_PAGE", "HistoryReader", "read_all_pages"]

log = logging.getLogger("sla_connector_psa.connectwise")

HISTORY_PAGE = 1000
SAMPLE_CHARS = 160


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

    def __init__(
        self,
        settings: CwSettings,
        http: PsaHttp,
        headers: Mapping[str, str],
        book: HealthBook | None = None,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self.http = http
        self._headers = dict(headers)
        self.book = book
        self.cache: dict[str, History] = {}
        self._own_priority: dict[str, str] = {}  # ticket id -> priority name we wrote
        self.api_members: set[str] = (
            {settings.api_member.casefold()} if settings.api_member else set()
        )
        self._members_read = False
        self.unparsed: dict[str, str] = {}  # ticket id -> a sample entry of its trail
        self._no_all_notes = False

    @property
    def automatic(self) -> frozenset[str]:
        """Members whose priority changes are not a person's: automation and API members."""
        return self.settings.automation_members | frozenset(self.api_members)

    def learn_api_member(self, identifier: str | None) -> None:
        """A write's answer names its author (``_info.updatedBy``): this connector."""
        if identifier:
            self.api_members.add(identifier.casefold())

    async def find_api_members(self) -> None:
        """The API members of the tenant (``licenseClass = "A"``), read once per process."""
        if self._members_read:
            return
        self._members_read = True
        try:
            found = await read_all_pages(
                self.http,
                "system/members",
                {"conditions": 'licenseClass = "A"', "fields": "identifier"},
                self._headers,
            )
        except ConnectorError as exc:
            log.warning(
                "connector %s: cannot list the API members (%s); set connectors.%s.api_member",
                self.name,
                exc,
                self.name,
            )
            return
        for member in found:
            if isinstance(member, Mapping) and member.get("identifier"):
                self.api_members.add(str(member["identifier"]).casefold())

    def exact(self, row: Row) -> bool:
        """Whether the cached history was read exactly at the row's ``lastUpdated``."""
        cached = self.cache.get(row.id)
        return cached is not None and cached.exact_at == row.last_updated

    def forget(self, ticket_id: str) -> None:
        self.cache.pop(ticket_id, None)
        self.unparsed.pop(ticket_id, None)

    def clear(self) -> None:
        """Forget every history: the next read of each ticket is exact."""
        self.cache.clear()

    def wrote_priority(self, ticket_id: str, name: str) -> None:
        """Remember a priority this connector wrote, so its echo in the feed is not manual."""
        self._own_priority[ticket_id] = name

    async def notes(self, ticket_id: str, *, with_time: bool = False) -> list[Any]:
        """Every service note of a ticket, oldest first; ``with_time``: ``allNotes``, the
        notes and the time entries' notes together.

        A server without ``allNotes`` (the 2026.4 GET spec in api-specs lists only the
        project tickets' one) answers 404 for a ticket whose ``notes`` it serves: the
        connector then reads ``notes`` from there on and warns that time entries are not
        counted, instead of taking every ticket for deleted.
        """
        params = {"orderBy": "id asc"}
        plain = f"service/tickets/{ticket_id}/notes"
        if not with_time or self._no_all_notes:
            return await read_all_pages(self.http, plain, params, self._headers)
        try:
            return await read_all_pages(
                self.http, f"service/tickets/{ticket_id}/allNotes", params, self._headers
            )
        except NotFoundError:
            notes = await read_all_pages(self.http, plain, params, self._headers)
        self._no_all_notes = True  # the ticket exists: the endpoint does not
        message = (
            "this ConnectWise does not serve /service/tickets/{id}/allNotes: replies "
            "logged as time entries are not counted (count_time_entries has no effect)"
        )
        log.warning("connector %s: %s", self.name, message)
        if self.book is not None:
            self.book.warn("no_all_notes", message)
        return notes

    def wants_notes(self, row: Row) -> bool:
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
            description=cached.description if cached else "",
        )
        where = f"ticket {row.id}"
        entries = await read_all_pages(
            self.http, "system/audittrail", {"type": "Ticket", "id": int(row.id)}, self._headers
        )
        history.changes, skipped = parse_audit(entries, where)
        for reason in skipped:
            log.warning("connector %s: %s (entry skipped)", self.name, reason)
        self._check_parsed(row.id, entries, history)
        if any(c.field == "priority" for c in history.changes):
            await self.find_api_members()
        statuses = [c for c in history.changes if c.field == "status"]
        if statuses and row.status and statuses[-1].new != row.status:
            # The audit trail lags or its wording was not recognised: trust the snapshot, and
            # keep that instant so later feed-derived polls do not move it.
            at = max(cw_time(row.last_updated, "lastUpdated"), row.created_at)
            history.changes.append(Change(at, "status", statuses[-1].new, row.status, ""))
        if self.wants_notes(row):
            notes = await self.notes(row.id, with_time=self.settings.count_time_entries)
            history.notes, skipped = classify_notes(
                notes, row.created_at, self.settings.automation_members, MARKER, where
            )
            history.texts = internal_note_texts(notes)
            history.description = initial_description(notes, row.created_at, where)
            for reason in skipped:
                log.warning("connector %s: %s (note skipped)", self.name, reason)
        self._own_priority.pop(row.id, None)
        history.exact_at = row.last_updated
        return history

    def _check_parsed(self, ticket_id: str, entries: list[Any], history: History) -> None:
        """Warn loudly when a trail has entries but not one of them could be read."""
        texts = [str(e.get("text") or "") for e in entries if isinstance(e, Mapping)]
        if not texts or history.changes or any(is_creation(text) for text in texts):
            cured = self.unparsed.pop(ticket_id, None) is not None
            if cured and self.book is not None and not self.unparsed:
                self.book.clear_warning("unparsed_audit")
            return
        sample = next((text for text in texts if text.strip()), "")[:SAMPLE_CHARS]
        first = ticket_id not in self.unparsed
        self.unparsed[ticket_id] = sample
        if first:
            log.error(
                "connector %s: ticket %s: its audit trail has %d entries and none could be "
                "read as a status, priority or owner change; every such ticket counts as "
                "born in its current status. Sample: %r. Report this wording (see "
                "docs/connectors/connectwise.md, 'Audit trail wording')",
                self.name,
                ticket_id,
                len(texts),
                sample,
            )
        if self.book is not None:
            if first:
                self.book.count("unparsed_audit_trails")
            self.book.warn(
                "unparsed_audit",
                f"{len(self.unparsed)} ticket(s) have an audit trail none of whose entries "
                f"could be read (e.g. ticket {ticket_id}: {sample!r}): their status history "
                "is unknown",
            )
