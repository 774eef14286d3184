"""The Zendesk connector under the contract suite, on a small stateful Zendesk.

``FakeZendesk`` holds the valid tickets of the recorded export pages and answers what the
connector asks, modelled on the documentation (psa-apis.md, Zendesk; paths as in
``zendesk.yaml``):

- ``GET /api/v2/incremental/tickets/cursor``: tickets updated at or after ``start_time``,
  then after the opaque ``cursor``, oldest first, ``after_cursor`` and ``end_of_stream``
  (two a page here, so a full read has several), users and organizations sideloaded;
- ``GET /api/v2/incremental/ticket_events``: an empty stream up to now, so histories come
  from ``GET /api/v2/tickets/{id}/audits`` (recorded for 102, a creating audit otherwise);
- ``PUT /api/v2/tickets/{id}``: one atomic update (``assignee_id``, ``group_id``,
  ``priority``, ``additional_tags`` added to ``tags``, a private ``comment``) that bumps
  ``updated_at`` and appends an audit authored by the API user, as the API does;
- ``GET /api/v2/tickets/show_many?ids=`` (spec ``TicketsShowMany``: up to 100 tickets;
  unknown and deleted ids are left out of the answer);
- ``GET /api/v2/tickets/{id}`` (404 for an unknown id), ``/comments``, ``/users/me``,
  ``/users/show_many``, ``/users/search`` from the recorded answers.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sla_connector_psa.zendesk import ZendeskConnector, parse_settings

from tests.connectors.contract import Case, FailingTransport

from .support import ENV, NOW, SELF_ID, SETTINGS, FakeClock, VirtualSleep, load

PAGE = 2
_TICKET = re.compile(r"^/api/v2/tickets/(\d+)(/audits|/comments)?$")


def _stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


class FakeZendesk:
    """Tickets by id with their audits and comments, changed by ticket updates."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self._next_id = 90_000
        self.tickets: dict[int, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.organizations: dict[int, dict[str, Any]] = {}
        for name in ("export_page1.json", "export_page2.json", "export_page3.json"):
            page = load(name)
            # 104 of the recorded export lacks created_at (the rejection tests use it)
            self.tickets.update({t["id"]: t for t in page["tickets"] if "created_at" in t})
            self.users.update({u["id"]: u for u in page["users"]})
            self.organizations.update({o["id"]: o for o in page["organizations"]})
        recorded = load("audits_102_page1.json")["audits"] + load("audits_102_page2.json")["audits"]
        self.audits: dict[int, list[dict[str, Any]]] = {
            tid: (recorded if tid == 102 else [self._creating(ticket)])
            for tid, ticket in self.tickets.items()
        }
        self.comments: dict[int, list[dict[str, Any]]] = {tid: [] for tid in self.tickets}

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _creating(self, ticket: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self._id(),
            "ticket_id": ticket["id"],
            "created_at": ticket["created_at"],
            "author_id": ticket["requester_id"],
            "via": ticket["via"],
            "events": [
                {"id": 1, "type": "Create", "field_name": "status", "value": ticket["status"]},
                {"id": 2, "type": "Comment", "public": True, "body": ticket["description"]},
            ],
        }

    def _update(self, tid: int, events: list[dict[str, Any]]) -> dict[str, Any]:
        now = _stamp(self.clock.now())
        audit = {
            "id": self._id(),
            "ticket_id": tid,
            "created_at": now,
            "author_id": SELF_ID,
            "via": {"channel": "api", "source": {"rel": None}},
            "events": events,
        }
        self.audits[tid].append(audit)
        self.tickets[tid]["updated_at"] = now
        return audit

    def touch(self, tid: int) -> None:
        self.tickets[tid]["status"] = "pending"
        self._update(tid, [{"type": "Change", "field_name": "status", "value": "pending"}])

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/v2/users/me":
            return httpx.Response(200, json=load("users_me.json"))
        if path == "/api/v2/users/show_many":
            return httpx.Response(200, json=load("users_show_many.json"))
        if path == "/api/v2/users/search":
            return httpx.Response(200, json=load("users_search.json"))
        if path == "/api/v2/incremental/tickets/cursor":
            return self._export(request)
        if path == "/api/v2/tickets/show_many":  # up to 100 ids; unknown and deleted left out
            ids = [int(i) for i in request.url.params["ids"].split(",")][:100]
            shown = [
                self.tickets[i]
                for i in ids
                if self.tickets.get(i, {}).get("status") not in (None, "deleted")
            ]
            return httpx.Response(200, json={"tickets": shown, **self._sideloads()})
        if path == "/api/v2/incremental/ticket_events":
            now = int(self.clock.now().timestamp())
            return httpx.Response(
                200, json={"ticket_events": [], "end_time": now, "end_of_stream": True}
            )
        match = _TICKET.match(path)
        if (
            match is None
            or int(match.group(1)) not in self.tickets
            or self.tickets[int(match.group(1))]["status"] == "deleted"
        ):
            return httpx.Response(404, json={"error": "RecordNotFound"})
        tid, part = int(match.group(1)), match.group(2)
        if part == "/audits":
            return httpx.Response(200, json={"audits": self.audits[tid], "next_page": None})
        if part == "/comments":
            newest = sorted(self.comments[tid], key=lambda c: c["created_at"], reverse=True)
            return httpx.Response(200, json={"comments": newest})
        if request.method == "PUT":
            return self._put(tid, json.loads(request.content)["ticket"])
        return httpx.Response(200, json={"ticket": self.tickets[tid], **self._sideloads()})

    def _sideloads(self) -> dict[str, Any]:
        return {
            "users": list(self.users.values()),
            "organizations": list(self.organizations.values()),
        }

    def _export(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        order = sorted(self.tickets.values(), key=lambda t: (_seconds(t["updated_at"]), t["id"]))
        if "cursor" in params:
            done = tuple(int(part) for part in params["cursor"].split("-"))
            todo = [t for t in order if (_seconds(t["updated_at"]), t["id"]) > done]
        else:
            todo = [t for t in order if _seconds(t["updated_at"]) >= int(params["start_time"])]
        page = todo[:PAGE]
        after = (
            f"{_seconds(page[-1]['updated_at'])}-{page[-1]['id']}" if page else params.get("cursor")
        )
        body = {
            "tickets": page,
            "after_cursor": after,
            "end_of_stream": len(todo) <= PAGE,
            **self._sideloads(),
        }
        return httpx.Response(200, json=body)

    def _put(self, tid: int, changes: dict[str, Any]) -> httpx.Response:
        ticket = self.tickets[tid]
        events: list[dict[str, Any]] = []
        for name in ("assignee_id", "group_id", "priority"):
            if name in changes:
                ticket[name] = changes[name]
                events.append({"type": "Change", "field_name": name, "value": str(changes[name])})
        for tag in changes.get("additional_tags", ()):
            if tag not in ticket["tags"]:
                ticket["tags"].append(tag)
        comment = changes.get("comment")
        if comment is not None:
            events.append({"type": "Comment", "author_id": SELF_ID, **comment})
        audit = self._update(tid, events)
        if comment is not None:
            self.comments[tid].append(
                {
                    "id": self._id(),
                    "author_id": SELF_ID,
                    "created_at": audit["created_at"],
                    "public": comment.get("public", True),
                    "body": comment["body"],
                    "plain_body": comment["body"],
                }
            )
        return httpx.Response(200, json={"ticket": ticket, "audit": audit})


def case() -> Case:
    clock = FakeClock(NOW)
    fake = FakeZendesk(clock)
    transport = FailingTransport(httpx.MockTransport(fake.handle))
    client = httpx.AsyncClient(transport=transport)
    settings = parse_settings("zd", SETTINGS, environ=ENV)
    connector = ZendeskConnector(
        settings, clock, client=client, sleep=VirtualSleep(clock), max_attempts=2
    )

    def touch(ticket_id: str) -> None:
        clock.current += timedelta(minutes=5)
        fake.touch(int(ticket_id))

    def withdraw(ticket_id: str) -> None:
        """Deleted: the export shows ``status: "deleted"``, reads answer 404."""
        clock.current += timedelta(minutes=5)
        fake.tickets[int(ticket_id)]["status"] = "deleted"
        fake.tickets[int(ticket_id)]["updated_at"] = _stamp(clock.now())

    def break_one() -> tuple[str, str]:
        broken = sorted(fake.tickets)[1]
        transport.broken = (re.compile(rf"/api/v2/tickets/{broken}/audits"), 500)
        return "ticket", str(broken)

    return Case(
        kind="zendesk",
        connector=connector,
        ticket_ids=frozenset(str(tid) for tid in fake.tickets),
        unknown_id="999999",
        person="alex@msp.example",
        tier="P1",
        touch=touch,
        capabilities=("apply", "fetch_tickets"),
        transport=transport,
        client=client,
        withdraw=withdraw,
        break_one=break_one,
    )
