"""Helpers of the Zendesk adapter tests: fixture files, virtual clock and sleep, the adapter."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sla_connector_psa.zendesk import ZendeskConnector
from sla_connector_psa.zendesk.settings import parse_settings

from sla_connector.core.ports import PollPage

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "zendesk"
BASE = "https://mspco.zendesk.com"
EMAIL = "sla@msp.example"
TOKEN = "tok-123"
AUTH = "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
ENV = {"ZENDESK_EMAIL": EMAIL, "ZENDESK_API_TOKEN": TOKEN}
NOW = datetime(2026, 11, 2, 18, 0, tzinfo=UTC)
FULL_READ_START = int((NOW - timedelta(days=30)).timestamp())
SELF_ID = 9100

SETTINGS: dict[str, Any] = {
    "type": "zendesk",
    "subdomain": "mspco",
    "email_env": "ZENDESK_EMAIL",
    "token_env": "ZENDESK_API_TOKEN",
    "paused_statuses": ["pending", "hold"],
    "resolved_statuses": ["solved", "closed"],
    "client_map": {"Globex": "globex", "Acme Corp": "acme"},
    "priority_map": {"P1": "urgent", "P2": "high", "P3": "normal", "P4": "low"},
    "users": {
        "alex@msp.example": "9001",
        "dana@msp.example": "9002",
        "sam@msp.example": "sam@msp.example",
    },
    "groups": {"Service Desk": "360001"},
    "automation_users": ["bot@msp.example"],
}


def load(name: str) -> Any:
    """A fixture file's JSON (a fresh copy each time, so tests may edit it)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class FakeClock:
    """A settable virtual clock."""

    def __init__(self, now: datetime = NOW) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


class VirtualSleep:
    """Records requested waits and advances the clock instead of sleeping."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.current += timedelta(seconds=seconds)


def make_connector(
    clock: FakeClock | None = None,
    *,
    max_attempts: int = 5,
    events_worth: int | None = 1,
    **overrides: Any,
) -> tuple[ZendeskConnector, VirtualSleep]:
    """The adapter with the test settings, an injected client and a virtual sleep.

    ``events_worth``: the event stream is read for a page with this many cold tickets; 1
    by default here, so the fixtures' small pages exercise the stream; None keeps the
    connector's own (its two budgets' ratio)."""
    clock = clock or FakeClock()
    sleep = VirtualSleep(clock)
    settings = parse_settings("zd", {**SETTINGS, **overrides}, environ=ENV)
    connector = ZendeskConnector(
        settings, clock, client=httpx.AsyncClient(), sleep=sleep, max_attempts=max_attempts
    )
    if events_worth is not None:
        connector.events_worth = events_worth
    return connector, sleep


async def poll_parts(connector: ZendeskConnector, cursor: str | None) -> list[PollPage]:
    """Everything one poll cycle yields: an export page comes in parts, only its last one
    with the cursor (``ZendeskConnector._normalized_parts``)."""
    return [page async for page in connector.fetch_changed(cursor)]


async def poll(connector: ZendeskConnector, cursor: str | None) -> list[PollPage]:
    """The pages of one poll cycle, each export page's parts joined into one page."""
    pages: list[PollPage] = []
    parts: list[PollPage] = []
    for part in await poll_parts(connector, cursor):
        parts.append(part)
        if part.cursor is not None:
            pages.append(
                PollPage(
                    tickets=tuple(t for p in parts for t in p.tickets),
                    cursor=part.cursor,
                    rejected=tuple(r for p in parts for r in p.rejected),
                    withdrawn=tuple(w for p in parts for w in p.withdrawn),
                    failures=tuple(f for p in parts for f in p.failures),
                )
            )
            parts = []
    assert not parts, "a poll ended on a part without a cursor"
    return pages


def json_response(data: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=data, headers=headers)


Handler = Callable[[httpx.Request], httpx.Response]


def export_handler(pages: dict[str, Any]) -> Handler:
    """Serve export pages keyed by ``start_time=<n>`` or ``cursor=<c>`` of the request."""

    def handle(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        key = (
            f"cursor={params['cursor']}"
            if "cursor" in params
            else f"start_time={params.get('start_time')}"
        )
        if key not in pages:
            return httpx.Response(500, json={"error": f"unexpected export request {key}"})
        return json_response(pages[key])

    return handle


def events_handler(pages: dict[int, Any]) -> Handler:
    """Serve ticket event pages keyed by the request's ``start_time``."""

    def handle(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["start_time"])
        if start not in pages:
            return httpx.Response(500, json={"error": f"unexpected events start_time {start}"})
        return json_response(pages[start])

    return handle
