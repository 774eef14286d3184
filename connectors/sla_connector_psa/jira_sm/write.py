"""Jira Service Management write-back: assignee, priority, internal notes, labels.

Assignee by account id (``PUT /rest/api/3/issue/{key}/assignee``; an e-mail is resolved
through ``/rest/api/3/user/search`` and cached), priority and labels through
``PUT /rest/api/3/issue/{key}`` (``update.labels add`` keeps the other labels), internal
notes through the servicedeskapi (``public: false``). A write already in force is not sent.
After an ambiguous failure ``writes.send_once`` re-reads the issue (or its comments) and
writes again only when the change provably did not land.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from sla_connector.core.errors import ConnectorError, TicketGoneError
from sla_connector.core.ports import WRITE_ACTIONS, WriteResult
from sla_connector.core.ticket import Ticket
from sla_connector_psa.http import MalformedResponseError, NotFoundError, PsaHttp
from sla_connector_psa.jira_sm.history import Get, all_jsm_comments, issue_path, request_path
from sla_connector_psa.jira_sm.settings import JiraSettings
from sla_connector_psa.writes import send_once

__all__ = ["JiraWriter", "Send", "label_of"]

Send = Callable[[str, str, Any], Awaitable[httpx.Response]]
"""A write (method, path, JSON body) through the connector's HTTP layer."""


def _value(fields: Mapping[str, Any], name: str, attr: str) -> str:
    """``fields[name][attr]`` as text ("" when absent): a re-read field's value."""
    found = fields.get(name)
    return str(found.get(attr) or "") if isinstance(found, Mapping) else ""


def label_of(tag: str) -> str:
    """Jira labels cannot hold whitespace; ``sla breached`` becomes ``sla_breached``."""
    return re.sub(r"\s+", "_", tag.strip())


