"""ConnectWise PSA JSON -> canonical ``Ticket``: pure functions, tested on plain dicts.

A feed row (``GET /service/tickets``) is validated into a ``Row``; the audit trail's free text
becomes status / priority / owner ``Change`` records (the spec gives only ``text``; the
wording is matched leniently, see ``parse_audit``); service notes become agent replies,
customer replies and internal comments (``classify_notes``), and the texts of the internal
notes the ticket's ``notes`` (tags, which ConnectWise lacks, are internal notes
``[sla-connector] tag: <tag>``, so they are read back from there). ``ticket_of`` assembles
the canonical ticket from a row and the ``History`` the connector holds for it;
``history_from_feed`` derives the moves a feed row shows since the cached one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sla_connector.core.errors import TicketError
from sla_connector.core.ticket import Event, Ticket
from sla_connector_psa.connectwise.settings import CwSettings
from sla_connector_psa.values import aware_time

__all__ = [
    "INITIAL_NOTE_WINDOW",
    "MARKER",
    "TAG_PREFIX",
    "Change",
    "History",
    "Row",
    "channel_of",
    "classify_notes",
    "cw_time",
    "history_from_feed",
    "initial_description",
    "internal_note_texts",
    "is_creation",
    "parse_audit",
    "parse_row",
    "ticket_of",
]

MARKER = "[sla-connector]"
TAG_PREFIX = "[sla-connector] tag: "
INITIAL_NOTE_WINDOW = timedelta(minutes=2)
_CHANNELS = {
    "email": "email",
    "e-mail": "email",
    "phone": "phone",
    "call": "phone",
    "portal": "portal",
    "web": "portal",
    "chat": "chat",
    "teams": "chat",
    "monitoring": "monitoring",
    "rmm": "monitoring",
    "alert": "monitoring",
    "api": "api",
    "automate": "monitoring",
}
_RAW_KEPT = ("isInSla", "respondByGoalUTC", "resolutionGoalUTC", "slaStatus")


def cw_time(value: Any, what: str) -> datetime:
    """A ConnectWise timestamp (ISO 8601 UTC with ``Z``); anything else raises TicketError."""
    return aware_time(value, what)


# -- ticket rows ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """The fields of one ``Ticket`` the adapter uses, validated."""

    id: str
    created_at: datetime
    last_updated: str
    summary: str
    status: str
    priority: str
    owner: str
    company: str
    source: str
    board: str
    date_responded: datetime | None
    closed: bool
    raw: Mapping[str, Any]
    merged_into: str | None = None  # mergedParentTicket.id


def _ref(raw: Mapping[str, Any], key: str, attr: str, where: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, Mapping):
        raise TicketError(f"{where}: {key}: expected an object")
    text = value.get(attr)
    return "" if text is None else str(text)


def parse_row(raw: Any) -> Row:
    """Validate one element of a ``GET /service/tickets`` page; TicketError names the gap."""
    if not isinstance(raw, Mapping):
        raise TicketError(f"expected a ticket object, got {type(raw).__name__}")
    ticket_id = raw.get("id")
    if isinstance(ticket_id, bool) or not isinstance(ticket_id, int):
        raise TicketError(f"id: missing or not an integer ({ticket_id!r})")
    where = f"ticket {ticket_id}"
    info = raw.get("_info")
    if not isinstance(info, Mapping):
        raise TicketError(f"{where}: _info: missing (needed for dateEntered and lastUpdated)")
    created = cw_time(info.get("dateEntered"), f"{where}: _info.dateEntered")
    last_updated = info.get("lastUpdated")
    cw_time(last_updated, f"{where}: _info.lastUpdated")
    company = _ref(raw, "company", "identifier", where)
    if not company:
        raise TicketError(f"{where}: company.identifier: missing")
    responded = raw.get("dateResponded")
    return Row(
        id=str(ticket_id),
        created_at=created,
        last_updated=str(last_updated),
        summary=str(raw.get("summary") or ""),
        status=_ref(raw, "status", "name", where),
        priority=_ref(raw, "priority", "name", where),
        owner=_ref(raw, "owner", "identifier", where),
        company=company,
        source=_ref(raw, "source", "name", where),
        board=_ref(raw, "board", "name", where),
        date_responded=cw_time(responded, f"{where}: dateResponded") if responded else None,
        closed=bool(raw.get("closedFlag")),
        raw=raw,
        merged_into=_merged_into(raw.get("mergedParentTicket")),
    )


def _merged_into(value: Any) -> str | None:
    """The id in ``mergedParentTicket`` (spec ``Ticket``), when the ticket was merged."""
    if isinstance(value, Mapping) and isinstance(value.get("id"), int):
        return str(value["id"])
    return None


def channel_of(source: str, channel_map: Mapping[str, str]) -> str:
    """The canonical channel for a ticket source name (config first, then common names)."""
    folded = source.casefold().strip()
    if folded in channel_map:
        return channel_map[folded]
    if folded in _CHANNELS:
        return _CHANNELS[folded]
    for word, channel in _CHANNELS.items():
        if word in folded:
            return channel
    return folded


# -- audit trail ---------------------------------------------------------------------------

ChangeField = Literal["status", "priority", "owner"]


@dataclass(frozen=True, slots=True)
class Change:
    """One field change read from the audit trail."""

    at: datetime
    field: ChangeField
    old: str | None
    new: str
    by: str


_FIELD_WORD = re.compile(r"^\W*(?:ticket\s+)?(?P<field>status|priority|owner)\b", re.IGNORECASE)
_QUOTED = re.compile(
    r"""\b(?:changed|updated|set|modified)\b.*?(?:\bfrom\s+(?P<q>["'])(?P<old>.*?)(?P=q)\s+)?"""
    r"""\bto\s+(?P<q2>["'])(?P<new>.*?)(?P=q2)""",
    re.IGNORECASE | re.DOTALL,
)
_BARE = re.compile(
    r"\b(?:changed|updated|set|modified)\b.*?(?:\bfrom\s+(?P<old>.+?)\s+)?\bto\s+(?P<new>.+?)"
    r"\s*\.?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_SUBTYPES: dict[str, ChangeField] = {"status": "status", "priority": "priority", "owner": "owner"}
_CREATION = re.compile(r"^\W*(?:ticket\s+)?(?:has\s+been\s+)?(?:created|entered)\b", re.I)


def is_creation(text: str) -> bool:
    """An audit entry that records the ticket's creation (``Ticket created.``)."""
    return bool(_CREATION.match(text))


def _change_field(entry: Mapping[str, Any], text: str) -> ChangeField | None:
    match = _FIELD_WORD.match(text)
    if match:
        word = match.group("field").lower()
        return _SUBTYPES[word]
    subtype = str(entry.get("auditSubType") or "").strip().lower()
    return _SUBTYPES.get(subtype)


def parse_audit(entries: Any, where: str) -> tuple[list[Change], list[str]]:
    """Status, priority and owner changes in time order, plus reasons for skipped entries.

    The spec models an entry as free ``text`` plus ``enteredDate``/``enteredBy``; ConnectWise
    writes changes as e.g. ``Status changed from "New" to "In Progress"``. Quoted values are
    preferred (names may contain " to "); unquoted text is split at the first " to " after
    "from".
    """
    if not isinstance(entries, list):
        raise TicketError(f"{where}: audit trail: expected a list")
    changes: list[Change] = []
    skipped: list[str] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            skipped.append(f"{where}: audit[{index}]: not an object")
            continue
        text = str(entry.get("text") or "").strip()
        kind = _change_field(entry, text)
        if kind is None:
            continue
        match = _QUOTED.search(text) or _BARE.search(text)
        if match is None:
            continue
        try:
            at = cw_time(entry.get("enteredDate"), f"{where}: audit[{index}].enteredDate")
        except TicketError as exc:
            skipped.append(str(exc))
            continue
        old = match.group("old")
        changes.append(
            Change(
                at=at,
                field=kind,
                old=old.strip() if old else None,
                new=match.group("new").strip(),
                by=str(entry.get("enteredBy") or ""),
            )
        )
    changes.sort(key=lambda change: change.at)
    return changes, skipped


# -- service notes -------------------------------------------------------------------------


def classify_notes(
    notes: Any, created_at: datetime, automation: frozenset[str], marker: str, where: str
) -> tuple[list[Event], list[str]]:
    """Replies and comments from ``ServiceNote`` objects.

    Discussion (``detailDescriptionFlag``) and resolution notes are visible to the customer:
    by a ``member`` they are agent replies, by a ``contact`` customer replies. Internal notes
    (``internalAnalysisFlag``) are comments. Not replies: the first discussion note written
    within ``INITIAL_NOTE_WINDOW`` of creation (the ticket's initial description), notes by
    ``automation`` members (automatic acknowledgements, SEMANTICS S07) and notes carrying our
    own ``marker``.
    """
    events: list[Event] = []
    initial_seen = False
    dated, skipped = _dated(notes, where)
    for at, note in dated:
        public = bool(note.get("detailDescriptionFlag")) or bool(note.get("resolutionFlag"))
        member = note.get("member") if isinstance(note.get("member"), Mapping) else None
        contact = note.get("contact") if isinstance(note.get("contact"), Mapping) else None
        author = str((member or {}).get("identifier") or note.get("createdBy") or "")
        text = str(note.get("text") or "")
        if note.get("detailDescriptionFlag") and not initial_seen:
            initial_seen = True
            if at - created_at <= INITIAL_NOTE_WINDOW:
                continue  # the initial description, not a reply
        if not public:
            events.append(Event(at=at, type="comment", by=author or None))
        elif contact is not None and member is None:
            events.append(Event(at=at, type="public_reply", by="customer"))
        elif member is not None and author.casefold() not in automation and marker not in text:
            events.append(Event(at=at, type="public_reply", by="agent"))
        else:
            events.append(Event(at=at, type="comment", by=author or None))
    return events, skipped


def _dated(notes: Any, where: str) -> tuple[list[tuple[datetime, Mapping[str, Any]]], list[str]]:
    """The notes with their times, in time order (the read order among equal times), and
    why any were skipped."""
    if not isinstance(notes, list):
        raise TicketError(f"{where}: notes: expected a list")
    skipped: list[str] = []
    dated: list[tuple[datetime, int, Mapping[str, Any]]] = []
    for index, note in enumerate(notes):
        if not isinstance(note, Mapping):
            skipped.append(f"{where}: notes[{index}]: not an object")
            continue
        try:
            at = cw_time(
                note.get("dateCreated") or (note.get("_info") or {}).get("dateEntered"),
                f"{where}: notes[{index}].dateCreated",
            )
        except TicketError as exc:
            skipped.append(str(exc))
            continue
        dated.append((at, index, note))
    dated.sort(key=lambda item: (item[0], item[1]))
    return [(at, note) for at, _, note in dated], skipped


def initial_description(notes: Any, created_at: datetime, where: str) -> str:
    """The ticket's initial description: the text of its first discussion note when that
    was written within ``INITIAL_NOTE_WINDOW`` of creation (what ``classify_notes`` does not
    count as a reply), else empty. It is the canonical ``description``, which
    classification reads (docs/ticket-format.md: "the first message")."""
    dated, _ = _dated(notes, where)
    first = next((pair for pair in dated if pair[1].get("detailDescriptionFlag")), None)
    if first is None or first[0] - created_at > INITIAL_NOTE_WINDOW:
        return ""
    return str(first[1].get("text") or "")


def internal_note_texts(notes: Any) -> tuple[str, ...]:
    """The texts of the internal notes (neither discussion nor resolution), in read order."""
    if not isinstance(notes, list):
        return ()
    return tuple(
        str(note.get("text") or "")
        for note in notes
        if isinstance(note, Mapping)
        and not note.get("detailDescriptionFlag")
        and not note.get("resolutionFlag")
    )


# -- the canonical ticket --------------------------------------------------------------------


@dataclass(slots=True)
class History:
    """What the connector knows about one ticket's past: changes, replies, internal notes."""

    status: str
    priority: str
    owner: str
    changes: list[Change] = field(default_factory=list)
    notes: list[Event] = field(default_factory=list)
    texts: tuple[str, ...] = ()
    exact_at: str | None = None  # the lastUpdated at which the audit trail was last read
    description: str = ""  # the initial description note's text, once notes were read


def history_from_feed(row: Row, cached: History, own_priority: str | None) -> History:
    """The cached history plus the moves the feed row shows, dated at ``lastUpdated``.

    ``own_priority`` is the priority this connector itself wrote since the last exact read:
    the feed's echo of it is not a person's change.
    """
    at = max(cw_time(row.last_updated, "lastUpdated"), row.created_at)
    changes = list(cached.changes)
    if row.status and row.status != cached.status:
        changes.append(Change(at, "status", cached.status or None, row.status, ""))
    if row.owner and row.owner != cached.owner:
        changes.append(Change(at, "owner", cached.owner or None, row.owner, ""))
    if row.priority and row.priority.casefold() != cached.priority.casefold():
        ours = own_priority
        if ours is None or ours.casefold() != row.priority.casefold():
            changes.append(Change(at, "priority", cached.priority or None, row.priority, ""))
    return History(
        status=row.status,
        priority=row.priority,
        owner=row.owner,
        changes=changes,
        notes=list(cached.notes),
        texts=cached.texts,
        exact_at=cached.exact_at,
        description=cached.description,
    )


Unmapped = Callable[[str, str], None]


def _events(
    row: Row,
    history: History,
    settings: CwSettings,
    unmapped: Unmapped,
    automatic: frozenset[str],
) -> list[Event]:
    created = row.created_at
    events: list[Event] = []
    statuses = [c for c in history.changes if c.field == "status"]
    born = (statuses[0].old if statuses else None) or (None if statuses else row.status)
    if born:
        events.append(Event(at=created, type="status", to=born))
    for change in history.changes:
        at = max(change.at, created)
        if change.field == "status":
            events.append(Event(at=at, type="status", to=change.new, by=change.by or None))
        elif change.field == "owner":
            events.append(Event(at=at, type="assignee", to=change.new, by=change.by or None))
        elif change.by.casefold() not in automatic:  # automation and API members
            tier = settings.tier_of(change.new)
            if tier is None:
                unmapped("priority", change.new)
            else:
                events.append(Event(at=at, type="priority", to=tier, by=change.by or None))
    last_status = statuses[-1].new if statuses else born
    if row.status and last_status != row.status:
        # The audit trail lags or its wording was not recognised: trust the snapshot.
        at = max(cw_time(row.last_updated, "lastUpdated"), created)
        events.append(Event(at=at, type="status", to=row.status))
    events.extend(
        e if e.at >= created else Event(at=created, type=e.type, to=e.to, by=e.by)
        for e in history.notes
    )
    if row.date_responded is not None and settings.first_response != "notes":
        events.append(Event(at=max(row.date_responded, created), type="public_reply", by="agent"))
    events.sort(key=lambda event: event.at)
    return events


def ticket_of(
    row: Row,
    history: History,
    settings: CwSettings,
    unmapped: Unmapped,
    automatic: frozenset[str] | None = None,
) -> Ticket:
    """The canonical ticket of a row and its history; ``unmapped`` hears unmapped values;
    ``automatic`` members' priority changes are not a person's (default: automation)."""
    who = settings.automation_members if automatic is None else automatic
    events = _events(row, history, settings, unmapped, who)
    if row.priority and settings.tier_of(row.priority) is None:
        unmapped("priority", row.priority)
    client = settings.client_map.get(row.company)
    if client is None:
        unmapped("company", row.company)
        client = row.company.lower()
    extra: dict[str, Any] = {
        "board": row.board,
        "company": row.company,
        "owner": row.owner,
        "last_updated": row.last_updated,
        "closed": row.closed,
    }
    extra.update({key: row.raw[key] for key in _RAW_KEPT if row.raw.get(key) is not None})
    return Ticket(
        id=row.id,
        source=settings.name,
        client=client,
        created_at=row.created_at,
        subject=row.summary,
        description=history.description,
        channel=channel_of(row.source, settings.channel_map),
        source_priority=row.priority,
        status=row.status,
        events=tuple(events),
        tags=tuple(
            text[len(TAG_PREFIX) :].strip() for text in history.texts if text.startswith(TAG_PREFIX)
        ),
        notes=history.texts,
        extra=extra,
    )
