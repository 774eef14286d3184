"""A small in-memory ConnectWise served through respx, plus clock, sleep and fixture helpers.

Responses are built from the spec-shaped JSON in ``tests/fixtures/connectwise``; the fake only
serves what a test scripts (which ticket ids the next feed query returns), so every test says
exactly which tickets changed.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import respx
from sla_connector_psa.connectwise import ConnectWiseConnector
from sla_connector_psa.connectwise.settings import parse_settings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "connectwise"
BASE = "https://api-na.myconnectwise.net/v4_6_release/apis/3.0"
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ENV = {"CW_PUBLIC_KEY": "pubKEY", "CW_PRIVATE_KEY": "privKEY", "CW_CLIENT_ID": "guid-1234"}
SETTINGS: dict[str, Any] = {
    "type": "connectwise",
    "base_url": BASE,
    "company_id": "mspco",
    "public_key_env": "CW_PUBLIC_KEY",
    "private_key_env": "CW_PRIVATE_KEY",
    "client_id_env": "CW_CLIENT_ID",
    "boards": ["Service Desk"],
    "responded_statuses": ["Acknowledged", "In Progress"],
    "paused_statuses": ["Waiting on Customer", "Scheduled"],
    "resolved_statuses": ["Resolved", "Closed"],
    "priority_map": {
        "P1": "Priority 1 - Critical",
        "P2": "Priority 2 - High",
        "P3": "Priority 3 - Normal",
    },
    "client_map": {"ACME": "acme", "GLOBEX": "globex"},
    "users": {"alex@msp.example": "asmith", "dana@msp.example": "dlee"},
    "automation_members": ["workflow"],
}


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at


class VirtualSleep:
    """Records waits and moves the fake clock; nothing really sleeps."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.at += timedelta(seconds=seconds)


def make_ticket(
    ticket_id: int,
    *,
    status: str = "In Progress",
    company: str = "ACME",
    updated: datetime = T0,
    entered: datetime | None = None,
    priority: str = "Priority 2 - High",
    responded: datetime | None = None,
    owner: str = "asmith",
) -> dict[str, Any]:
    """A spec-shaped ``Ticket`` derived from ``ticket.json``."""
    raw: dict[str, Any] = copy.deepcopy(load("ticket.json"))
    raw["id"] = ticket_id
    raw["status"]["name"] = status
    raw["company"]["identifier"] = company
    raw["priority"]["name"] = priority
    raw["owner"]["identifier"] = owner
    raw["_info"]["lastUpdated"] = iso(updated)
    raw["_info"]["dateEntered"] = iso(entered or updated - timedelta(hours=3))
    if responded is None:
        raw.pop("dateResponded", None)
    else:
        raw["dateResponded"] = iso(responded)
    return raw


Handler = Callable[[httpx.Request], httpx.Response]


