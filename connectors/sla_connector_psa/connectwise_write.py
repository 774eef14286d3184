"""ConnectWise write-back: owner and priority by JSON-Patch, internal notes, tags as notes.

Split from ``connectwise`` (which documents the choices); the connector delegates to
``CwWriter``. Every write that fails ambiguously (the request was sent, no answer came) is
checked by re-reading the ticket or its notes before it is sent a second time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from sla_connector.core.errors import RetriableConnectorError
from sla_connector.core.ports import WriteResult
from sla_connector.core.ticket import Ticket
from sla_connector_psa.connectwise_model import CwSettings, quote
from sla_connector_psa.http import AmbiguousWriteError, PsaHttp, RequestRejectedError

__all__ = ["HISTORY_PAGE", "TAG_PREFIX", "CwWriter", "read_all_pages"]

log = logging.getLogger("sla_connector_psa.connectwise")

TAG_PREFIX = "[sla-connector] tag: "
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


def _body(response: httpx.Response) -> Mapping[str, Any]:
    try:
        data = PsaHttp.decode(response)
    except RetriableConnectorError:
        return {}
    return data if isinstance(data, Mapping) else {}


class CwWriter:
    """The four write-back actions of one ConnectWise connector."""

    def __init__(self, settings: CwSettings, http: PsaHttp, headers: Mapping[str, str]) -> None:
        self.name = settings.name
        self.settings = settings
        self.http = http
        self._headers = dict(headers)
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
        if await self._has_note(ticket.id, line):
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
        for attempt in (1, 2):
            try:
                response = await self.http.send(
                    "PATCH", path, json=operations, headers=self._headers
                )
            except AmbiguousWriteError:
                current = await self.http.get_json(path, headers=self._headers)
                if landed(current):
                    return WriteResult(
                        ok=True,
                        detail="confirmed after ambiguous failure",
                        response=current if isinstance(current, Mapping) else {},
                    )
                if attempt == 2:
                    raise
                log.warning(
                    "connector %s: ticket %s: %s did not land; sending it again",
                    self.name,
                    ticket.id,
                    what,
                )
                continue
            except RequestRejectedError as exc:
                return WriteResult(ok=False, detail=f"ConnectWise rejected {what}: {exc}")
            return WriteResult(ok=True, detail=what, response=_body(response))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post_note(self, ticket: Ticket, text: str, what: str) -> WriteResult:
        path = f"service/tickets/{ticket.id}/notes"
        body = {
            "text": text,
            "detailDescriptionFlag": False,
            "internalAnalysisFlag": True,
            "resolutionFlag": False,
            "processNotifications": False,
        }
        for attempt in (1, 2):
            try:
                response = await self.http.send("POST", path, json=body, headers=self._headers)
            except AmbiguousWriteError:
                if await self._has_note(ticket.id, text):
                    return WriteResult(ok=True, detail="confirmed after ambiguous failure")
                if attempt == 2:
                    raise
                log.warning(
                    "connector %s: ticket %s: note did not land; sending it again",
                    self.name,
                    ticket.id,
                )
                continue
            except RequestRejectedError as exc:
                return WriteResult(ok=False, detail=f"ConnectWise rejected the note: {exc}")
            return WriteResult(ok=True, detail=what, response=_body(response))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _has_note(self, ticket_id: str, text: str) -> bool:
        notes = await read_all_pages(
            self.http, f"service/tickets/{ticket_id}/notes", {"orderBy": "id asc"}, self._headers
        )
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
