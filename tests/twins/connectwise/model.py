"""The ConnectWise twin's state: members, boards, priorities, tickets, notes, time, audit.

Every change goes through ``ConnectWiseState`` (the API's PATCH and POSTs and the Python
methods a scenario uses alike), so every change moves ``_info.lastUpdated`` /
``_info.updatedBy`` and adds audit-trail entries by whoever made it, and is journalled.
Sources of the rules:

- ticket shape: spec ``components.schemas.Ticket`` (``_info`` is a string map with
  ``dateEntered``, ``enteredBy``, ``lastUpdated``, ``updatedBy``; ``closedFlag``;
  ``mergedParentTicket``); psa-apis.md sections 1.2-1.3;
- members: spec ``Member`` (``licenseClass``: "F = Full Member, A = API Member"); the API keys
  belong to an API member (psa-apis.md section 1.1);
- board statuses with ``escalationStatus`` and ``closedStatus``: spec ``BoardStatus``;
  psa-apis.md section 1.4;
- PATCH is a JSON-Patch array (``replace`` of ``owner``, ``owner/id``, ``owner/identifier``,
  ``priority/id``, ``status/id``, ``status/name``, ``board/id``), and PUT is never used:
  psa-apis.md section 1.5;
- the audit trail (``AuditTrailEntry {text, enteredDate, enteredBy, auditType,
  auditSubType, auditSource}``, spec) records each field change as free text ``Status
  changed from "X" to "Y"``, by the member who made it, the API member included (psa-apis.md
  section 1.4 [verify the exact wording]; the repository's recorded fixture
  ``tests/fixtures/connectwise/audittrail.json``). ``wording`` models a tenant whose audit
  trail reads differently (another language or version), which no parser can guess;
- service notes (spec ``ServiceNote``: ``detailDescriptionFlag`` discussion,
  ``internalAnalysisFlag`` internal, ``resolutionFlag``; ``member`` or ``contact``;
  ``dateCreated``/``createdBy``); ``POST .../notes`` with ``internalAnalysisFlag: true``
  (psa-apis.md section 1.5);
- time entries (spec ``TimeEntry``: ``chargeToType`` ``ServiceTicket``, ``chargeToId``,
  ``member``, ``timeStart``, ``notes``, ``addToDetailDescriptionFlag`` /
  ``addToInternalAnalysisFlag`` / ``addToResolutionFlag``) appear among a ticket's notes only
  in ``/service/tickets/{id}/allNotes`` (``ServiceTicketNote`` with ``noteType``,
  ``timeStart``: 3p Jetbuilt/connect_wise ``docs/ServiceTicketNote.md``, generated from the
  vendor's 2025.1 spec; the ``noteType`` values ``TicketNote``/``TimeEntryNote`` [verify]);
- merging closes the child and sets ``mergedParentTicket`` (spec ``Ticket`` fields
  ``mergedParentTicket``, ``hasMergedChildTicketFlag``; the closing status [verify]);
  deleting removes the ticket (404 afterwards: spec responses of ``/service/tickets/{id}``).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from typing import Any

from tests.twins.clock import Clock
from tests.twins.journal import Journal, carried_step

__all__ = ["Board", "ConnectWiseState", "CwError", "Member", "iso"]

TAG_PREFIX = "[sla-connector] tag: "
API_AUDIT_SOURCE = "API"  # [verify] what Manage shows as the source of an API change


def iso(instant: float) -> str:
    """ConnectWise times: UTC ISO 8601 with ``Z``, whole seconds (psa-apis.md 1.1)."""
    return datetime.fromtimestamp(int(instant), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CwError(Exception):
    """An error answer: status and ConnectWise's ``{code, message}`` body [verify]."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.body = {"code": code, "message": message, "errors": None}


def not_found(what: str) -> CwError:
    return CwError(404, "NotFound", f"{what} not found")


@dataclass
class Member:
    id: int
    identifier: str
    name: str
    email: str
    license_class: str  # F full, A API member


@dataclass
class Board:
    id: int
    name: str
    statuses: dict[int, dict[str, Any]]  # id -> BoardStatus JSON


