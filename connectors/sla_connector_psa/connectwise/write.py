"""ConnectWise write-back: owner and priority by JSON-Patch, internal notes, tags as notes.

Owner: ``PATCH /service/tickets/{id}`` replacing ``owner`` with a member identifier (config
``users``, else looked up by ``primaryEmail``); priority: the same PATCH with the id of the
priority ``priority_map`` names. Notes: ``POST /service/tickets/{id}/notes`` with
``internalAnalysisFlag: true`` and ``processNotifications: false``. ConnectWise tickets have no
tags: a tag is written as an internal note ``[sla-connector] tag: <tag>``, once (the notes are
read first). Every write that fails ambiguously is settled by ``writes.send_once``: the
ticket or its notes are re-read before anything is sent a second time.

A PATCH's answer is the ticket, whose ``_info.updatedBy`` is the API member the keys belong to:
remembered, so this connector's own changes in the audit trail are never read back as a
person's. A 409 raises ``WriteConflictError`` (nothing was written); a 404 ``TicketGoneError``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from sla_connector.core.errors import ConnectorError, RetriableConnectorError, TicketGoneError
from sla_connector.core.ports import WriteResult
from sla_connector.core.ticket import Ticket
from sla_connector_psa.connectwise.cursor import quote
from sla_connector_psa.connectwise.history import HistoryReader
from sla_connector_psa.connectwise.normalize import TAG_PREFIX
from sla_connector_psa.connectwise.settings import CwSettings
from sla_connector_psa.http import NotFoundError, PsaHttp
from sla_connector_psa.writes import send_once

__all__ = ["CwWriter"]


def _body(response: httpx.Response) -> Mapping[str, Any]:
    try:
        data = PsaHttp.decode(response)
    except RetriableConnectorError:
        return {}
    return data if isinstance(data, Mapping) else {}


class CwWriter:
    """The four write-back actions of one ConnectWise connector."""

    def __init__(
        self,
        settings: CwSettings,
        http: PsaHttp,
        headers: Mapping[str, str],
        history: HistoryReader,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self.http = http
        self._headers = dict(headers)
        self._history = history
        self._priority_ids: dict[str, int] = {}
        self._members: dict[str, str] = {}

    async def assign(self, ticket: Ticket, person_or_group: str) -> WriteResult:
        """Make ``person_or_group`` (mapped through ``users``) the ticket's owner."""
        identifier = await self._member_identifier(person_or_group)
        if identifier is None:
            return WriteResult(
                ok=False,
                detail=(
                    f"no ConnectWise member for {person_or_group!r}: add it to "
                    f"connectors.{self.name}.users"
                ),
            )
        operations = [{"op": "replace", "path": "owner", "value": {"identifier": identifier}}]

        def landed(raw: Any) -> bool:
            owner = raw.get("owner") if isinstance(raw, Mapping) else None
            return (
                isinstance(owner, Mapping)
                and str(owner.get("identifier", "")).casefold() == identifier.casefold()
            )

        return await self._patch(ticket, operations, landed, f"owner set to {identifier}")

    async def set_priority(self, ticket: Ticket, tier: str) -> WriteResult:
        """Set the PSA priority that ``priority_map`` names for ``tier``."""
        name = self.settings.priority_map.get(tier)
        if name is None:
            return WriteResult(
                ok=False,
                detail=(f"tier {tier} has no priority in connectors.{self.name}.priority_map"),
            )
        priority_id = await self._priority_id(name)
        if priority_id is None:
            return WriteResult(ok=False, detail=f"no ConnectWise priority named {name!r}")
        operations = [{"op": "replace", "path": "priority/id", "value": priority_id}]

        def landed(raw: Any) -> bool:
            priority = raw.get("priority") if isinstance(raw, Mapping) else None
            return isinstance(priority, Mapping) and (
                priority.get("id") == priority_id
                or str(priority.get("name", "")).casefold() == name.casefold()
            )

        return await self._patch(ticket, operations, landed, f"priority set to {name}")

    async def add_internal_note(self, ticket: Ticket, text: str) -> WriteResult:
        """An internal-analysis note; no notification e-mail is sent."""
        return await self._post_note(ticket, text, "internal note added")

    async def add_tag(self, ticket: Ticket, tag: str) -> WriteResult:
        """A tag as an internal ``[sla-connector] tag: <tag>`` note, written once."""
        line = f"{TAG_PREFIX}{tag}"
        try:
            present = await self._has_note(ticket.id, line)
        except NotFoundError:
            raise TicketGoneError(ticket.id, "deleted", "404 reading its notes") from None
        if present:
            return WriteResult(ok=True, detail=f"tag {tag} already present")
        return await self._post_note(ticket, line, f"tag {tag} added")

    async def _patch(
        self,
        ticket: Ticket,
        operations: list[dict[str, Any]],
        landed: Callable[[Any], bool],
        what: str,
    ) -> WriteResult:
        path = f"service/tickets/{ticket.id}"

        async def send() -> WriteResult:
            response = await self.http.send("PATCH", path, json=operations, headers=self._headers)
            body = _body(response)
            info = body.get("_info")
            if isinstance(info, Mapping):
                self._history.learn_api_member(str(info.get("updatedBy") or ""))
            return WriteResult(ok=True, detail=what, response=body)

        async def reread() -> Mapping[str, Any] | None:
            current = await self.http.get_json(path, headers=self._headers)
            if not landed(current):
                return None
            return current if isinstance(current, Mapping) else {}

        return await self._send_once(ticket, send, reread, what)

    async def _post_note(self, ticket: Ticket, text: str, what: str) -> WriteResult:
        path = f"service/tickets/{ticket.id}/notes"
        body = {
            "text": text,
            "detailDescriptionFlag": False,
            "internalAnalysisFlag": True,
            "resolutionFlag": False,
            "processNotifications": False,
        }

        async def send() -> WriteResult:
            response = await self.http.send("POST", path, json=body, headers=self._headers)
            return WriteResult(ok=True, detail=what, response=_body(response))

        async def reread() -> Mapping[str, Any] | None:
            return {} if await self._has_note(ticket.id, text) else None

        return await self._send_once(ticket, send, reread, "the note")

    async def _send_once(
        self,
        ticket: Ticket,
        send: Callable[[], Awaitable[WriteResult]],
        reread: Callable[[], Awaitable[Mapping[str, Any] | None]],
        what: str,
    ) -> WriteResult:
        def refused(exc: ConnectorError) -> WriteResult:
            return WriteResult(ok=False, detail=f"ConnectWise rejected {what}: {exc}")

        where = f"connector {self.name}: ticket {ticket.id}: {what}"
        try:
            return await send_once(send, reread, refused, where=where)
        except NotFoundError:
            raise TicketGoneError(ticket.id, "deleted", f"404 writing {what}") from None

    async def _has_note(self, ticket_id: str, text: str) -> bool:
        notes = await self._history.notes(ticket_id)
        wanted = text.strip()
        return any(
            isinstance(n, Mapping) and str(n.get("text") or "").strip() == wanted for n in notes
        )

    async def _member_identifier(self, person: str) -> str | None:
        users = self.settings.users
        if person in users:
            return users[person]
        folded = {k.casefold(): v for k, v in users.items()}
        if person.casefold() in folded:
            return folded[person.casefold()]
        if "@" not in person:
            return person  # already a member identifier
        if person.casefold() in self._members:
            return self._members[person.casefold()]
        found = await self.http.get_json(
            "system/members",
            params={
                "conditions": f"primaryEmail = {quote(person)}",
                "fields": "id,identifier",
                "pageSize": 1,
            },
            headers=self._headers,
        )
        if (
            isinstance(found, list)
            and found
            and isinstance(found[0], Mapping)
            and found[0].get("identifier")
        ):
            identifier = str(found[0]["identifier"])
            self._members[person.casefold()] = identifier
            return identifier
        return None

    async def _priority_id(self, name: str) -> int | None:
        if name in self._priority_ids:
            return self._priority_ids[name]
        found = await self.http.get_json(
            "service/priorities",
            params={"conditions": f"name = {quote(name)}", "fields": "id,name", "pageSize": 1},
            headers=self._headers,
        )
        if (
            isinstance(found, list)
            and found
            and isinstance(found[0], Mapping)
            and isinstance(found[0].get("id"), int)
        ):
            self._priority_ids[name] = found[0]["id"]
            return self._priority_ids[name]
        return None
