"""A stateful Jira Service Management (Cloud) twin built from the specs and psa-apis.md.

``JiraTwin`` holds one site (a service desk project and a second one, agents, customers with
their organizations, issues with changelogs and comments), serves its REST API on loopback,
both on the site URL and through the ``/ex/jira/{cloudId}`` gateway with an OAuth token
endpoint, and journals every request and write. A scenario changes the site through Python
methods (a customer's request, an agent's reply or transition, a delete, a move to another
project, an archived project) while a separate process talks HTTP to it. Sources are cited
in ``model``, ``jql``, ``auth`` and ``routes`` and summarised in docs/testing.md.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from tests.twins.asgi import ServedTwin
from tests.twins.clock import Clock, system_clock
from tests.twins.faults import FaultPlan
from tests.twins.jira_sm.auth import SCOPES, JiraAuth
from tests.twins.jira_sm.model import JiraState
from tests.twins.jira_sm.routes import JiraApp, jira_fault_response
from tests.twins.journal import Journal

__all__ = ["JiraAccount", "JiraTwin"]

CLOUD_ID = "5f2c9a3e-7b1d-4c8e-9f60-1a2b3c4d5e6f"


@dataclass(frozen=True)
class JiraAccount:
    cloud_id: str
    email: str  # the personal API token's user
    token: str
    service_email: str  # the service account, for a scoped API token through the gateway
    service_token: str
    client_id: str  # the service account's OAuth 2.0 credential
    client_secret: str
    api_account: str  # account id of the personal-token user
    service_account: str
    agents: dict[str, str]  # email -> account id
    customers: list[str]


def _identify(scope: Any) -> str:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, rest = value.decode("latin-1").partition(" ")
            if scheme.lower() == "basic":
                try:
                    return "basic:" + base64.b64decode(rest).decode().partition(":")[0]
                except ValueError:
                    return "basic:?"
            return scheme.lower()
    return "anonymous"


class JiraTwin(ServedTwin):
    """One Jira Cloud site on loopback; every method is safe while the server runs."""

    vendor = "Jira"

    def __init__(
        self,
        *,
        clock: Clock = system_clock,
        requests_per_minute: int = 1000,
        token_lifetime: float = 3600.0,
        seed: int = 0,
    ) -> None:
        self.clock = clock
        self.journal = Journal()
        self.faults = FaultPlan(seed=seed)
        self.state = JiraState(clock, self.journal)
        self.auth = JiraAuth(clock, token_lifetime=token_lifetime)
        self.app = JiraApp(
            self.state,
            self.auth,
            clock,
            cloud_id=CLOUD_ID,
            requests_per_minute=requests_per_minute,
        )
        self.wrap(self.app, clock=clock, identify=_identify, fault_response=jira_fault_response)
        self.account = self._seed()

    def _seed(self) -> JiraAccount:
        state, auth = self.state, self.auth
        api = state.add_user("712020:sla-bot", "SLA Sidecar", "sla@msp.example")
        service = state.add_user(
            "712020:sla-service",
            "SLA service account",
            "sla-service@serviceaccount.atlassian.com",
            "app",
        )
        agents = {
            email: state.add_user(f"5b10:{email.split('@')[0]}", name, email)
            for name, email in (
                ("Dana Lee", "dana@msp.example"),
                ("Terry Fox", "terry@msp.example"),
                ("Sam Ng", "sam@msp.example"),
            )
        }
        customers = [
            state.add_user(
                f"qm:cust{n}", f"Customer {n}", f"customer{n}@globex.example", "customer"
            )
            for n in range(1, 4)
        ]
        state.add_project("ITSD", "IT Service Desk")
        state.add_project("OPS", "Operations")
        client_id, secret = auth.add_oauth_client(service, SCOPES)
        return JiraAccount(
            cloud_id=CLOUD_ID,
            email="sla@msp.example",
            token=auth.add_personal_token("sla@msp.example", api),
            service_email="sla-service@serviceaccount.atlassian.com",
            service_token=auth.add_service_token(
                "sla-service@serviceaccount.atlassian.com", service, SCOPES
            ),
            client_id=client_id,
            client_secret=secret,
            api_account=api,
            service_account=service,
            agents=agents,
            customers=customers,
        )

    # -- serving ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The site URL (``https://<site>.atlassian.net`` on the real service)."""
        return self.root_url

    @property
    def gateway(self) -> str:
        """What stands for ``https://api.atlassian.com``: ``/ex/jira/{cloudId}`` below it."""
        return self.root_url

    @property
    def token_url(self) -> str:
        """What stands for ``https://auth.atlassian.com/oauth/token``."""
        return self.root_url + "/oauth/token"

    def basic_auth(self) -> tuple[str, str]:
        return (self.account.email, self.account.token)

    # -- the scenario's people --------------------------------------------------------

    def create_issue(
        self,
        summary: str,
        *,
        project: str = "ITSD",
        priority: str = "Medium",
        reporter: str | None = None,
        organization: str = "Globex",
    ) -> str:
        return self.state.create_issue(
            project,
            summary,
            reporter=reporter or self.account.customers[0],
            priority=priority,
            organizations=[organization],
        )

    def _agent(self, email: str) -> str:
        return self.account.agents[email]

    def transition(self, key: str, status: str, *, agent: str = "sam@msp.example") -> None:
        self.state.change(
            key, {"status": status}, by=self._agent(agent), principal=f"person:{agent}"
        )

    def set_priority(self, key: str, priority: str, *, agent: str = "sam@msp.example") -> None:
        self.state.change(
            key, {"priority": priority}, by=self._agent(agent), principal=f"person:{agent}"
        )

    def assign(self, key: str, account: str, *, agent: str = "sam@msp.example") -> None:
        self.state.change(
            key, {"assignee": account}, by=self._agent(agent), principal=f"person:{agent}"
        )

    def agent_comment(
        self, key: str, body: str, *, agent: str = "sam@msp.example", public: bool = True
    ) -> None:
        self.state.comment(
            key, body, by=self._agent(agent), public=public, principal=f"person:{agent}"
        )

    def customer_comment(self, key: str, body: str) -> None:
        issue = self.state.find(key)
        self.state.comment(key, body, by=issue.reporter, public=True, principal="person:customer")

    def delete_issue(self, key: str) -> None:
        self.state.delete(key, principal="person:sam@msp.example")

    def move_issue(self, key: str, project: str) -> str:
        return self.state.move(key, project, by=self._agent("sam@msp.example"))

    def archive_project(self, key: str) -> None:
        with self.state.lock:
            self.state.projects[key]["archived"] = True

    def issue(self, key: str) -> dict[str, Any]:
        with self.state.lock:
            return self.app.render(self.state.find(key), ["*all"], changelog=None)