WORDINGS = {
    # psa-apis.md 1.4 and the recorded fixture: 'Status changed from "X" to "Y"'.
    "standard": '{field} changed from "{old}" to "{new}"',
    # a tenant whose Manage writes its audit trail in French: nothing an English parser knows.
    "french": "{field_fr} modifié : « {old} » → « {new} »",
}
_FRENCH = {"Status": "Statut", "Priority": "Priorité", "Owner": "Responsable", "Board": "Tableau"}


@dataclass
class TicketRecord:
    data: dict[str, Any]
    notes: list[dict[str, Any]] = field(default_factory=list)
    time_entries: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)


class ConnectWiseState:
    """One Manage tenant's data; every method takes the state's lock."""

    def __init__(self, clock: Clock, journal: Journal, *, company_id: str = "mspco") -> None:
        self.clock = clock
        self.journal = journal
        self.company_id = company_id
        self.lock = threading.RLock()
        self.wording = "standard"
        self.members: dict[int, Member] = {}
        self.boards: dict[int, Board] = {}
        self.priorities: dict[int, dict[str, Any]] = {}
        self.companies: dict[str, dict[str, Any]] = {}
        self.contacts: dict[int, dict[str, Any]] = {}
        self.tickets: dict[int, TicketRecord] = {}
        self._ids = count(1001)
        self._note_ids = count(50_001)
        self._other_ids = count(300)

    # -- directory --------------------------------------------------------------------

    def add_member(self, identifier: str, name: str, email: str, license_class: str = "F") -> int:
        with self.lock:
            mid = next(self._other_ids)
            self.members[mid] = Member(mid, identifier, name, email, license_class)
            return mid

    def member(self, identifier: str) -> Member:
        found = next((m for m in self.members.values() if m.identifier == identifier), None)
        if found is None:
            raise CwError(400, "InvalidObject", f"member {identifier!r} does not exist")
        return found

    def add_board(self, name: str, statuses: Iterable[tuple[str, str, bool]]) -> int:
        """A board and its statuses: (name, escalationStatus, closedStatus)."""
        with self.lock:
            bid = next(self._other_ids)
            found: dict[int, dict[str, Any]] = {}
            for sort, (status, escalation, closed) in enumerate(statuses):
                sid = next(self._other_ids)
                found[sid] = {
                    "id": sid,
                    "name": status,
                    "board": {"id": bid, "name": name},
                    "sortOrder": sort,
                    "escalationStatus": escalation,
                    "closedStatus": closed,
                    "defaultFlag": sort == 0,
                    "inactive": False,
                }
            self.boards[bid] = Board(bid, name, found)
            return bid

    def add_priority(self, name: str, level: str, sort: int) -> int:
        with self.lock:
            pid = next(self._other_ids)
            self.priorities[pid] = {"id": pid, "name": name, "sort": sort, "level": level}
            return pid

    def add_company(self, identifier: str, name: str) -> None:
        with self.lock:
            self.companies[identifier] = {
                "id": next(self._other_ids),
                "identifier": identifier,
                "name": name,
            }

    def add_contact(self, name: str, company: str) -> int:
        with self.lock:
            cid = next(self._other_ids)
            self.contacts[cid] = {"id": cid, "name": name, "company": company}
            return cid

    def board_named(self, name: str) -> Board:
        found = next((b for b in self.boards.values() if b.name == name), None)
        if found is None:
            raise CwError(400, "InvalidObject", f"board {name!r} does not exist")
        return found

    def status_named(self, board: Board, name: str) -> dict[str, Any]:
        found = next((s for s in board.statuses.values() if s["name"] == name), None)
        if found is None:
            raise CwError(400, "InvalidObject", f"status {name!r} is not on board {board.name}")
        return found

    # -- tickets ----------------------------------------------------------------------

    def live(self, ticket_id: int) -> TicketRecord:
        found = self.tickets.get(ticket_id)
        if found is None:
            raise not_found(f"Ticket {ticket_id}")
        return found

    def create_ticket(
        self,
        summary: str,
        *,
        company: str,
        contact: int,
        board: str,
        priority: str,
        source: str = "Email",
        entered_by: str = "Email Connector",
        status: str | None = None,
        description: str = "",
    ) -> int:
        """A new ticket, as an email or a portal submission creates it; its description (the
        email's body; the summary when there is none) is its first discussion note, by the
        contact."""
        with self.lock:
            now = self.clock()
            tid = next(self._ids)
            found = self.board_named(board)
            state = (
                self.status_named(found, status) if status else next(iter(found.statuses.values()))
            )
            chosen = next(p for p in self.priorities.values() if p["name"] == priority)
            data: dict[str, Any] = {
                "id": tid,
                "summary": summary,
                "recordType": "ServiceTicket",
                "board": {"id": found.id, "name": found.name},
                "status": {"id": state["id"], "name": state["name"]},
                "company": dict(self.companies[company]),
                "contact": {"id": contact, "name": self.contacts[contact]["name"]},
                "priority": dict(chosen),
                "source": {"id": 2, "name": source},
                "owner": None,
                "closedFlag": bool(state["closedStatus"]),
                "mergedParentTicket": None,
                "hasMergedChildTicketFlag": False,
                "_info": {
                    "dateEntered": iso(now),
                    "enteredBy": entered_by,
                    "lastUpdated": iso(now),
                    "updatedBy": entered_by,
                },
            }
            record = TicketRecord(data)
            record.audit.append(self._entry(now, entered_by, "Ticket", "Ticket created."))
            self.tickets[tid] = record
            text = description or summary
            self._note(record, text, contact=contact, discussion=True, by=entered_by)
            return tid

    def _entry(
        self, now: float, by: str, subtype: str, text: str, source: str = "Manage"
    ) -> dict[str, Any]:
        return {
            "text": text,
            "enteredDate": iso(now),
            "enteredBy": by,
            "auditType": "Ticket",
            "auditSubType": subtype,
            "auditSource": source,
        }

    def _worded(self, field_name: str, old: str, new: str) -> str:
        return WORDINGS[self.wording].format(
            field=field_name, field_fr=_FRENCH.get(field_name, field_name), old=old, new=new
        )

    def _touch(self, record: TicketRecord, by: str, now: float) -> None:
        record.data["_info"]["lastUpdated"] = iso(now)
        record.data["_info"]["updatedBy"] = by

    def patch(
        self,
        ticket_id: int,
        operations: Any,
        *,
        by: str,
        source: str = "Manage",
        request: int | None = None,
        principal: str = "",
    ) -> dict[str, Any]:
        """Apply a JSON-Patch array atomically; every field change is one audit entry."""
        if not isinstance(operations, list) or not operations:
            raise CwError(400, "InvalidObject", "the body must be a JSON-Patch array")
        with self.lock:
            record = self.live(ticket_id)
            updated = copy.deepcopy(record.data)
            changes: list[tuple[str, str, str, str]] = []  # field, kind, old, new
            for op in operations:
                if not isinstance(op, Mapping) or op.get("op") != "replace":
                    raise CwError(400, "InvalidObject", "only 'replace' operations are modelled")
                changes.append(self._replace(updated, str(op.get("path", "")), op.get("value")))
            now = self.clock()
            for field_name, kind, old, new in changes:
                if old == new:
                    self._journal(now, request, principal, ticket_id, kind, new, False)
                    continue
                text = self._worded(field_name, old, new)
                record.audit.append(self._entry(now, by, field_name, text, source))
                self._journal(now, request, principal, ticket_id, kind, new, True)
            record.data = updated
            if any(old != new for _, _, old, new in changes):
                self._touch(record, by, now)
            return record.data

    def _replace(self, data: dict[str, Any], path: str, value: Any) -> tuple[str, str, str, str]:
        path = path.strip("/")
        if path in ("owner", "owner/identifier", "owner/id"):
            if isinstance(value, Mapping):
                identifier = value.get("identifier")
                member = (
                    self.member(str(identifier))
                    if identifier
                    else self.members.get(int(value.get("id", 0)))
                )
            elif path == "owner/id":
                member = self.members.get(int(value))
            else:
                member = self.member(str(value))
            if member is None:
                raise CwError(400, "InvalidObject", "owner does not exist")
            old = (data.get("owner") or {}).get("identifier", "")
            data["owner"] = {"id": member.id, "identifier": member.identifier, "name": member.name}
            return "Owner", "assignee", old, member.identifier
        if path == "priority/id":
            found = self.priorities.get(int(value))
            if found is None:
                raise CwError(400, "InvalidObject", f"priority {value} does not exist")
            old = data["priority"]["name"]
            data["priority"] = dict(found)
            return "Priority", "priority", old, found["name"]
        if path in ("status/id", "status/name"):
            board = self.boards[data["board"]["id"]]
            status = (
                board.statuses.get(int(value))
                if path == "status/id"
                else self.status_named(board, str(value))
            )
            if status is None:
                raise CwError(400, "InvalidObject", f"status {value} is not on the board")
            old = data["status"]["name"]
            data["status"] = {"id": status["id"], "name": status["name"]}
            data["closedFlag"] = bool(status["closedStatus"])
            return "Status", "status", old, status["name"]
        if path == "board/id":
            board = self.boards.get(int(value))
            if board is None:
                raise CwError(400, "InvalidObject", f"board {value} does not exist")
            old = data["board"]["name"]
            data["board"] = {"id": board.id, "name": board.name}
            first = next(iter(board.statuses.values()))
            data["status"] = {"id": first["id"], "name": first["name"]}
            return "Board", "status", old, board.name
        raise CwError(400, "InvalidObject", f"path {path!r} is not modelled by the twin")

    def _note(
        self,
        record: TicketRecord,
        text: str,
        *,
        member: int | None = None,
        contact: int | None = None,
        discussion: bool = False,
        internal: bool = False,
        resolution: bool = False,
        by: str = "",
    ) -> dict[str, Any]:
        now = self.clock()
        note: dict[str, Any] = {
            "id": next(self._note_ids),
            "ticketId": record.data["id"],
            "text": text,
            "detailDescriptionFlag": discussion,
            "internalAnalysisFlag": internal,
            "resolutionFlag": resolution,
            "processNotifications": False,
            "dateCreated": iso(now),
            "createdBy": by,
            "_info": {"lastUpdated": iso(now), "updatedBy": by},
        }
        if member is not None:
            found = self.members[member]
            note["member"] = {"id": found.id, "identifier": found.identifier, "name": found.name}
        if contact is not None:
            note["contact"] = {"id": contact, "name": self.contacts[contact]["name"]}
        record.notes.append(note)
        return note

    def add_note(
        self,
        ticket_id: int,
        body: Mapping[str, Any],
        *,
        member: int | None = None,
        contact: int | None = None,
        by: str,
        request: int | None = None,
        principal: str = "",
    ) -> dict[str, Any]:
        """``POST /service/tickets/{id}/notes``: at least one of the three flags is set
        (psa-apis.md 1.5 [verify])."""
        text = str(body.get("text") or "")
        flags = [
            bool(body.get(k))
            for k in ("detailDescriptionFlag", "internalAnalysisFlag", "resolutionFlag")
        ]
        if not text.strip() or not any(flags):
            raise CwError(400, "InvalidObject", "a note needs text and one of the three flags")
        with self.lock:
            record = self.live(ticket_id)
            note = self._note(
                record,
                text,
                member=member,
                contact=contact,
                discussion=flags[0],
                internal=flags[1],
                resolution=flags[2],
                by=by,
            )
            now = self.clock()
            self._touch(record, by, now)
            kind = (
                "private_comment" if flags[1] and not (flags[0] or flags[2]) else "public_comment"
            )
            self._journal(now, request, principal, ticket_id, kind, text, True, texts=[text])
            return note

    def add_time_entry(
        self,
        ticket_id: int,
        member: int,
        notes: str,
        *,
        discussion: bool = True,
        hours: float = 0.25,
    ) -> dict[str, Any]:
        """A member logs time with notes; ``discussion`` adds them to the Discussion (the
        customer sees them), otherwise to the Internal Analysis."""
        with self.lock:
            record = self.live(ticket_id)
            now = self.clock()
            found = self.members[member]
            entry = {
                "id": next(self._note_ids),
                "chargeToType": "ServiceTicket",
                "chargeToId": ticket_id,
                "member": {"id": found.id, "identifier": found.identifier, "name": found.name},
                "timeStart": iso(now - hours * 3600),
                "timeEnd": iso(now),
                "actualHours": hours,
                "notes": notes,
                "addToDetailDescriptionFlag": discussion,
                "addToInternalAnalysisFlag": not discussion,
                "addToResolutionFlag": False,
                "dateEntered": iso(now),
                "enteredBy": found.identifier,
            }
            record.time_entries.append(entry)
            self._touch(record, found.identifier, now)
            kind = "public_comment" if discussion else "private_comment"
            self._journal(now, None, f"person:{found.identifier}", ticket_id, kind, notes, True)
            return entry

    def delete(self, ticket_id: int, *, principal: str = "") -> None:
        with self.lock:
            self.live(ticket_id)
            del self.tickets[ticket_id]
            self._journal(self.clock(), None, principal, ticket_id, "status", "deleted", True)

    def merge(self, child: int, parent: int, *, by: str) -> None:
        """Merge ``child`` into ``parent``: the child is closed and points at the parent."""
        with self.lock:
            source, target = self.live(child), self.live(parent)
            now = self.clock()
            board = self.boards[source.data["board"]["id"]]
            closed = next(s for s in board.statuses.values() if s["closedStatus"])
            old = source.data["status"]["name"]
            source.data["status"] = {"id": closed["id"], "name": closed["name"]}
            source.data["closedFlag"] = True
            source.data["mergedParentTicket"] = {"id": parent, "summary": target.data["summary"]}
            target.data["hasMergedChildTicketFlag"] = True
            source.audit.append(
                self._entry(now, by, "Status", self._worded("Status", old, closed["name"]))
            )
            self._touch(source, by, now)
            self._touch(target, by, now)
            self._journal(now, None, f"person:{by}", child, "status", "merged", True)

    def notes_of(self, ticket_id: int, *, with_time: bool) -> list[dict[str, Any]]:
        """Notes; with time entries as ``ServiceTicketNote`` items for ``allNotes``."""
        record = self.live(ticket_id)
        items = [dict(n) for n in record.notes]
        if not with_time:
            return items
        for note in items:
            note["noteType"] = "TicketNote"
        for entry in record.time_entries:
            items.append(
                {
                    "id": entry["id"],
                    "noteType": "TimeEntryNote",
                    "ticket": {"id": ticket_id},
                    "text": entry["notes"],
                    "detailDescriptionFlag": entry["addToDetailDescriptionFlag"],
                    "internalAnalysisFlag": entry["addToInternalAnalysisFlag"],
                    "resolutionFlag": entry["addToResolutionFlag"],
                    "timeStart": entry["timeStart"],
                    "timeEnd": entry["timeEnd"],
                    "member": entry["member"],
                    "_info": {"dateEntered": entry["dateEntered"]},
                }
            )
        return sorted(items, key=lambda n: n.get("dateCreated") or n.get("timeStart") or "")

    def _journal(
        self,
        now: float,
        request: int | None,
        principal: str,
        ticket_id: int,
        kind: str,
        value: Any,
        changed: bool,
        texts: list[str] | None = None,
    ) -> None:
        texts = texts or []
        tags = [t.removeprefix(TAG_PREFIX).strip() for t in texts if t.startswith(TAG_PREFIX)]
        marker, step = carried_step(str(ticket_id), texts, tags)
        self.journal.record_write(
            at=now,
            request=request,
            principal=principal,
            ticket=str(ticket_id),
            kind=kind,
            value="" if value is None else str(value),
            marker=marker,
            step=step,
            changed=changed,
        )
