"""What the Zendesk connector knows about the account's people, organizations and statuses.

Users and organizations arrive as sideloads (``include=users,organizations``) and through
``/api/v2/users/show_many`` when a comment's author is not yet known; the role tells an
agent's reply from a customer's, ``suspended`` tells a ticket marked as spam from one that
was merely deleted (marking as spam deletes the ticket and suspends its requester:
support.zendesk.com article 4408842999066). Custom ticket statuses come from
``/api/v2/custom_statuses`` when a ticket shows one not yet known (``statuses``). The
directory builds the ``NormalizeContext`` every ticket is normalised with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sla_connector.core.errors import ConnectorError
from sla_connector.core.ports import Clock
from sla_connector_psa.values import optional_int
from sla_connector_psa.zendesk.normalize import SYSTEM_USER_ID, Audit, NormalizeContext
from sla_connector_psa.zendesk.settings import ZendeskSettings
from sla_connector_psa.zendesk.statuses import StatusNames, parse_custom_statuses

__all__ = ["SHOW_MANY_LIMIT", "STATUSES_PATH", "Directory"]

SHOW_MANY_LIMIT = 100
STATUSES_PATH = "/api/v2/custom_statuses"
_STATUS_REREAD = timedelta(minutes=1)

GetJson = Callable[[str, Mapping[str, Any] | None], Awaitable[Any]]


class Directory:
    """Users, organizations, custom statuses and this connector's own user id."""

    def __init__(
        self,
        settings: ZendeskSettings,
        clock: Clock,
        get_json: GetJson,
        report: Callable[[str, str], None],
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._get = get_json
        self._report = report
        self.roles: dict[int, str] = {}
        self.emails: dict[int, str] = {}
        self.suspended: set[int] = set()
        self.requesters: dict[int, int] = {}  # ticket id -> requester, to explain a 404 later
        self.org_names: dict[int, str] = {}
        self.self_id: int | None = None
        self.statuses = StatusNames(settings.status_names)
        self._statuses_read_at: datetime | None = None
        tiers: dict[str, str] = {}
        for tier, priority in settings.priority_map.items():
            tiers.setdefault(priority, tier)
        self._priority_tiers = tiers
        self._people = {user: person for person, user in settings.users.items() if user.isdigit()}

    def absorb(self, page: Mapping[str, Any]) -> None:
        """Remember user roles, emails, suspensions and organization names from sideloads."""
        for user in page.get("users") or ():
            if isinstance(user, Mapping) and (uid := optional_int(user.get("id"))) is not None:
                if isinstance(user.get("role"), str):
                    self.roles[uid] = user["role"]
                if isinstance(user.get("email"), str):
                    self.emails[uid] = user["email"].lower()
                if user.get("suspended") is True:
                    self.suspended.add(uid)
                else:
                    self.suspended.discard(uid)
        for org in page.get("organizations") or ():
            if (
                isinstance(org, Mapping)
                and (oid := optional_int(org.get("id"))) is not None
                and isinstance(org.get("name"), str)
            ):
                self.org_names[oid] = org["name"]

    async def self_user_id(self) -> int | None:
        """The API user's id, to tell this connector's own changes from a human's."""
        if self.self_id is None:
            data = await self._get("/api/v2/users/me", None)
            user = data.get("user") if isinstance(data, Mapping) else None
            if isinstance(user, Mapping):
                self.self_id = optional_int(user.get("id"))
        return self.self_id

    def learn_self_id(self, user_id: int | None) -> None:
        """A write's audit names its author: this connector's user."""
        if user_id is not None and self.self_id is None:
            self.self_id = user_id

    async def load_roles(self, user_ids: Iterable[int]) -> None:
        missing = sorted({u for u in user_ids if u not in self.roles and u != SYSTEM_USER_ID})
        for start in range(0, len(missing), SHOW_MANY_LIMIT):
            chunk = missing[start : start + SHOW_MANY_LIMIT]
            data = await self._get(
                "/api/v2/users/show_many", {"ids": ",".join(str(u) for u in chunk)}
            )
            if isinstance(data, Mapping):
                self.absorb(data)
            for uid in chunk:
                self.roles.setdefault(uid, "unknown")  # deleted users: ask only once

    async def load_statuses(self, raws: Iterable[Mapping[str, Any]]) -> None:
        """Read the custom statuses when a ticket shows one this process does not know
        (at most once a minute: a status deleted meanwhile is not asked for in a loop), and
        only when a label can matter: a restarted daemon otherwise spends a request on them
        in every life (issue 10, the 50-kill soak: 22 of 318 requests)."""
        if not self.statuses.labels_matter:
            return
        if not any(self.statuses.unknown(raw.get("custom_status_id")) for raw in raws):
            return
        now = self.clock.now()
        if self._statuses_read_at is not None and now - self._statuses_read_at < _STATUS_REREAD:
            return
        self._statuses_read_at = now
        self.statuses.learn(parse_custom_statuses(await self._get(STATUSES_PATH, None)))

    async def unmatched_statuses(self) -> list[str]:
        """Configured status names this account has neither as category nor custom status
        (the custom statuses are read only when a configured name is not a category)."""
        if self.statuses.unmatched():
            self.statuses.learn(parse_custom_statuses(await self._get(STATUSES_PATH, None)))
        return self.statuses.unmatched()

    async def deleted_reason(self, ticket_id: int) -> str:
        """``spam`` when the deleted ticket's requester (if known) is now suspended."""
        requester = self.requesters.get(ticket_id)
        if not requester:
            return "deleted"
        try:
            data = await self._get(f"/api/v2/users/{requester}", None)
        except ConnectorError:
            return "deleted"
        user = data.get("user") if isinstance(data, Mapping) else None
        return "spam" if isinstance(user, Mapping) and user.get("suspended") is True else "deleted"

    def context(self) -> NormalizeContext:
        wanted = self.settings.automation_users
        automation = {int(v) for v in wanted if v.lstrip("-").isdigit()}
        automation.update(uid for uid, email in self.emails.items() if email in wanted)
        return NormalizeContext(
            source=self.settings.name,
            client_map=self.settings.client_map,
            default_client=self.settings.default_client,
            priority_tiers=self._priority_tiers,
            people=self._people,
            user_roles=self.roles,
            org_names=self.org_names,
            automation_user_ids=frozenset(automation),
            self_user_id=self.self_id,
            report=self._report,
            status_name=self.statuses.name,
        )

    async def prepare(
        self, raws: Mapping[int, Mapping[str, Any]], histories: Mapping[int, tuple[Audit, ...]]
    ) -> None:
        """Look up what building these tickets needs: comment authors' roles, our own id."""
        authors: set[int] = set()
        human_priority_change = False
        for tid, history in histories.items():
            requester = optional_int(raws[tid].get("requester_id"))
            for audit in history:
                creating = audit.creates  # its comment is the description, never a reply
                for entry in audit.entries:
                    if (
                        entry.kind == "comment"
                        and entry.public
                        and not creating
                        and entry.author_id is not None
                        and entry.author_id != requester
                    ):
                        authors.add(entry.author_id)
                    if entry.kind == "change" and entry.field == "priority" and not entry.automatic:
                        human_priority_change = True
        await self.load_roles(authors)
        if human_priority_change:
            await self.self_user_id()
