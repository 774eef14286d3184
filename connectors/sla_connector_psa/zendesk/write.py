"""Zendesk write-back: one ``PUT /api/v2/tickets/{id}`` per escalation, never sent twice blindly.

An action set (``reassign``, ``set_priority``, ``note``, ``tag``; the names of the escalation
actions in the config) becomes one ticket update::

    {"ticket": {"assignee_id": 123, "priority": "urgent",
                "comment": {"body": "...", "public": false},
                "additional_tags": ["sla_breach"]}}

Every action is resolved before anything is sent (a person to a user id through config
``users`` or a user search by email, a tier through ``priority_map``), so a set that cannot be
written entirely writes nothing and says why. A Zendesk update is atomic; after an ambiguous
failure (timeout after sending, 5xx) the ticket is re-read: a private comment with the note's
text newer than the attempt, or else all fields already as requested, means it landed.
Otherwise it is sent once more.

Every update is a safe update: ``"safe_update": true`` with the ``updated_stamp`` of the
ticket the runtime verified (its ``updated_at``), so Zendesk answers 409 when a person changed
the ticket since (spec Tags "Safe Update"; psa-apis.md section 3.5, "Collisions"). The 409
is raised as ``WriteConflictError``: nothing was written, and the runtime re-reads,
re-verifies and writes again once. A 404 (the ticket was deleted) raises
``TicketGoneError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sla_connector.core.errors import (
    ConnectorError,
    TicketError,
    TicketGoneError,
    WriteConflictError,
)
from sla_connector.core.ports import WRITE_ACTIONS, WriteResult
from sla_connector.core.ticket import Ticket, parse_instant
from sla_connector_psa.http import AmbiguousWriteError, NotFoundError
from sla_connector_psa.writes import send_once

if TYPE_CHECKING:
    from sla_connector_psa.zendesk.connector import ZendeskConnector

__all__ = ["UpdatePlan", "WriteBack"]

_NOTE_CLOCK_SKEW = timedelta(minutes=5)  # our clock vs Zendesk's when matching a note


@dataclass(frozen=True, slots=True)
class UpdatePlan:
    """The ticket fields one action set writes, or the reasons it cannot be written."""

    fields: Mapping[str, Any] = field(default_factory=dict)
    note: str | None = None
    problems: tuple[str, ...] = ()
    updated_stamp: str | None = None  # the ticket's updated_at when it was verified

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body of the PUT (a safe update when the verified stamp is known)."""
        ticket: dict[str, Any] = dict(self.fields)
        if self.note is not None:
            ticket["comment"] = {"body": self.note, "public": False}
        if self.updated_stamp:
            ticket["safe_update"] = True
            ticket["updated_stamp"] = self.updated_stamp
        return {"ticket": ticket}

    def describe(self) -> str:
        """What the update changes, for logs and ``WriteResult.detail``."""
        parts = [f"{key}={value}" for key, value in self.fields.items()]
        if self.note is not None:
            parts.append("internal note")
        return ", ".join(parts) or "nothing"


def _normal_tag(tag: str) -> str:
    """Zendesk tags are lower case without spaces (a space would split the tag in two)."""
    return "_".join(tag.strip().lower().split())


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


