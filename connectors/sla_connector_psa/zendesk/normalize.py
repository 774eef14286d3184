"""Pure normalisation of Zendesk Support JSON into the canonical ticket (DESIGN section 3).

Two history shapes come in: ticket audits (``GET /api/v2/tickets/{id}/audits``: ``events[]``
with ``type`` Create/Change/Comment and ``field_name``/``value``) and the incremental ticket
event stream (``GET /api/v2/incremental/ticket_events?include=comment_events``: one item per
update with ``child_events[]``). Both become ``Audit`` records keyed by the audit id, so the
two sources merge without duplicates. ``build_ticket`` turns a ticket object plus its audits
into a ``Ticket`` whose events the clocks read:

- ``status`` from status and ``custom_status_id`` Create (when not born ``new``) and Change
  entries, whoever made them, named by ``statuses.StatusNames`` (the custom status's label
  when the configuration names it, else the category), so a move between two custom
  statuses of one category is an event too;
- ``public_reply`` from public comments, ``by`` agent or customer from the author's role and
  the requester; comments made by triggers/automations, the Zendesk system user or configured
  automation users are never agent replies (SEMANTICS S07), and the ticket's first comment
  (its description, in the creating audit) is never a reply;
- ``priority`` only for human changes (not triggers, not this connector's own writes),
  mapped back to a tier through ``priority_map``;
- ``assignee`` (to: the configured person for that user id, else the id) and ``comment``;
- the ticket's ``tags`` as the canonical tags (where the runtime finds a step's marker tag).

No I/O here: everything is tested on plain dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sla_connector.core.errors import TicketError
from sla_connector.core.ticket import Event, Ticket, parse_instant
from sla_connector_psa.values import optional_int

__all__ = [
    "SYSTEM_USER_ID",
    "Audit",
    "AuditEntry",
    "NormalizeContext",
    "build_ticket",
    "parse_audit",
    "parse_ticket_event",
    "ticket_id_of",
    "validate_ticket",
]

SYSTEM_USER_ID = -1
"""Zendesk's author id for changes made by the system itself."""

_TRACKED_FIELDS = ("status", "custom_status_id", "priority", "assignee_id", "group_id")
_STATUS_FIELDS = ("status", "custom_status_id")
_AUTOMATIC_RELS = frozenset({"trigger", "automation"})
_CHANNELS = {
    "email": "email",
    "mail": "email",
    "web": "portal",
    "web_form": "portal",
    "help_center": "portal",
    "mobile": "portal",
    "mobile_sdk": "portal",
    "any_channel": "portal",
    "chat": "chat",
    "web_widget": "chat",
    "native_messaging": "chat",
    "messaging": "chat",
    "chat_transcript": "chat",
    "voice": "phone",
    "phone": "phone",
    "phone_call_inbound": "phone",
    "sms": "phone",
    "api": "api",
    "rule": "api",
    "system": "api",
}

