"""A stateful Zendesk Support twin built from Zendesk's documentation and OpenAPI spec.

``ZendeskTwin`` holds one account (users, organizations, groups, custom statuses,
tickets with audits and comments), serves its REST API on loopback and journals every
request and write. A test or a soak scenario changes the account through Python methods
(create a ticket, a customer's or an agent's comment, a status change, delete, merge)
while a separate process talks HTTP to it. Which behaviour comes from which page or spec
path is said in each module (``model``, ``exports``, ``auth``, ``routes``, ``render``) and
summarised in docs/testing.md.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tests.twins.asgi import ServedTwin
from tests.twins.clock import Clock, system_clock
from tests.twins.faults import FaultPlan
from tests.twins.journal import Journal
from tests.twins.zendesk.auth import Authenticator
from tests.twins.zendesk.model import ZendeskState
from tests.twins.zendesk.render import render_ticket
from tests.twins.zendesk.routes import ZendeskApp, zendesk_fault_response

__all__ = ["Account", "ZendeskTwin"]


@dataclass(frozen=True)
class Account:
    """The people a fresh twin starts with (ids are the twin's)."""

    api_user: int  # the admin the integration authenticates as
    agents: dict[str, int]  # email -> id
    organization: int
    customers: list[int]
    api_email: str
    api_token: str


def _identify(scope: Any) -> str:
    """A label for the journal before the app authenticates (never the secret itself)."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, rest = str(value.decode("latin-1")).partition(" ")
            if scheme.lower() == "basic":
                try:
                    return "token:" + base64.b64decode(rest).decode().partition("/")[0]
                except ValueError:
                    return "basic:?"
            return str(scheme.lower())
    return "anonymous"


class ZendeskTwin(ServedTwin):
    """One Zendesk account on loopback; every method is safe while the server runs."""

    vendor = "Zendesk"

    def __init__(
        self,
        *,
        clock: Clock = system_clock,
        export_lag: float = 60.0,
        account_limit: int = 200,
        incremental_limit: int = 10,
        export_page_size: int = 1000,
        token_lifetime: float = 1800.0,
        max_token_lifetime: float | None = None,
        seed: int = 0,
    ) -> None:
        self.clock = clock
        self.journal = Journal()
        self.faults = FaultPlan(seed=seed)
        self.state = ZendeskState(clock, self.journal)
        self.auth = Authenticator(
            self.state, clock, token_lifetime=token_lifetime, max_token_lifetime=max_token_lifetime
        )
        self.app = ZendeskApp(
            self.state,
            self.auth,
            clock,
            account_limit=account_limit,
            incremental_limit=incremental_limit,
            export_lag=export_lag,
            export_page_size=export_page_size,
        )
        self.wrap(self.app, clock=clock, identify=_identify, fault_response=zendesk_fault_response)
        self.account = self._seed_account()

    def _seed_account(self) -> Account:
        state = self.state
        org = state.add_organization("Globex")
        api_email = "sla-bot@msp.example"
        api_user = state.add_user("SLA bot", api_email, "admin")
        agents = {
            email: state.add_user(name, email, "agent")
            for name, email in (
                ("Dana Lee", "dana@msp.example"),
                ("Terry Fox", "terry@msp.example"),
                ("Sam Ng", "sam@msp.example"),
            )
        }
        customers = [
            state.add_user(f"Customer {n}", f"customer{n}@globex.example", "end-user", org)
            for n in range(1, 4)
        ]
        return Account(api_user, agents, org, customers, api_email, self.auth.issue_api_token())

    # -- serving ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.root_url

    def basic_auth(self, email: str | None = None) -> tuple[str, str]:
        """httpx ``auth=`` for the API user's legacy token."""
        return (f"{email or self.account.api_email}/token", self.account.api_token)

    # -- the scenario's people --------------------------------------------------------

    def create_ticket(
        self,
        subject: str,
        description: str = "",
        *,
        requester: int | None = None,
        priority: str | None = None,
        status: str = "new",
        via: str = "web",
        tags: Iterable[str] = (),
    ) -> int:
        return self.state.create_ticket(
            subject=subject,
            description=description or subject,
            requester_id=requester or self.account.customers[0],
            priority=priority,
            status=status,
            via=via,
            tags=tags,
        )

    def _as(self, who: int, ticket_id: int, payload: dict[str, Any]) -> None:
        user = self.state.users[who]
        via = "email" if user.role == "end-user" else "web"
        self.state.update(
            ticket_id, payload, author_id=who, via=via, principal=f"person:{user.email}"
        )

    def customer_comment(self, ticket_id: int, body: str, *, customer: int | None = None) -> None:
        """An end user's reply (public, by email)."""
        who = customer or self.state.tickets[ticket_id].requester_id
        self._as(who, ticket_id, {"comment": {"body": body, "public": True}})

    def agent_comment(
        self, ticket_id: int, body: str, *, agent: str = "sam@msp.example", public: bool = True
    ) -> None:
        """An agent's public reply (``public=False``: an internal note)."""
        self._as(
            self.account.agents[agent], ticket_id, {"comment": {"body": body, "public": public}}
        )

    def set_status(
        self,
        ticket_id: int,
        status: str | None = None,
        *,
        custom_status_id: int | None = None,
        agent: str = "sam@msp.example",
    ) -> None:
        payload: dict[str, Any] = {}
        if status is not None:
            payload["status"] = status
        if custom_status_id is not None:
            payload["custom_status_id"] = custom_status_id
        self._as(self.account.agents[agent], ticket_id, payload)

    def update_as_agent(
        self, ticket_id: int, payload: dict[str, Any], *, agent: str = "sam@msp.example"
    ) -> None:
        """Any other change a person makes in the agent workspace (priority, assignee...)."""
        self._as(self.account.agents[agent], ticket_id, payload)

    def delete_ticket(self, ticket_id: int) -> None:
        self.state.delete(ticket_id, principal="person:sam@msp.example")

    def mark_spam(self, ticket_id: int) -> None:
        """An agent's "Mark as spam": the ticket is deleted, its requester suspended."""
        self.state.mark_spam(ticket_id, principal="person:sam@msp.example")

    def merge_tickets(self, target: int, sources: Iterable[int]) -> None:
        self.state.merge(
            target,
            list(sources),
            author_id=self.account.agents["sam@msp.example"],
            principal="person:sam@msp.example",
        )

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        """The ticket as ``GET /api/v2/tickets/{id}`` would show it (deleted ones too)."""
        with self.state.lock:
            return render_ticket(self.state.tickets[ticket_id], "http://twin")
