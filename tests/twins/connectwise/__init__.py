"""A stateful ConnectWise PSA (Manage) twin built from the spec and psa-apis.md.

``ConnectWiseTwin`` holds one tenant (an API member with its keys, people, two boards with
their statuses, priorities, companies and contacts, tickets with notes, time entries and an
audit trail), serves its REST API on loopback and journals every request and write. A
scenario changes the tenant through Python methods (a ticket by email, a member's reply or
time entry, a status change, a merge, a move to another board, a delete) while a separate
process talks HTTP to it. Where each behaviour comes from is said in ``model``,
``conditions`` and ``routes`` and summarised in docs/testing.md.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from tests.twins.asgi import ServedTwin
from tests.twins.clock import Clock, system_clock
from tests.twins.connectwise.model import ConnectWiseState
from tests.twins.connectwise.routes import BASE_PATH, ConnectWiseApp, connectwise_fault_response
from tests.twins.faults import FaultPlan
from tests.twins.journal import Journal

__all__ = ["BASE_PATH", "ConnectWiseTwin", "CwAccount"]

SERVICE_STATUSES = (
    ("New", "NotResponded", False),
    ("Acknowledged", "Responded", False),
    ("In Progress", "ResolutionPlan", False),
    ("Waiting on Customer", "NoEscalation", False),
    ("Resolved", "Resolved", True),
    ("Closed", "Resolved", True),
)
PRIORITIES = (
    ("Priority 1 - Critical", "Critical"),
    ("Priority 2 - High", "High"),
    ("Priority 3 - Normal", "Medium"),
    ("Priority 4 - Low", "Low"),
)


@dataclass(frozen=True)
class CwAccount:
    company_id: str
    public_key: str
    private_key: str
    client_id: str
    api_member: str  # the API member's identifier
    members: dict[str, int]  # identifier -> id (full members)
    emails: dict[str, str]  # email -> identifier
    contacts: list[int]


def _identify(scope: Any) -> str:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            try:
                user = base64.b64decode(value.decode().partition(" ")[2]).decode()
            except ValueError:
                return "basic:?"
            return "keys:" + user.partition(":")[0]  # company+public, never the private key
    return "anonymous"


class ConnectWiseTwin(ServedTwin):
    """One ConnectWise tenant on loopback; every method is safe while the server runs."""

    vendor = "ConnectWise"

    def __init__(
        self, *, clock: Clock = system_clock, requests_per_minute: int = 1000, seed: int = 0
    ) -> None:
        self.clock = clock
        self.journal = Journal()
        self.faults = FaultPlan(seed=seed)
        self.state = ConnectWiseState(clock, self.journal)
        self.app = ConnectWiseApp(self.state, clock, requests_per_minute=requests_per_minute)
        self.wrap(
            self.app, clock=clock, identify=_identify, fault_response=connectwise_fault_response
        )
        self.account = self._seed()

    def _seed(self) -> CwAccount:
        state = self.state
        api = state.add_member("SLAConnector", "SLA Connector", "sla-bot@msp.example", "A")
        people = {
            ident: state.add_member(ident, name, email)
            for ident, name, email in (
                ("dlee", "Dana Lee", "dana@msp.example"),
                ("tfox", "Terry Fox", "terry@msp.example"),
                ("sng", "Sam Ng", "sam@msp.example"),
            )
        }
        state.add_member("automate", "ConnectWise Automate", "automate@msp.example", "A")
        state.add_board("Service Desk", SERVICE_STATUSES)
        state.add_board("Projects", SERVICE_STATUSES)
        for sort, (name, level) in enumerate(PRIORITIES, 1):
            state.add_priority(name, level, sort)
        state.add_company("GLOBEX", "Globex Corporation")
        state.add_company("ACME", "Acme Corporation")
        contacts = [state.add_contact(f"Customer {n}", "GLOBEX") for n in range(1, 4)]
        public, private, client_id = "pubKEY0001", "privKEY0001", "5d6b1a52-cw-twin"
        self.app.add_api_key(public, private, api)
        self.app.client_ids.add(client_id)
        return CwAccount(
            company_id=state.company_id,
            public_key=public,
            private_key=private,
            client_id=client_id,
            api_member="SLAConnector",
            members=people,
            emails={state.members[m].email: ident for ident, m in people.items()},
            contacts=contacts,
        )

    # -- serving ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What the connector's ``base_url`` is: the host plus ``/v4_6_release/apis/3.0``."""
        return self.root_url + BASE_PATH

    def basic_auth(self) -> tuple[str, str]:
        a = self.account
        return (f"{a.company_id}+{a.public_key}", a.private_key)

    def headers(self) -> dict[str, str]:
        return {"clientId": self.account.client_id, "Accept": "application/json"}

    # -- the scenario's people --------------------------------------------------------

    def create_ticket(
        self,
        summary: str,
        *,
        priority: str = "Priority 2 - High",
        board: str = "Service Desk",
        contact: int | None = None,
        company: str = "GLOBEX",
        status: str | None = None,
        description: str = "",
    ) -> int:
        return self.state.create_ticket(
            summary,
            description=description,
            company=company,
            contact=contact or self.account.contacts[0],
            board=board,
            priority=priority,
            status=status,
        )

    def _patch(self, ticket_id: int, ops: list[dict[str, Any]], member: str) -> None:
        self.state.patch(ticket_id, ops, by=member, principal=f"person:{member}")

    def set_status(self, ticket_id: int, status: str, *, member: str = "sng") -> None:
        self._patch(ticket_id, [{"op": "replace", "path": "status/name", "value": status}], member)

    def set_priority(self, ticket_id: int, priority: str, *, member: str = "sng") -> None:
        found = next(p for p in self.state.priorities.values() if p["name"] == priority)
        self._patch(
            ticket_id, [{"op": "replace", "path": "priority/id", "value": found["id"]}], member
        )

    def assign(self, ticket_id: int, identifier: str, *, member: str = "sng") -> None:
        op = {"op": "replace", "path": "owner", "value": {"identifier": identifier}}
        self._patch(ticket_id, [op], member)

    def move_board(self, ticket_id: int, board: str, *, member: str = "sng") -> None:
        found = self.state.board_named(board)
        self._patch(ticket_id, [{"op": "replace", "path": "board/id", "value": found.id}], member)

    def member_reply(
        self, ticket_id: int, text: str, *, member: str = "sng", internal: bool = False
    ) -> None:
        """A member's note: a discussion note the customer sees, or an internal one."""
        flag = "internalAnalysisFlag" if internal else "detailDescriptionFlag"
        mid = self.account.members[member]
        self.state.add_note(
            ticket_id,
            {"text": text, flag: True},
            member=mid,
            by=member,
            principal=f"person:{member}",
        )

    def customer_reply(self, ticket_id: int, text: str) -> None:
        """The contact answers by email: a discussion note by the contact."""
        contact = self.state.live(ticket_id).data["contact"]["id"]
        self.state.add_note(
            ticket_id,
            {"text": text, "detailDescriptionFlag": True},
            contact=contact,
            by="Email Connector",
            principal="person:contact",
        )

    def time_entry(
        self, ticket_id: int, notes: str, *, member: str = "sng", discussion: bool = True
    ) -> None:
        """A member logs time with notes (shown in the Discussion when ``discussion``)."""
        self.state.add_time_entry(
            ticket_id, self.account.members[member], notes, discussion=discussion
        )

    def merge(self, child: int, parent: int, *, member: str = "sng") -> None:
        self.state.merge(child, parent, by=member)

    def delete_ticket(self, ticket_id: int) -> None:
        self.state.delete(ticket_id, principal="person:sng")

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        with self.state.lock:
            return dict(self.state.live(ticket_id).data)
