"""The canonical ticket (DESIGN section 3): what every connector produces and `audit` reads.

``parse_ticket`` turns one JSON object into a validated ``Ticket`` and rejects bad input
with a ``TicketError`` that says what is wrong (SEMANTICS S24); it never guesses a time
zone.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sla_connector.core.errors import TicketError

__all__ = ["EVENT_TYPES", "Event", "Ticket", "format_instant", "parse_instant", "parse_ticket"]

EventType = Literal["status", "public_reply", "priority", "assignee", "comment"]
EVENT_TYPES: frozenset[str] = frozenset(
    {"status", "public_reply", "priority", "assignee", "comment"}
)
_TICKET_FIELDS = frozenset(
    {
        "id",
        "source",
        "client",
        "subject",
        "description",
        "channel",
        "source_priority",
        "status",
        "created_at",
        "events",
        "tags",
        "notes",
        "extra",
    }
)


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened to a ticket; ``to`` / ``by`` depend on the type."""

    at: datetime
    type: EventType
    to: str | None = None
    by: str | None = None


@dataclass(frozen=True, slots=True)
class Ticket:
    """A PSA ticket normalised to the engine's shape; events are in time order.

    ``tags`` are the PSA's tags (Zendesk tags, Jira labels, the simulator's tags) as they
    are now, and ``notes`` the texts of its internal notes as far as the connector reads
    them: the runtime finds a step's marker there, and contracts read exclusion tags. Keys
    a connector keeps for itself go in ``extra``; the runtime never reads ``extra``.
    """

    id: str
    source: str
    client: str
    created_at: datetime
    subject: str = ""
    description: str = ""
    channel: str = ""
    source_priority: str = ""
    status: str = ""
    events: tuple[Event, ...] = ()
    tags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON object (inverse of ``parse_ticket``)."""
        events: list[dict[str, Any]] = []
        for event in self.events:
            item: dict[str, Any] = {"at": format_instant(event.at), "type": event.type}
            if event.to is not None:
                item["to"] = event.to
            if event.by is not None:
                item["by"] = event.by
            events.append(item)
        data: dict[str, Any] = {
            "id": self.id,
            "source": self.source,
            "client": self.client,
            "subject": self.subject,
            "description": self.description,
            "channel": self.channel,
            "source_priority": self.source_priority,
            "status": self.status,
            "created_at": format_instant(self.created_at),
            "events": events,
        }
        if self.tags:
            data["tags"] = list(self.tags)
        if self.notes:
            data["notes"] = list(self.notes)
        if self.extra:
            data["extra"] = dict(self.extra)
        return data


def format_instant(instant: datetime) -> str:
    """RFC 3339 in UTC with ``Z`` (SEMANTICS S25)."""
    text = instant.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""Ticket times outside [EARLIEST, LATEST) are data errors (and year 9999 at -05:00 has no
UTC form at all)."""


def parse_instant(value: Any, what: str) -> datetime:
    """An RFC 3339 time with an offset; naive, malformed or absurd input raises ``TicketError``."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise TicketError(f"{what}: {value!r} is not an RFC 3339 time") from None
    else:
        raise TicketError(f"{what}: expected an RFC 3339 time, got {type(value).__name__}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise TicketError(f"{what}: {value!r} has no UTC offset (naive times are not accepted)")
    if not EARLIEST <= parsed < LATEST:
        raise TicketError(f"{what}: {value!r} is outside the years 1970-2199")
    return parsed


def _fast_instant(value: Any) -> datetime:
    """The common case of ``parse_instant``: a string with an offset; else ValueError."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None or not EARLIEST <= parsed < LATEST:
        raise ValueError("naive or out of range")
    return parsed


def _checked_event(ticket_id: str, index: int, raw: Any) -> tuple[Any, datetime, Any, Any]:
    """The slow path: find what is wrong with an event and say so."""
    where = f"ticket {ticket_id}: events[{index}]"
    if not isinstance(raw, Mapping):
        raise TicketError(f"{where}: expected an object")
    at = parse_instant(raw.get("at"), f"{where}.at")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        raise TicketError(f"{where}.type: {kind!r} is not one of {sorted(EVENT_TYPES)}")
    return kind, at, _event_text(raw, "to", where), _event_text(raw, "by", where)


