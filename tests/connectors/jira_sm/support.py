"""Helpers of the Jira Service Management adapter tests: fixture files, clock, adapter."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sla_connector_psa.jira_sm import JiraServiceManagement
from sla_connector_psa.jira_sm.settings import parse_settings

from sla_connector.core.ports import PollPage

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "jira_sm"
BASE = "https://mspco.atlassian.net"
EMAIL = "sla@msp.example"
TOKEN = "tok-123"
AUTH = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
ENV = {"JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": TOKEN}
SELF_ID = "712020:0b6f6c2e-5d3c-4f1a-9a57-51a5ec0a5e11"
EMMA_ID = "5b10ac8d82e05b22cc7d4ef5"
SAM_ID = "5b10a2844c20165700ede21g"

SETTINGS: dict[str, Any] = {
    "type": "jira_sm",
    "base_url": BASE,
    "email_env": "JIRA_EMAIL",
    "token_env": "JIRA_API_TOKEN",
    "projects": ["ITSD"],
    "paused_statuses": ["Waiting for customer"],
    "resolved_statuses": ["Resolved", "Closed", "Done"],
    "client_field": "organization",
    "client_map": {"Acme Corp": "acme"},
    "priority_map": {"P1": "Highest", "P2": "High", "P3": "Medium"},
    "users": {"emma@msp.example": EMMA_ID, "sam@msp.example": "sam@msp.example"},
}


def load(name: str) -> Any:
    """A fixture file's JSON."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class FakeClock:
    """A settable virtual clock."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


class Sleeps:
    """Records the waits the HTTP layer asks for instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_adapter(clock: FakeClock, sleeps: Sleeps, **overrides: Any) -> JiraServiceManagement:
    """An adapter on a plain client (respx intercepts it) with virtual sleep."""
    settings = parse_settings("jsm", {**SETTINGS, **overrides}, environ=ENV)
    return JiraServiceManagement(settings, clock, client=httpx.AsyncClient(), sleep=sleeps)


async def collect(pages: AsyncIterator[PollPage]) -> list[PollPage]:
    """Every page of one poll."""
    return [page async for page in pages]


def json_response(name_or_data: str | Any, status: int = 200) -> httpx.Response:
    """A JSON response from a fixture name or data."""
    data = load(name_or_data) if isinstance(name_or_data, str) else name_or_data
    return httpx.Response(status, json=data)


def search_pages(pages: dict[str | None, str]) -> Callable[[httpx.Request], httpx.Response]:
    """A search handler serving fixture pages by ``nextPageToken`` (None: the first)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return json_response(pages[request.url.params.get("nextPageToken")])

    return handler