EntryKind = Literal["create", "change", "comment"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One relevant event inside an audit: a field set at creation or changed, or a comment."""

    kind: EntryKind
    field: str = ""
    value: Any = None
    author_id: int | None = None
    public: bool = False
    automatic: bool = False
    body: str = ""


@dataclass(frozen=True, slots=True)
class Audit:
    """One update of a ticket (a Zendesk audit), whichever endpoint reported it."""

    id: int
    ticket_id: int
    at: datetime
    author_id: int | None
    entries: tuple[AuditEntry, ...]

    @property
    def creates(self) -> bool:
        """True for the audit that created the ticket."""
        return any(entry.kind == "create" for entry in self.entries)


@dataclass(frozen=True, slots=True)
class NormalizeContext:
    """The connector's mappings and what it knows about users and organizations."""

    source: str
    client_map: Mapping[str, str] = field(default_factory=dict)
    default_client: str = ""
    priority_tiers: Mapping[str, str] = field(default_factory=dict)  # zendesk priority -> tier
    people: Mapping[str, str] = field(default_factory=dict)  # zendesk user id -> person
    user_roles: Mapping[int, str] = field(default_factory=dict)  # user id -> end-user|agent|admin
    org_names: Mapping[int, str] = field(default_factory=dict)
    automation_user_ids: frozenset[int] = frozenset()
    self_user_id: int | None = None
    report: Callable[[str, str], None] = lambda kind, value: None
    status_name: Callable[[Any, Any], str] = lambda category, custom_id: str(category or "")


def _int(value: Any, what: str) -> int:
    number = optional_int(value)
    if number is None:
        raise TicketError(f"{what}: expected an integer id, got {value!r}")
    return number


def ticket_id_of(raw: Any) -> str:
    """The ticket id for a rejection message, or ``?`` when even that is unreadable."""
    if isinstance(raw, Mapping):
        value = optional_int(raw.get("id"))
        if value is not None:
            return str(value)
    return "?"


def _via_channel(via: Any) -> str:
    if isinstance(via, Mapping):
        channel = via.get("channel")
        return "" if channel is None else str(channel).strip().lower()
    if isinstance(via, str):  # the ticket event stream names the channel: "Web form", "Rule"
        return "_".join(via.strip().lower().split())
    return ""


def _is_automatic(via: Any, automatic_channels: frozenset[str]) -> bool:
    if _via_channel(via) in automatic_channels:
        return True
    if isinstance(via, Mapping):
        source = via.get("source")
        if isinstance(source, Mapping) and str(source.get("rel") or "").lower() in _AUTOMATIC_RELS:
            return True
    return False


def _entry(
    raw: Mapping[str, Any],
    kind_name: str,
    audit_author: int | None,
    audit_via: Any,
    automatic_channels: frozenset[str],
) -> list[AuditEntry]:
    """The entries one audit event contributes (none for notifications and the like)."""
    via = raw.get("via") if raw.get("via") is not None else audit_via
    automatic = _is_automatic(via, automatic_channels)
    kind = kind_name.lower()
    if kind in ("comment", "voicecomment"):
        author = optional_int(raw.get("author_id"))
        return [
            AuditEntry(
                kind="comment",
                author_id=audit_author if author is None else author,
                public=raw.get("public") is True,
                automatic=automatic,
                body=str(raw.get("body") or raw.get("plain_body") or ""),
            )
        ]
    if kind not in ("create", "change"):
        return []
    entry_kind: EntryKind = "create" if kind == "create" else "change"
    if "field_name" in raw:  # audits: {"field_name": "status", "value": "open"}
        name = str(raw.get("field_name") or "")
        if name not in _TRACKED_FIELDS and kind != "create":
            return []
        pairs = [(name, raw.get("value"))]
    else:  # ticket event stream [verify]: the field is the key, {"status": "open"}
        pairs = [(name, raw[name]) for name in _TRACKED_FIELDS if name in raw]
        if not pairs and kind == "create":
            pairs = [("", None)]  # a Create on an untracked field still marks the creation
    return [
        AuditEntry(
            kind=entry_kind, field=name, value=value, author_id=audit_author, automatic=automatic
        )
        for name, value in pairs
    ]


def parse_audit(raw: Any, automatic_channels: frozenset[str] = frozenset({"rule"})) -> Audit:
    """An item of ``audits[]`` from the ticket audits endpoint; bad input raises TicketError."""
    if not isinstance(raw, Mapping):
        raise TicketError(f"audit: expected an object, got {type(raw).__name__}")
    audit_id = _int(raw.get("id"), "audit id")
    where = f"audit {audit_id}"
    ticket_id = _int(raw.get("ticket_id"), f"{where}: ticket_id")
    at = parse_instant(raw.get("created_at"), f"{where}: created_at")
    author = optional_int(raw.get("author_id"))
    events = raw.get("events") or []
    if not isinstance(events, list):
        raise TicketError(f"{where}: events: expected a list")
    entries: list[AuditEntry] = []
    for item in events:
        if isinstance(item, Mapping):
            entries.extend(
                _entry(
                    item, str(item.get("type") or ""), author, raw.get("via"), automatic_channels
                )
            )
    return Audit(id=audit_id, ticket_id=ticket_id, at=at, author_id=author, entries=tuple(entries))


def parse_ticket_event(
    raw: Any, automatic_channels: frozenset[str] = frozenset({"rule"})
) -> Audit | None:
    """An item of ``ticket_events[]``; None for items that carry no update (no child events)."""
    if not isinstance(raw, Mapping):
        raise TicketError(f"ticket event: expected an object, got {type(raw).__name__}")
    children = raw.get("child_events")
    if not isinstance(children, list):
        return None
    audit_id = _int(raw.get("id"), "ticket event id")
    where = f"ticket event {audit_id}"
    ticket_id = _int(raw.get("ticket_id"), f"{where}: ticket_id")
    if raw.get("created_at") is not None:
        at = parse_instant(raw.get("created_at"), f"{where}: created_at")
    else:
        stamp = raw.get("timestamp")
        if isinstance(stamp, bool) or not isinstance(stamp, int | float):
            raise TicketError(f"{where}: neither created_at nor timestamp")
        at = datetime.fromtimestamp(stamp, tz=UTC)
    author = optional_int(raw.get("updater_id"))
    entries: list[AuditEntry] = []
    for child in children:
        if isinstance(child, Mapping):
            kind = str(child.get("event_type") or child.get("type") or "")
            entries.extend(_entry(child, kind, author, raw.get("via"), automatic_channels))
    return Audit(id=audit_id, ticket_id=ticket_id, at=at, author_id=author, entries=tuple(entries))


def _client(raw: Mapping[str, Any], ctx: NormalizeContext) -> str:
    org_id = optional_int(raw.get("organization_id"))
    if org_id is None:
        return ctx.default_client
    name = ctx.org_names.get(org_id)
    for key in (name, str(org_id)):
        if key is not None and key in ctx.client_map:
            return ctx.client_map[key]
    label = name if name is not None else str(org_id)
    ctx.report("organization", label)
    return label.lower()


def _reply_by(author: int | None, requester: int | None, ctx: NormalizeContext) -> str:
    if author is not None and author == requester:
        return "customer"
    role = ctx.user_roles.get(author) if author is not None else None
    return "agent" if role in ("agent", "admin") else "customer"


def _is_machine(entry: AuditEntry, ctx: NormalizeContext) -> bool:
    author = entry.author_id
    return (
        entry.automatic
        or author == SYSTEM_USER_ID
        or (author is not None and author in ctx.automation_user_ids)
    )


def _status_event(
    audit: Audit, at: datetime, created: datetime, ctx: NormalizeContext
) -> Event | None:
    """The one status event of an audit: its status and custom status entries together."""
    values = {
        entry.field: entry.value
        for entry in audit.entries
        if entry.field in _STATUS_FIELDS and entry.value not in (None, "")
    }
    if not values:
        return None
    creating = audit.creates and not any(
        e.kind == "change" for e in audit.entries if e.field in _STATUS_FIELDS
    )
    name = ctx.status_name(values.get("status"), values.get("custom_status_id"))
    if not name or (creating and name.lower() == "new"):
        return None
    return Event(at=created if creating else at, type="status", to=name)


def _events(
    audits: Iterable[Audit], created: datetime, requester: int | None, ctx: NormalizeContext
) -> list[Event]:
    ordered = sorted({audit.id: audit for audit in audits}.values(), key=lambda a: (a.at, a.id))
    events: list[Event] = []
    for audit in ordered:
        at = max(audit.at, created)
        creating = audit.creates
        status = _status_event(audit, at, created, ctx)
        for entry in audit.entries:
            if entry.field in _STATUS_FIELDS:
                if status is not None:  # in the audit's own order, once
                    events.append(status)
                    status = None
                continue
            if entry.kind == "comment":
                if creating:
                    continue  # the description, not a reply
                if entry.public and not _is_machine(entry, ctx):
                    events.append(
                        Event(
                            at=at,
                            type="public_reply",
                            by=_reply_by(entry.author_id, requester, ctx),
                        )
                    )
                else:
                    events.append(Event(at=at, type="comment"))
                continue
            value = entry.value
            if value is None or value == "":
                continue
            if entry.field == "assignee_id":
                person = ctx.people.get(str(value), str(value))
                events.append(Event(at=at, type="assignee", to=person))
            elif entry.field == "priority" and entry.kind == "change":
                if _is_machine(entry, ctx) or (
                    ctx.self_user_id is not None and entry.author_id == ctx.self_user_id
                ):
                    continue  # only a human choosing a priority sets the tier
                tier = ctx.priority_tiers.get(str(value).lower())
                if tier is None:
                    ctx.report("priority", str(value))
                    continue
                events.append(Event(at=at, type="priority", to=tier))
    events.sort(key=lambda event: event.at)  # stable: same-instant events keep audit order
    return events


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return "" if value is None else str(value)


def validate_ticket(raw: Any) -> tuple[int, datetime, str]:
    """Id, creation time and status of a ticket object, checked before any history is read."""
    if not isinstance(raw, Mapping):
        raise TicketError(f"ticket: expected an object, got {type(raw).__name__}")
    ticket_id = _int(raw.get("id"), "ticket id")
    where = f"ticket {ticket_id}"
    if raw.get("created_at") is None:
        raise TicketError(f"{where}: created_at: missing")
    created = parse_instant(raw.get("created_at"), f"{where}: created_at")
    status = raw.get("status")
    if not isinstance(status, str) or not status:
        raise TicketError(f"{where}: status: missing")
    return ticket_id, created, status


def build_ticket(raw: Any, audits: Iterable[Audit], ctx: NormalizeContext) -> Ticket:
    """The canonical ticket for one Zendesk ticket object and its audits."""
    ticket_id, created, status = validate_ticket(raw)
    assert isinstance(raw, Mapping)  # checked by validate_ticket
    requester = optional_int(raw.get("requester_id"))
    via = raw.get("via")
    channel = _via_channel(via)
    tags = raw.get("tags")
    extra: dict[str, Any] = {
        "assignee_id": optional_int(raw.get("assignee_id")),
        "group_id": optional_int(raw.get("group_id")),
        "organization_id": optional_int(raw.get("organization_id")),
        "requester_id": requester,
        "updated_at": raw.get("updated_at"),
        "custom_status_id": optional_int(raw.get("custom_status_id")),
    }
    return Ticket(
        id=str(ticket_id),
        source=ctx.source,
        client=_client(raw, ctx),
        created_at=created,
        subject=_text(raw, "subject") or _text(raw, "raw_subject"),
        description=_text(raw, "description"),
        channel=_CHANNELS.get(channel, channel),
        source_priority=_text(raw, "priority"),
        status=ctx.status_name(status, raw.get("custom_status_id")) or status,
        events=tuple(_events(audits, created, requester, ctx)),
        tags=tuple(str(tag) for tag in tags) if isinstance(tags, list) else (),
        extra=extra,
    )