class WriteBack:
    """Builds and sends ticket updates for one connector."""

    def __init__(self, connector: ZendeskConnector) -> None:
        self._c = connector
        self._by_email: dict[str, int] = {}

    async def _user_for_email(self, email: str) -> int | None:
        key = email.strip().lower()
        if key not in self._by_email:
            data = await self._c.get_json("/api/v2/users/search", {"query": key})
            users = data.get("users") if isinstance(data, Mapping) else None
            for user in users if isinstance(users, list) else ():
                if (
                    isinstance(user, Mapping)
                    and str(user.get("email") or "").lower() == key
                    and user.get("role") in ("agent", "admin")
                    and isinstance(user.get("id"), int)
                ):
                    self._by_email[key] = user["id"]
                    break
        return self._by_email.get(key)

    async def _assignment(self, target: str) -> tuple[str, int] | str:
        """``("assignee_id", id)`` or ``("group_id", id)``, else a problem to report."""
        settings = self._c.settings
        text = target.strip()
        group = None
        if text.lower().startswith("group:"):
            group = text[6:].strip()
        elif text in settings.groups:
            group = text
        if group is not None:
            group_id = settings.groups.get(group, group)
            if group_id.isdigit():
                return "group_id", int(group_id)
            return f"no Zendesk group id for {group!r}: map it in connectors.{settings.name}.groups"
        mapped = settings.users.get(text, text).strip()
        if mapped.isdigit():
            return "assignee_id", int(mapped)
        if "@" in mapped:
            user_id = await self._user_for_email(mapped)
            if user_id is not None:
                return "assignee_id", user_id
            return (
                f"no Zendesk agent with email {mapped!r} (for {target!r}); map the person "
                f"to a user id in connectors.{settings.name}.users"
            )
        return (
            f"no Zendesk user or group for {target!r}: map it in "
            f"connectors.{settings.name}.users (person -> user id) or groups"
        )

    async def plan(self, actions: Iterable[tuple[str, str]]) -> UpdatePlan:
        """Resolve an action set into one update (nothing is sent)."""
        fields: dict[str, Any] = {}
        notes: list[str] = []
        tags: list[str] = []
        problems: list[str] = []
        settings = self._c.settings
        for name, argument in actions:
            if name == "reassign":
                resolved = await self._assignment(argument)
                if isinstance(resolved, str):
                    problems.append(resolved)
                else:
                    fields[resolved[0]] = resolved[1]
            elif name == "set_priority":
                priority = settings.priority_map.get(argument)
                if priority is None:
                    problems.append(
                        f"no Zendesk priority for tier {argument!r}: add it to "
                        f"connectors.{settings.name}.priority_map"
                    )
                else:
                    fields["priority"] = priority
            elif name == "note":
                notes.append(argument)
            elif name == "tag":
                tag = _normal_tag(argument)
                if tag and tag not in tags:
                    tags.append(tag)
            else:
                known = ", ".join(WRITE_ACTIONS)
                problems.append(f"unknown write-back action {name!r} (one of {known})")
        if tags:
            fields["additional_tags"] = tags
        note = "\n\n".join(notes) if notes else None
        return UpdatePlan(fields=fields, note=note, problems=tuple(problems))

    async def apply(self, ticket: Ticket, actions: Iterable[tuple[str, str]]) -> WriteResult:
        """Send the action set as one update; re-read instead of blindly repeating it."""
        plan = await self.plan(actions)
        stamp = ticket.extra.get("updated_at")
        if isinstance(stamp, str) and stamp:
            plan = replace(plan, updated_stamp=stamp)
        if plan.problems:
            problems = "; ".join(plan.problems)
            return WriteResult(False, f"ticket {ticket.id}: not written: {problems}")
        if not plan.fields and plan.note is None:
            return WriteResult(True, f"ticket {ticket.id}: nothing to write")
        if not ticket.id.isdigit():
            return WriteResult(False, f"ticket {ticket.id!r} is not a Zendesk ticket id")
        path = f"/api/v2/tickets/{ticket.id}"
        started = self._c.clock.now()

        async def send() -> WriteResult:
            return self._result(ticket, plan, await self._c.send("PUT", path, plan.body))

        async def reread() -> Mapping[str, Any] | None:
            landed = await self._landed(ticket.id, plan, started)
            return {"ticket_id": int(ticket.id)} if landed else None

        def refused(exc: ConnectorError) -> WriteResult:
            return WriteResult(False, f"ticket {ticket.id}: Zendesk rejected the update: {exc}")

        where = f"connector {self._c.name}: ticket {ticket.id} update"
        try:
            return await send_once(send, reread, refused, where=where)
        except WriteConflictError as exc:
            raise WriteConflictError(
                f"ticket {ticket.id}: changed since {plan.updated_stamp} (safe update refused): "
                f"{exc}",
                ticket_id=ticket.id,
                url=exc.url,
            ) from None
        except NotFoundError:
            raise TicketGoneError(ticket.id, "deleted", "404 on update") from None
        except AmbiguousWriteError as exc:
            return WriteResult(
                False,
                f"ticket {ticket.id}: update not confirmed after two ambiguous failures: {exc}",
            )

    def _result(self, ticket: Ticket, plan: UpdatePlan, data: Any) -> WriteResult:
        audit = data.get("audit") if isinstance(data, Mapping) else None
        response: dict[str, Any] = {"ticket_id": int(ticket.id)}
        if isinstance(audit, Mapping):
            if isinstance(audit.get("id"), int):
                response["audit_id"] = audit["id"]
            if isinstance(audit.get("author_id"), int):
                self._c.learn_self_id(audit["author_id"])
        return WriteResult(True, f"ticket {ticket.id} updated: {plan.describe()}", response)

    async def _landed(self, ticket_id: str, plan: UpdatePlan, started: datetime) -> bool:
        """Whether an ambiguous update is visible on the ticket now."""
        if plan.note is not None:
            return await self._note_present(ticket_id, plan.note, started)
        raw = await self._c.read_ticket(ticket_id)
        for key, wanted in plan.fields.items():
            if key == "additional_tags":
                if not set(wanted) <= {str(tag) for tag in raw.get("tags") or ()}:
                    return False
            elif raw.get(key) != wanted:
                return False
        return True

    async def _note_present(self, ticket_id: str, note: str, started: datetime) -> bool:
        data = await self._c.get_json(
            f"/api/v2/tickets/{ticket_id}/comments", {"sort_order": "desc"}
        )
        comments = data.get("comments") if isinstance(data, Mapping) else None
        for comment in comments if isinstance(comments, list) else ():
            if not isinstance(comment, Mapping) or comment.get("public") is not False:
                continue
            try:
                created = parse_instant(comment.get("created_at"), "comment created_at")
            except TicketError:
                continue
            if created < started - _NOTE_CLOCK_SKEW:
                continue
            body = str(comment.get("plain_body") or comment.get("body") or "")
            if _same_text(body, note) or _same_text(str(comment.get("body") or ""), note):
                return True
        return False