def _event_text(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    """``to`` / ``by``: text (a number is taken as its text, e.g. a status id), or absent."""
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TicketError(f"{where}.{key}: expected a string, got {type(value).__name__}")


def _event_problem(ticket_id: str, index: int, raw: Mapping[str, Any], created: datetime) -> None:
    """Raise the reason an event that parsed is still unacceptable."""
    where = f"ticket {ticket_id}: events[{index}]"
    kind = raw.get("type")
    at = _fast_instant(raw["at"])
    if kind not in EVENT_TYPES:
        raise TicketError(f"{where}.type: {kind!r} is not one of {sorted(EVENT_TYPES)}")
    if at < created:
        raise TicketError(f"{where}: {raw.get('at')} is before created_at")
    if kind in ("status", "priority") and not isinstance(raw.get("to"), str):
        raise TicketError(f"{where}.to: a {kind} event needs the new {kind} as a string")
    raise TicketError(f"{where}: {raw.get('at')} is out of order (events must be in time order)")


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TicketError(f"{key}: expected a string, got {type(value).__name__}")


def _texts(data: Mapping[str, Any], key: str, ticket_id: str) -> tuple[str, ...]:
    """An optional list of strings (``tags``, ``notes``); anything else is rejected."""
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TicketError(f"ticket {ticket_id}: {key}: expected a list of strings")
    return tuple(value)


def parse_ticket(data: Any, known_sources: Collection[str] | None = None) -> Ticket:
    """Validate one canonical ticket object; ``known_sources`` restricts ``source``."""
    if not isinstance(data, Mapping):
        raise TicketError(f"expected a JSON object, got {type(data).__name__}")
    ticket_id = _text(data, "id")
    if not ticket_id:
        raise TicketError("id: missing")
    source = _text(data, "source")
    if not source:
        raise TicketError(f"ticket {ticket_id}: source: missing")
    if known_sources is not None and source not in known_sources:
        raise TicketError(
            f"ticket {ticket_id}: source {source!r} names no configured connector "
            f"(configured: {', '.join(sorted(known_sources)) or 'none'})"
        )
    created = parse_instant(data.get("created_at"), f"ticket {ticket_id}: created_at")
    raw_events = data.get("events") or []
    if not isinstance(raw_events, list):
        raise TicketError(f"ticket {ticket_id}: events: expected a list")
    events: list[Event] = []
    previous = created
    for index, raw in enumerate(raw_events):
        try:
            kind = raw["type"]
            at = _fast_instant(raw["at"])
            to = raw.get("to")
            by = raw.get("by")
            if type(kind) is not str or not (to is None or type(to) is str):
                raise TypeError("not the common shape")
            if not (by is None or type(by) is str):
                raise TypeError("not the common shape")
        except (KeyError, TypeError, AttributeError, ValueError):
            kind, at, to, by = _checked_event(ticket_id, index, raw)
        if at < previous or kind not in EVENT_TYPES:
            _event_problem(ticket_id, index, raw, created)
        if to is None and kind in ("status", "priority"):
            _event_problem(ticket_id, index, raw, created)
        previous = at
        events.append(Event(at, kind, to, by))
    extra = {key: value for key, value in data.items() if key not in _TICKET_FIELDS}
    if isinstance(data.get("extra"), Mapping):
        extra = {**data["extra"], **extra}
    return Ticket(
        id=ticket_id,
        source=source,
        client=_text(data, "client"),
        created_at=created,
        subject=_text(data, "subject"),
        description=_text(data, "description"),
        channel=_text(data, "channel"),
        source_priority=_text(data, "source_priority"),
        status=_text(data, "status"),
        events=tuple(events),
        tags=_texts(data, "tags", ticket_id),
        notes=_texts(data, "notes", ticket_id),
        extra=extra,
    )