class JiraWriter:
    """The four write-back actions of one Jira Service Management connector."""

    def __init__(self, settings: JiraSettings, get: Get, send: Send) -> None:
        self.name = settings.name
        self.settings = settings
        self._get = get
        self._send = send
        self._accounts: dict[str, str] = {}

    async def _current(self, key: str, field: str) -> Any:
        issue = await self._get(issue_path(key), {"fields": [field]})
        fields = issue.get("fields") if isinstance(issue, Mapping) else None
        return fields.get(field) if isinstance(fields, Mapping) else None

    async def _write(
        self,
        method: str,
        path: str,
        body: Any,
        landed: Callable[[], Awaitable[bool]],
        what: str,
        *,
        key: str,
    ) -> WriteResult:
        """Send; after an ambiguous failure re-read, and write again only if it did not land."""

        async def send() -> WriteResult:
            response = await self._send(method, path, body)
            try:
                decoded = PsaHttp.decode(response)
            except MalformedResponseError:  # it landed; an unreadable echo must not resend
                decoded = None
            return WriteResult(
                ok=True, detail=what, response=decoded if isinstance(decoded, Mapping) else {}
            )

        async def reread() -> Mapping[str, Any] | None:
            return {} if await landed() else None

        def refused(exc: ConnectorError) -> WriteResult:
            return WriteResult(ok=False, detail=f"{what} rejected: {exc}")

        try:
            return await send_once(send, reread, refused, where=f"connector {self.name}: {what}")
        except NotFoundError:  # this issue is gone; the connector is fine
            key = path.rsplit("/", maxsplit=1)[-1] if "/issue/" in path else path.split("/")[-2]
            raise TicketGoneError(key, "deleted", f"404 on {what}") from None

    async def _account_for(self, person: str) -> str | None:
        """A Jira account id for a person: ``users`` (email or id), else the person's email."""
        folded = {k.casefold(): v for k, v in self.settings.users.items()}
        target = self.settings.users.get(person) or folded.get(person.casefold())
        if target is None:
            target = person if "@" in person else None
        if target is None:
            return None
        if "@" not in target:
            return target
        cached = self._accounts.get(target.casefold())
        if cached is not None:
            return cached
        found = await self._get("/rest/api/3/user/search", {"query": target})
        users = (
            [
                u
                for u in found
                if isinstance(u, Mapping)
                and isinstance(u.get("accountId"), str)
                and u.get("active") is not False
            ]
            if isinstance(found, list)
            else []
        )
        exact = [
            u for u in users if str(u.get("emailAddress") or "").casefold() == target.casefold()
        ]
        chosen = exact or (users if len(users) == 1 else [])  # e-mail hidden by privacy
        if len(chosen) != 1:
            return None
        account = str(chosen[0]["accountId"])
        self._accounts[target.casefold()] = account
        return account

    async def assign(self, ticket: Ticket, person_or_group: str) -> WriteResult:
        """Assign to the person's Jira account (Jira cannot assign an issue to a group)."""
        account = await self._account_for(person_or_group)
        if account is None:
            return WriteResult(
                ok=False,
                detail=(
                    f"no Jira account for {person_or_group!r}: map it in connectors.{self.name}"
                    ".users to an e-mail or accountId"
                ),
            )
        if ticket.extra.get("assignee_account_id") == account:
            return WriteResult(ok=True, detail=f"already assigned to {account}")

        async def landed() -> bool:
            current = await self._current(ticket.id, "assignee")
            return isinstance(current, Mapping) and current.get("accountId") == account

        return await self._write(
            "PUT",
            issue_path(ticket.id, "/assignee"),
            {"accountId": account},
            landed,
            f"assigned to {account}",
            key=ticket.id,
        )

    async def set_priority(self, ticket: Ticket, tier: str) -> WriteResult:
        """Set the Jira priority mapped from ``tier`` by ``priority_map``."""
        name = self.settings.priority_map.get(tier)
        if name is None:
            return WriteResult(
                ok=False,
                detail=(
                    f"tier {tier!r} has no Jira priority in connectors.{self.name}.priority_map"
                ),
            )
        if ticket.source_priority.casefold() == name.casefold():
            return WriteResult(ok=True, detail=f"priority already {name}")

        async def landed() -> bool:
            current = await self._current(ticket.id, "priority")
            return (
                isinstance(current, Mapping)
                and str(current.get("name", "")).casefold() == name.casefold()
            )

        return await self._write(
            "PUT",
            issue_path(ticket.id),
            {"fields": {"priority": {"name": name}}},
            landed,
            f"priority set to {name}",
            key=ticket.id,
        )

    async def add_internal_note(self, ticket: Ticket, text: str) -> WriteResult:
        """An internal (agent-only) JSM comment."""

        async def landed() -> bool:
            comments = await all_jsm_comments(self._get, ticket.id)
            return any(
                c.get("public") is False and str(c.get("body", "")).strip() == text.strip()
                for c in comments
            )

        return await self._write(
            "POST",
            request_path(ticket.id, "/comment"),
            {"body": text, "public": False},
            landed,
            "internal note added",
            key=ticket.id,
        )

    async def add_tag(self, ticket: Ticket, tag: str) -> WriteResult:
        """Add a label (``update.labels add`` keeps the others; ``fields.labels`` would not)."""
        label = label_of(tag)
        if not label:
            return WriteResult(ok=False, detail="empty tag")
        if label in ticket.tags:
            return WriteResult(ok=True, detail=f"label {label} already present")

        async def landed() -> bool:
            current = await self._current(ticket.id, "labels")
            return isinstance(current, list) and label in current

        return await self._write(
            "PUT",
            issue_path(ticket.id),
            {"update": {"labels": [{"add": label}]}},
            landed,
            f"label {label} added",
            key=ticket.id,
        )

    async def apply(self, ticket: Ticket, actions: list[tuple[str, str]]) -> WriteResult:
        """A whole step: one issue edit for assignee, priority and labels, one comment for
        the note; nothing is sent when an action cannot be resolved."""
        fields: dict[str, Any] = {}
        labels: list[str] = []
        notes: list[str] = []
        problems: list[str] = []
        for action, value in actions:
            if action == "reassign":
                account = await self._account_for(value)
                if account is None:
                    problems.append(f"no Jira account for {value!r}: map it in users")
                elif ticket.extra.get("assignee_account_id") != account:
                    fields["assignee"] = {"accountId": account}
            elif action == "set_priority":
                name = self.settings.priority_map.get(value)
                if name is None:
                    problems.append(f"tier {value!r} has no Jira priority in priority_map")
                elif ticket.source_priority.casefold() != name.casefold():
                    fields["priority"] = {"name": name}
            elif action == "tag":
                label = label_of(value)
                if label and label not in ticket.tags and label not in labels:
                    labels.append(label)
            elif action == "note":
                notes.append(value)
            else:
                problems.append(f"unknown action {action!r} (one of {', '.join(WRITE_ACTIONS)})")
        if problems:
            return WriteResult(
                ok=False, detail=f"issue {ticket.id}: not written: {'; '.join(problems)}"
            )
        done: list[str] = []
        if fields or labels:
            result = await self._edit(ticket, fields, labels)
            if not result.ok:
                return result
            done.append(result.detail)
        if notes:
            result = await self.add_internal_note(ticket, "\n\n".join(notes))
            if not result.ok:
                return result
            done.append(result.detail)
        return WriteResult(ok=True, detail="; ".join(done) or "nothing to write")

    async def _edit(self, ticket: Ticket, fields: dict[str, Any], labels: list[str]) -> WriteResult:
        body: dict[str, Any] = {}
        if fields:
            body["fields"] = fields
        if labels:
            body["update"] = {"labels": [{"add": label} for label in labels]}

        async def landed() -> bool:
            wanted = ["assignee", "priority", "labels"]
            issue = await self._get(issue_path(ticket.id), {"fields": wanted})
            now = issue.get("fields") if isinstance(issue, Mapping) else None
            if not isinstance(now, Mapping):
                return False
            account = fields.get("assignee", {}).get("accountId")
            priority = str(fields.get("priority", {}).get("name", ""))
            return (
                (account is None or _value(now, "assignee", "accountId") == account)
                and (
                    not priority
                    or _value(now, "priority", "name").casefold() == priority.casefold()
                )
                and all(label in (now.get("labels") or ()) for label in labels)
            )

        what = ", ".join(
            [f"{k} set" for k in fields] + [f"label {label} added" for label in labels]
        )
        return await self._write("PUT", issue_path(ticket.id), body, landed, what, key=ticket.id)