class FakeConnectWise:
    """Serves tickets, audit trails and notes; records every request."""

    def __init__(self) -> None:
        self.tickets: dict[int, dict[str, Any]] = {}
        self.audits: dict[int, list[Any]] = {}
        self.notes: dict[int, list[Any]] = {}
        self.time_entries: dict[int, list[Any]] = {}
        self.api_members: list[str] = ["SLAConnector"]
        self.feed: list[int] = []  # ids the next incremental/full feed query returns
        self.requests: list[httpx.Request] = []
        self.scripted: dict[str, list[Any]] = {}  # route name -> responses/exceptions first
        self.router = respx.Router(assert_all_called=False)
        routes: list[tuple[str, str, Handler]] = [
            ("GET", r"/service/tickets$", self._feed),
            ("GET", r"/service/tickets/count$", self._count),
            ("GET", r"/service/tickets/(\d+)$", self._ticket),
            ("PATCH", r"/service/tickets/(\d+)$", self._patch),
            ("GET", r"/service/tickets/(\d+)/notes$", self._notes),
            ("GET", r"/service/tickets/(\d+)/allNotes$", self._all_notes),
            ("POST", r"/service/tickets/(\d+)/notes$", self._post_note),
            ("GET", r"/system/audittrail$", self._audit),
            (
                "GET",
                r"/service/priorities$",
                lambda r: httpx.Response(200, json=load("priorities.json")),
            ),
            ("GET", r"/system/members$", self._members),
            ("GET", r"/service/boards$", lambda r: httpx.Response(200, json=load("boards.json"))),
        ]
        for method, pattern, handler in routes:
            self.router.route(
                method=method,
                host=httpx.URL(BASE).host,
                path__regex="^" + re.escape(httpx.URL(BASE).path) + pattern,
            ).mock(side_effect=self._wrap(method + " " + pattern, handler))

    def add(
        self, raw: dict[str, Any], audit: list[Any] | None = None, notes: list[Any] | None = None
    ) -> None:
        self.tickets[raw["id"]] = raw
        self.audits[raw["id"]] = audit if audit is not None else []
        self.notes[raw["id"]] = notes if notes is not None else []

    def script(self, route: str, *outcomes: Any) -> None:
        """Answer the next calls of ``route`` (e.g. ``"PATCH"``, ``"audit"``) with these."""
        self.scripted.setdefault(route, []).extend(outcomes)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.router.async_handler))

    def calls(self, method: str, path_part: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and path_part in r.url.path]

    # -- handlers ------------------------------------------------------------------------

    def _wrap(self, name: str, handler: Handler) -> Callable[[httpx.Request], Any]:
        short = {
            "GET /system/audittrail$": "audit",
            "PATCH /service/tickets/(\\d+)$": "PATCH",
            "POST /service/tickets/(\\d+)/notes$": "POST note",
            "GET /service/tickets$": "feed",
            "GET /service/tickets/(\\d+)/notes$": "notes",
            "GET /service/tickets/(\\d+)/allNotes$": "notes",
            "GET /service/tickets/(\\d+)$": "ticket",
        }.get(name, name)

        def side_effect(request: httpx.Request) -> Any:
            self.requests.append(request)
            queue = self.scripted.get(short)
            if queue:
                outcome = queue.pop(0)
                if isinstance(outcome, Exception):
                    raise outcome
                if callable(outcome):
                    return outcome(request)
                return outcome
            return handler(request)

        return side_effect

    @staticmethod
    def _id(request: httpx.Request) -> int:
        match = re.search(r"/service/tickets/(\d+)", request.url.path)
        assert match is not None
        return int(match.group(1))

    @staticmethod
    def _page(items: list[Any], request: httpx.Request) -> list[Any]:
        page = int(request.url.params.get("page", "1"))
        size = int(request.url.params.get("pageSize", "25"))
        return items[(page - 1) * size : page * size]

    def _feed(self, request: httpx.Request) -> httpx.Response:
        conditions = request.url.params.get("conditions", "")
        match = re.fullmatch(r"id in \(([\d,]+)\)", conditions)
        ids = [int(i) for i in match.group(1).split(",")] if match else sorted(self.feed)
        rows = [self.tickets[i] for i in ids if i in self.tickets]
        return httpx.Response(200, json=self._page(rows, request))

    def _count(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"count": len(self.tickets)})

    def _ticket(self, request: httpx.Request) -> httpx.Response:
        ticket_id = self._id(request)
        if ticket_id not in self.tickets:
            return httpx.Response(404, json={"code": "NotFound", "message": "not found"})
        return httpx.Response(200, json=self.tickets[ticket_id])

    def _patch(self, request: httpx.Request) -> httpx.Response:
        if gone := self._gone(request):
            return gone
        ticket = self.tickets[self._id(request)]
        ticket["_info"]["updatedBy"] = "SLAConnector"  # the API member whose keys wrote it
        for op in json.loads(request.content):
            if op["path"] == "owner":
                ticket["owner"] = {"identifier": op["value"]["identifier"]}
            elif op["path"] == "priority/id":
                ticket["priority"] = {"id": op["value"], "name": "Priority 1 - Critical"}
        return httpx.Response(200, json=ticket)

    def _gone(self, request: httpx.Request) -> httpx.Response | None:
        """A deleted ticket answers 404 on its sub-resources too."""
        if self._id(request) in self.tickets:
            return None
        return httpx.Response(404, json={"code": "NotFound", "message": "not found"})

    def _notes(self, request: httpx.Request) -> httpx.Response:
        if gone := self._gone(request):
            return gone
        return httpx.Response(200, json=self._page(self.notes.get(self._id(request), []), request))

    def _all_notes(self, request: httpx.Request) -> httpx.Response:
        """``allNotes``: the notes, then the time entries' notes (``ServiceTicketNote``)."""
        if gone := self._gone(request):
            return gone
        ticket_id = self._id(request)
        items = [{**n, "noteType": "TicketNote"} for n in self.notes.get(ticket_id, [])]
        items += self.time_entries.get(ticket_id, [])
        return httpx.Response(200, json=self._page(items, request))

    def _members(self, request: httpx.Request) -> httpx.Response:
        """Members by ``primaryEmail``, or the API members (``licenseClass = "A"``)."""
        conditions = request.url.params.get("conditions", "")
        if "licenseClass" in conditions:
            return httpx.Response(200, json=[{"identifier": m} for m in self.api_members])
        return httpx.Response(200, json=load("members.json"))

    def _post_note(self, request: httpx.Request) -> httpx.Response:
        if gone := self._gone(request):
            return gone
        ticket_id = self._id(request)
        body = json.loads(request.content)
        note = {**load("note_created.json"), "ticketId": ticket_id, "text": body["text"]}
        self.notes.setdefault(ticket_id, []).append(note)
        return httpx.Response(201, json=note)

    def _audit(self, request: httpx.Request) -> httpx.Response:
        entries = self.audits.get(int(request.url.params["id"]), [])
        return httpx.Response(200, json=self._page(entries, request))


def make_connector(
    fake: FakeConnectWise, clock: FakeClock | None = None, **overrides: Any
) -> tuple[ConnectWiseConnector, VirtualSleep]:
    clock = clock or FakeClock()
    sleep = VirtualSleep(clock)
    settings = parse_settings("cw", {**SETTINGS, **overrides}, environ=ENV)
    connector = ConnectWiseConnector(settings, clock, client=fake.client(), sleep=sleep)
    return connector, sleep


async def poll(
    connector: ConnectWiseConnector, cursor: str | None
) -> tuple[list[Any], str | None, list[Any]]:
    """Run one ``fetch_changed``; return tickets, the final cursor and rejections."""
    tickets: list[Any] = []
    rejected: list[Any] = []
    final: str | None = None
    async for page in connector.fetch_changed(cursor):
        tickets.extend(page.tickets)
        rejected.extend(page.rejected)
        final = page.cursor
    return tickets, final, rejected
