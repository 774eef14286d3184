"""The soak's vendors: each twin, the connector entry pointing at it, the scenario's people.

A ``SoakVendor`` plays the scenario on one twin (a customer's ticket, an agent's public
reply, the customer writing again, a resolution, a delete) and returns the whole-second
instant the vendor recorded for each, which is what the expected write set is computed
from; it writes the daemon's connector entry and the environment holding the credentials,
and names the principal the daemon's writes arrive as and the write requests a kill "while a
write is held" waits for. ``VENDORS`` maps ``zendesk``, ``connectwise`` and ``jira_sm`` to
their builders.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from tests.twins.asgi import ServedTwin
from tests.twins.connectwise import ConnectWiseTwin
from tests.twins.jira_sm import JiraTwin
from tests.twins.zendesk import ZendeskTwin

__all__ = ["VENDORS", "SoakVendor", "vendor"]

PRIORITIES = {
    "zendesk": {"P1": "urgent", "P2": "high"},
    "connectwise": {"P1": "Priority 1 - Critical", "P2": "Priority 2 - High"},
    "jira_sm": {"P1": "Highest", "P2": "High"},
}
PEOPLE = ("dana@msp.example", "terry@msp.example")


def _second(stamp: float) -> float:
    return float(math.floor(stamp))


def _iso(text: str) -> float:
    return _second(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


class SoakVendor(Protocol):
    kind: str
    twin: ServedTwin
    integration: str  # the journal principal of the daemon's own writes
    write_path: str  # regex of the write requests a kill may catch in flight
    group_window: float  # a step written in several requests: how far apart they may be

    @property
    def p1_priority(self) -> str: ...

    def entry(self, poll_interval: str) -> dict[str, Any]: ...

    def env(self) -> dict[str, str]: ...

    def create(self, summary: str, tier: str, customer: int) -> tuple[str, float]: ...

    def act(self, ticket: str, kind: str) -> float: ...


@dataclass
class ZendeskSoak:
    twin: ZendeskTwin
    kind: str = "zendesk"
    write_path: str = r"^/api/v2/tickets/\d+(\.json)?$"
    group_window: float = 0.0

    @property
    def integration(self) -> str:
        return f"token:{self.twin.account.api_email}"

    @property
    def p1_priority(self) -> str:
        return PRIORITIES[self.kind]["P1"]

    def entry(self, poll_interval: str) -> dict[str, Any]:
        agents = self.twin.account.agents
        return {
            "type": "zendesk",
            "base_url": self.twin.base_url,
            "email_env": "SOAK_ZENDESK_EMAIL",
            "token_env": "SOAK_ZENDESK_TOKEN",
            "poll_interval": poll_interval,
            "paused_statuses": ["pending", "hold"],
            "resolved_statuses": ["solved", "closed"],
            "priority_map": PRIORITIES[self.kind],
            "client_map": {"Globex": "globex"},
            "users": {email: str(agents[email]) for email in PEOPLE},
        }

    def env(self) -> dict[str, str]:
        account = self.twin.account
        return {"SOAK_ZENDESK_EMAIL": account.api_email, "SOAK_ZENDESK_TOKEN": account.api_token}

    def create(self, summary: str, tier: str, customer: int) -> tuple[str, float]:
        twin = self.twin
        requester = twin.account.customers[customer % len(twin.account.customers)]
        ticket = twin.create_ticket(
            summary, requester=requester, priority=PRIORITIES[self.kind][tier]
        )
        return str(ticket), _second(twin.state.tickets[ticket].created)

    def act(self, ticket: str, kind: str) -> float:
        twin, tid = self.twin, int(ticket)
        perform: dict[str, Callable[[], None]] = {
            "agent_reply": lambda: twin.agent_comment(tid, "Looking into it now."),
            "customer_reply": lambda: twin.customer_comment(tid, "Any news? Still down."),
            "solve": lambda: twin.set_status(tid, "solved"),
            "delete": lambda: twin.delete_ticket(tid),
        }
        perform[kind]()
        record = twin.state.tickets[tid]
        if kind == "delete" and record.deleted_at is not None:
            return _second(record.deleted_at)
        return _second(record.audits[-1].created)


@dataclass
class ConnectWiseSoak:
    twin: ConnectWiseTwin
    kind: str = "connectwise"
    write_path: str = r"/service/tickets/\d+(/notes)?$"
    group_window: float = 15.0  # owner PATCH, note POST, tag note POST

    @property
    def integration(self) -> str:
        return f"api:{self.twin.account.api_member}"

    @property
    def p1_priority(self) -> str:
        return PRIORITIES[self.kind]["P1"]

    def entry(self, poll_interval: str) -> dict[str, Any]:
        account = self.twin.account
        return {
            "type": "connectwise",
            "base_url": self.twin.base_url,
            "company_id": account.company_id,
            "public_key_env": "SOAK_CW_PUBLIC",
            "private_key_env": "SOAK_CW_PRIVATE",
            "client_id_env": "SOAK_CW_CLIENT",
            "api_member": account.api_member,
            "poll_interval": poll_interval,
            "boards": ["Service Desk"],
            "paused_statuses": ["Waiting on Customer"],
            "resolved_statuses": ["Resolved", "Closed"],
            "priority_map": PRIORITIES[self.kind],
            "client_map": {"GLOBEX": "globex"},
            "users": {email: account.emails[email] for email in PEOPLE},
        }

    def env(self) -> dict[str, str]:
        account = self.twin.account
        return {
            "SOAK_CW_PUBLIC": account.public_key,
            "SOAK_CW_PRIVATE": account.private_key,
            "SOAK_CW_CLIENT": account.client_id,
        }

    def create(self, summary: str, tier: str, customer: int) -> tuple[str, float]:
        contacts = self.twin.account.contacts
        ticket = self.twin.create_ticket(
            summary,
            priority=PRIORITIES[self.kind][tier],
            contact=contacts[customer % len(contacts)],
        )
        return str(ticket), _iso(self.twin.ticket(ticket)["_info"]["dateEntered"])

    def act(self, ticket: str, kind: str) -> float:
        twin, tid = self.twin, int(ticket)
        if kind == "delete":
            twin.delete_ticket(tid)
            return _second(twin.clock())
        perform: dict[str, Callable[[], None]] = {
            "agent_reply": lambda: twin.member_reply(tid, "Looking into it now."),
            "customer_reply": lambda: twin.customer_reply(tid, "Any news? Still down."),
            "solve": lambda: twin.set_status(tid, "Resolved"),
        }
        perform[kind]()
        return _iso(twin.ticket(tid)["_info"]["lastUpdated"])


@dataclass
class JiraSoak:
    twin: JiraTwin
    kind: str = "jira_sm"
    write_path: str = r"/rest/(api/3/issue/[^/]+|servicedeskapi/request/[^/]+/comment)$"
    group_window: float = 15.0  # one issue edit, one internal comment
    accounts: dict[str, str] = field(default_factory=dict)

    @property
    def integration(self) -> str:
        return f"oauth:{self.twin.account.service_account}"

    @property
    def p1_priority(self) -> str:
        return PRIORITIES[self.kind]["P1"]

    def entry(self, poll_interval: str) -> dict[str, Any]:
        account = self.twin.account
        return {
            "type": "jira_sm",
            "cloud_id": account.cloud_id,
            "api_gateway": self.twin.gateway,
            "oauth_token_url": self.twin.token_url,
            "oauth_client_id_env": "SOAK_JIRA_CLIENT",
            "oauth_client_secret_env": "SOAK_JIRA_SECRET",
            "projects": ["ITSD"],
            "poll_interval": poll_interval,
            "paused_statuses": ["Waiting for customer"],
            "resolved_statuses": ["Resolved", "Closed"],
            "priority_map": PRIORITIES[self.kind],
            "client_map": {"Globex": "globex"},
            "users": {email: account.agents[email] for email in PEOPLE},
        }

    def env(self) -> dict[str, str]:
        account = self.twin.account
        return {"SOAK_JIRA_CLIENT": account.client_id, "SOAK_JIRA_SECRET": account.client_secret}

    def create(self, summary: str, tier: str, customer: int) -> tuple[str, float]:
        customers = self.twin.account.customers
        key = self.twin.create_issue(
            summary,
            priority=PRIORITIES[self.kind][tier],
            reporter=customers[customer % len(customers)],
        )
        return key, _second(self.twin.state.find(key).created)

    def act(self, ticket: str, kind: str) -> float:
        twin = self.twin
        if kind == "delete":
            twin.delete_issue(ticket)
            return _second(twin.clock())
        perform: dict[str, Callable[[], None]] = {
            "agent_reply": lambda: twin.agent_comment(ticket, "Looking into it now."),
            "customer_reply": lambda: twin.customer_comment(ticket, "Any news? Still down."),
            "solve": lambda: twin.transition(ticket, "Resolved"),
        }
        perform[kind]()
        return _second(twin.state.find(ticket).updated)


VENDORS: dict[str, Callable[[int], SoakVendor]] = {
    "zendesk": lambda seed: ZendeskSoak(ZendeskTwin(seed=seed)),
    "connectwise": lambda seed: ConnectWiseSoak(ConnectWiseTwin(seed=seed)),
    "jira_sm": lambda seed: JiraSoak(JiraTwin(seed=seed)),
}


def vendor(kind: str, seed: int) -> SoakVendor:
    """The soak vendor ``kind`` (``zendesk``, ``connectwise``, ``jira_sm``) on a fresh twin."""
    try:
        return VENDORS[kind](seed)
    except KeyError:
        raise ValueError(f"no soak vendor {kind!r}; one of {', '.join(VENDORS)}") from None
