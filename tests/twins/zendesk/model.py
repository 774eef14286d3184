"""The Zendesk twin's state: users, organizations, groups, custom statuses, tickets.

Every change goes through ``ZendeskState.update`` (the API's PUT and the Python methods a
scenario uses alike), so every write creates an audit authored by whoever made it, moves
``updated_at`` and ``generated_timestamp``, and is journalled. Sources of the rules:

- ticket fields, enums and ``custom_status_id``: spec ``components.schemas.TicketObject``;
- an update is one audit with ``Create``/``Change``/``Comment`` events: spec
  ``TicketAuditObject`` and the "Ticket Audit events reference" page
  (developer.zendesk.com/documentation/ticketing/reference-guides/ticket-audit-events-reference);
- ``additional_tags``/``remove_tags`` add and remove, ``tags`` replaces; ``comment.public``
  false is an internal note, without ``public`` the comment takes the ticket's visibility:
  psa-apis.md section 3.5 (spec ``TicketUpdateRequest``, ``TicketCommentObject.public``);
- ``safe_update`` + ``updated_stamp`` older than ``updated_at`` answers 409: spec
  ``/api/v2/tickets/{ticket_id}/tags`` PUT "Safe Update", ``TicketObject.safe_update``;
- 30 updates per 10 minutes per user per ticket: psa-apis.md section 3.5 (api-evangelist
  quoting developer.zendesk.com/api-reference/introduction/rate-limits/);
- setting ``status`` picks the category's default custom status, setting
  ``custom_status_id`` sets ``status`` to its category, closed tickets are in the solved
  category: developer.zendesk.com/api-reference/ticketing/tickets/custom_ticket_statuses/
  and support.zendesk.com/hc/en-us/articles/4959212269210 (Apps API behaviour);
- deleted tickets are soft-deleted (404 to reads, ``status: "deleted"`` in the export):
  spec ``/api/v2/deleted_tickets``, psa-apis.md section 3.2 [verify the export value];
- marking a ticket as spam deletes it and suspends its requester; only an active (not
  closed) ticket whose requester is an end user can be: support.zendesk.com article
  4408842999066 "Marking a ticket as spam and suspending the requester"; the endpoint is
  ``PUT /api/v2/tickets/{id}/mark_as_spam`` (spec ``MarkTicketAsSpamAndSuspendRequester``);
- a merge closes each source with a private comment and the ``closed_by_merge`` tag, and
  comments on the target: spec ``/api/v2/tickets/{ticket_id}/merge`` (comments private by
  default) [3p: the tag as seen in exported Zendesk data; verify].
- a "new" ticket that gets an assignee becomes "open", and never goes back to "new"
  [3p: Zendesk help "About ticket fields", status New; verify for API updates].
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from typing import Any

from tests.twins.clock import Clock
from tests.twins.journal import Journal, carried_step

__all__ = [
    "CATEGORIES",
    "PRIORITIES",
    "STATUSES",
    "Audit",
    "Comment",
    "CustomStatus",
    "Event",
    "Ticket",
    "User",
    "ZendeskError",
    "ZendeskState",
    "iso",
    "parse_iso",
]

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
CATEGORIES = ("new", "open", "pending", "hold", "solved")
PRIORITIES = ("urgent", "high", "normal", "low")
ROLES = ("end-user", "agent", "admin")
UPDATES_PER_WINDOW, UPDATE_WINDOW = 30, 600.0


def iso(instant: float) -> str:
    """Zendesk's timestamps: UTC, ISO 8601, whole seconds, ``Z``."""
    return datetime.fromtimestamp(int(instant), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class ZendeskError(Exception):
    """An error answer: HTTP status, JSON body, extra headers."""

    def __init__(
        self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = dict(body)
        self.headers = dict(headers or {})


def not_found() -> ZendeskError:
    # spec components.examples ErrorNotFoundExample / ShowComplianceDeletionStatuses text
    return ZendeskError(404, {"error": "RecordNotFound", "description": "Not found"})


def invalid(field_name: str, description: str) -> ZendeskError:
    # 422 RecordInvalid with per-field details [3p: getmacha.com "Zendesk API errors"; verify]
    return ZendeskError(
        422,
        {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {field_name: [{"description": description}]},
        },
    )


@dataclass
class User:
    id: int
    name: str
    email: str
    role: str
    organization_id: int | None
    created: float
    suspended: bool = False


@dataclass
class CustomStatus:
    id: int
    category: str
    agent_label: str
    end_user_label: str
    active: bool
    default: bool
    created: float


@dataclass
class Comment:
    id: int
    audit_id: int
    author_id: int
    body: str
    public: bool
    created: float
    via: str


@dataclass
class Event:
    id: int
    type: str  # Create | Change | Comment
    field: str | None = None
    value: Any = None
    previous: Any = None
    comment: Comment | None = None


@dataclass
class Audit:
    id: int
    ticket_id: int
    created: float
    author_id: int
    via: str
    events: list[Event]


@dataclass
class Ticket:
    id: int
    subject: str
    description: str
    requester_id: int
    submitter_id: int
    organization_id: int | None
    priority: str | None
    status: str
    custom_status_id: int
    type: str | None
    via: str
    created: float
    updated: float
    generated: float
    assignee_id: int | None = None
    group_id: int | None = None
    tags: list[str] = field(default_factory=list)
    is_public: bool = True
    deleted_at: float | None = None
    merged_into: int | None = None
    audits: list[Audit] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    recent_updates: dict[int, deque[float]] = field(default_factory=dict)


# The fields an update may change, in the order their Change events are listed.
_FIELDS = ("status", "custom_status_id", "priority", "assignee_id", "group_id", "tags")
_KIND = {
    "status": "status",
    "custom_status_id": "custom_status",
    "priority": "priority",
    "assignee_id": "assignee",
    "group_id": "group",
}


class ZendeskState:
    """One Zendesk account's data; every method takes the state's lock."""

    def __init__(self, clock: Clock, journal: Journal) -> None:
        self.clock = clock
        self.journal = journal
        self.lock = threading.RLock()
        self.users: dict[int, User] = {}
        self.organizations: dict[int, str] = {}
        self.groups: dict[int, str] = {}
        self.statuses: dict[int, CustomStatus] = {}
        self.tickets: dict[int, Ticket] = {}
        self._ticket_ids = count(1)
        self._user_ids = count(360_000_000_001)
        self._other_ids = count(900_000_000_001)
        self._event_ids = count(20_000_000_001)
        for category in CATEGORIES:
            label = category.capitalize() if category != "hold" else "On-hold"
            self.add_custom_status(category, label, default=True)

    # -- directory --------------------------------------------------------------------

    def add_user(
        self, name: str, email: str, role: str = "end-user", organization_id: int | None = None
    ) -> int:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        with self.lock:
            uid = next(self._user_ids)
            self.users[uid] = User(uid, name, email, role, organization_id, self.clock())
            return uid

    def add_organization(self, name: str) -> int:
        with self.lock:
            oid = next(self._other_ids)
            self.organizations[oid] = name
            return oid

    def add_group(self, name: str) -> int:
        with self.lock:
            gid = next(self._other_ids)
            self.groups[gid] = name
            return gid

    def add_custom_status(
        self, category: str, agent_label: str, *, active: bool = True, default: bool = False
    ) -> int:
        if category not in CATEGORIES:
            raise ValueError(f"status_category must be one of {CATEGORIES}")
        with self.lock:
            sid = next(self._other_ids)
            self.statuses[sid] = CustomStatus(
                sid, category, agent_label, agent_label, active, default, self.clock()
            )
            return sid

    def default_status(self, category: str) -> int:
        category = "solved" if category == "closed" else category
        return next(s.id for s in self.statuses.values() if s.default and s.category == category)

    def user_by_email(self, email: str) -> User | None:
        with self.lock:
            return next((u for u in self.users.values() if u.email == email.lower()), None)

    # -- tickets ----------------------------------------------------------------------

    def live(self, ticket_id: int) -> Ticket:
        """The ticket, or 404 when it never existed or was deleted."""
        ticket = self.tickets.get(ticket_id)
        if ticket is None or ticket.deleted_at is not None:
            raise not_found()
        return ticket

    def create_ticket(
        self,
        *,
        subject: str,
        description: str,
        requester_id: int,
        priority: str | None = None,
        status: str = "new",
        via: str = "web",
        tags: Iterable[str] = (),
        ticket_type: str | None = None,
        public: bool = True,
    ) -> int:
        """A new ticket whose description is its first comment, by the requester."""
        with self.lock:
            requester = self.users[requester_id]
            now = self.clock()
            tid = next(self._ticket_ids)
            ticket = Ticket(
                tid,
                subject,
                description,
                requester_id,
                requester_id,
                requester.organization_id,
                priority,
                status,
                self.default_status(status),
                ticket_type,
                via,
                now,
                now,
                now,
                tags=list(dict.fromkeys(tags)),
                is_public=public,
            )
            audit = Audit(next(self._event_ids), tid, now, requester_id, via, [])
            comment = Comment(
                next(self._event_ids), audit.id, requester_id, description, public, now, via
            )
            audit.events.append(Event(next(self._event_ids), "Comment", comment=comment))
            for name, value in (
                ("subject", subject),
                ("status", status),
                ("custom_status_id", ticket.custom_status_id),
                ("priority", priority),
                ("requester_id", requester_id),
                ("tags", list(ticket.tags)),
            ):
                audit.events.append(Event(next(self._event_ids), "Create", name, value))
            ticket.audits.append(audit)
            ticket.comments.append(comment)
            self.tickets[tid] = ticket
            return tid

    def update(
        self,
        ticket_id: int,
        payload: Mapping[str, Any],
        *,
        author_id: int,
        via: str = "api",
        request: int | None = None,
        principal: str = "",
    ) -> tuple[Ticket, Audit | None]:
        """Apply one ticket update atomically (all or nothing), as ``PUT /tickets/{id}``."""
        with self.lock:
            ticket = self.live(ticket_id)
            now = self.clock()
            self._check_stamp(ticket, payload)
            if ticket.status == "closed":
                raise invalid("status", "Status: closed prevents ticket update")
            recent = ticket.recent_updates.setdefault(author_id, deque())
            while recent and recent[0] <= now - UPDATE_WINDOW:
                recent.popleft()
            if len(recent) >= UPDATES_PER_WINDOW:
                raise ZendeskError(
                    429,
                    {"error": "TooManyRequests", "description": "Too many updates to this ticket"},
                    {"Retry-After": str(max(1, int(recent[0] + UPDATE_WINDOW - now)))},
                )
            changes = self._changes(ticket, payload)
            comment = self._comment(ticket, payload, author_id)
            marker, step = carried_step(
                str(ticket.id),
                [comment[0]] if comment else [],
                [*payload.get("additional_tags", ()), *payload.get("tags", ())],
            )
            noop_tags = [t for t in payload.get("additional_tags", ()) if t in ticket.tags]
            for tag in noop_tags:
                self._journal(now, request, principal, ticket, "tag", tag, marker, step, False)
            for name in ("assignee_id", "group_id", "priority", "status"):
                if name in payload and name not in changes and payload[name] is not None:
                    kind = _KIND[name]
                    self._journal(
                        now, request, principal, ticket, kind, payload[name], marker, step, False
                    )
            if not changes and comment is None:
                return ticket, None
            recent.append(now)
            audit = Audit(next(self._event_ids), ticket.id, now, author_id, via, [])
            if comment is not None:
                body, public, comment_author = comment
                note = Comment(
                    next(self._event_ids), audit.id, comment_author, body, public, now, via
                )
                audit.events.append(Event(next(self._event_ids), "Comment", comment=note))
                ticket.comments.append(note)
                kind = "public_comment" if public else "private_comment"
                self._journal(now, request, principal, ticket, kind, body, marker, step, True)
            for name in _FIELDS:
                if name not in changes:
                    continue
                old, new = changes[name]
                audit.events.append(Event(next(self._event_ids), "Change", name, new, old))
                setattr(ticket, name, list(new) if name == "tags" else new)
                if name == "tags":
                    for tag in [t for t in new if t not in old]:
                        self._journal(
                            now, request, principal, ticket, "tag", tag, marker, step, True
                        )
                    for tag in [t for t in old if t not in new]:
                        self._journal(
                            now, request, principal, ticket, "tag_removed", tag, marker, step, True
                        )
                else:
                    self._journal(
                        now, request, principal, ticket, _KIND[name], new, marker, step, True
                    )
            ticket.audits.append(audit)
            ticket.updated = ticket.generated = now
            return ticket, audit

    def _journal(
        self,
        now: float,
        request: int | None,
        principal: str,
        ticket: Ticket,
        kind: str,
        value: Any,
        marker: str,
        step: str,
        changed: bool,
    ) -> None:
        self.journal.record_write(
            at=now,
            request=request,
            principal=principal,
            ticket=str(ticket.id),
            kind=kind,
            value="" if value is None else str(value),
            marker=marker,
            step=step,
            changed=changed,
        )

    @staticmethod
    def _check_stamp(ticket: Ticket, payload: Mapping[str, Any]) -> None:
        stamp = payload.get("updated_stamp")
        if "safe_update" not in payload or stamp is None:
            return
        try:
            fresh = int(parse_iso(str(stamp))) == int(ticket.updated)
        except ValueError as exc:
            raise invalid("updated_stamp", "is not a valid date") from exc
        if not fresh:
            # The body text is not documented; the 409 is (spec Tags "Safe Update") [verify].
            raise ZendeskError(
                409,
                {
                    "error": "UpdateConflict",
                    "description": "Safe Update prevented the update due to outdated ticket "
                    "data. Please fetch the latest ticket data and try again.",
                },
            )

    def _comment(
        self, ticket: Ticket, payload: Mapping[str, Any], author_id: int
    ) -> tuple[str, bool, int] | None:
        raw = payload.get("comment")
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise invalid("comment", "must be an object")
        body = raw.get("body") or raw.get("html_body") or ""
        if not str(body).strip():
            raise invalid("comment", "Comment: value is blank")
        public = raw.get("public", ticket.is_public)
        author = int(raw.get("author_id", author_id))
        return str(body), bool(public), author

    def _changes(self, ticket: Ticket, payload: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
        """Validate every field first, so an invalid update changes nothing."""
        changes: dict[str, tuple[Any, Any]] = {}
        status = payload.get("status")
        custom = payload.get("custom_status_id")
        if custom is not None:
            found = self.statuses.get(int(custom))
            if found is None or not found.active:
                raise invalid("custom_status_id", "is not a valid custom ticket status")
            status = status or found.category
            if (status == "closed" and found.category != "solved") or (
                status != "closed" and status != found.category
            ):
                raise invalid("status", "does not match the custom status category")
            custom = found.id
        if status is not None:
            if status not in STATUSES:
                raise invalid("status", f"{status} is not a valid status")
            if status == "new" and ticket.status != "new":
                raise invalid("status", "Status: new is not valid for an updated ticket")
            if custom is None:
                same = status == ticket.status
                custom = ticket.custom_status_id if same else self.default_status(status)
        assignee = payload.get("assignee_id", ticket.assignee_id)
        if assignee is not None:
            user = self.users.get(int(assignee))
            if user is None or user.role == "end-user":
                raise invalid("assignee_id", "is not an agent")
            assignee = user.id
            if ticket.status == "new" and status is None and assignee != ticket.assignee_id:
                status, custom = "open", self.default_status("open")
        if "priority" in payload and payload["priority"] not in (*PRIORITIES, None):
            raise invalid("priority", f"{payload['priority']} is not a valid priority")
        group = payload.get("group_id", ticket.group_id)
        if group is not None and int(group) not in self.groups:
            raise invalid("group_id", "is not a valid group")
        new_values = {
            "status": status if status is not None else ticket.status,
            "custom_status_id": custom if custom is not None else ticket.custom_status_id,
            "priority": payload.get("priority", ticket.priority),
            "assignee_id": assignee,
            "group_id": int(group) if group is not None else None,
            "tags": self._tags(ticket, payload),
        }
        for name, new in new_values.items():
            old = getattr(ticket, name)
            if new != old:
                changes[name] = (list(old) if name == "tags" else old, new)
        return changes

    @staticmethod
    def _tags(ticket: Ticket, payload: Mapping[str, Any]) -> list[str]:
        tags = list(payload["tags"]) if "tags" in payload else list(ticket.tags)
        for tag in payload.get("additional_tags", ()):
            if tag not in tags:
                tags.append(str(tag))
        removed = set(payload.get("remove_tags", ()))
        return [t for t in dict.fromkeys(tags) if t not in removed]

    def delete(self, ticket_id: int, *, request: int | None = None, principal: str = "") -> None:
        """Soft-delete: reads answer 404, the export shows the ticket as deleted."""
        with self.lock:
            ticket = self.live(ticket_id)
            now = self.clock()
            ticket.deleted_at = ticket.generated = now
            self._journal(now, request, principal, ticket, "status", "deleted", "", "", True)

    def mark_spam(self, ticket_id: int, *, request: int | None = None, principal: str = "") -> None:
        """Delete the ticket and suspend its requester (an end user; not a closed ticket)."""
        with self.lock:
            ticket = self.live(ticket_id)
            requester = self.users[ticket.requester_id]
            if ticket.status == "closed" or requester.role != "end-user":
                raise invalid("ticket", "cannot be marked as spam")
            self.delete(ticket_id, request=request, principal=principal)
            requester.suspended = True

    def merge(
        self,
        target_id: int,
        source_ids: Iterable[int],
        *,
        author_id: int,
        target_comment: str | None = None,
        source_comment: str | None = None,
        target_public: bool = False,
        source_public: bool = False,
        request: int | None = None,
        principal: str = "",
    ) -> None:
        with self.lock:
            target = self.live(target_id)
            sources = [self.live(s) for s in source_ids]
            if not sources or target.status == "closed" or target in sources:
                raise invalid("ids", "tickets cannot be merged")
            for source in sources:
                into = f'request #{target.id} "{target.subject}"'
                text = source_comment or f"This request was closed and merged into {into}."

                self.update(
                    source.id,
                    {
                        "comment": {"body": text, "public": source_public},
                        "status": "closed",
                        "additional_tags": ["closed_by_merge"],
                    },
                    author_id=author_id,
                    via="merge",
                    request=request,
                    principal=principal,
                )
                source.merged_into = target.id
                merged = f'Request #{source.id} "{source.subject}"'
                text = target_comment or f"{merged} was closed and merged into this request."

                self.update(
                    target.id,
                    {"comment": {"body": text, "public": target_public}},
                    author_id=author_id,
                    via="merge",
                    request=request,
                    principal=principal,
                )
