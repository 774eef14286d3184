"""The fixtures follow the published Zendesk OpenAPI schemas (SOURCES.md: zendesk.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import spec
from .support import FIXTURES, load

SCHEMAS = {
    "export_": "CursorBasedExportIncrementalTicketsResponse",
    "ticket_events_": "ExportIncrementalTicketEventsResponse",
    "audits_": "TicketAuditsResponseNoneCursor",
    "users_show_many": "UsersResponse",
    "users_search": "UsersResponse",
    "users_me": "CurrentUserResponse",
    "ticket_update_response": "TicketUpdateResponse",
    "ticket_101": "TicketResponse",
    "comments_": "TicketCommentsResponse",
}
SIDELOADS = {"users": "UserObject", "organizations": "OrganizationObject"}


def schema_for(path: Path) -> str:
    return next(name for prefix, name in SCHEMAS.items() if path.name.startswith(prefix))


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.name)
def test_fixture_conforms_to_the_zendesk_spec(path: Path) -> None:
    data = load(path.name)
    problems = spec.errors(data, spec.schema(schema_for(path)))
    for key, name in SIDELOADS.items():
        for index, item in enumerate(data.get(key) or []):
            problems += spec.errors(item, spec.schema(name), f"$.{key}[{index}]")
    assert problems == []


def test_checker_catches_a_broken_fixture() -> None:
    data = load("export_page1.json")
    data["tickets"][0]["priority"] = "critical"
    data["tickets"][0]["created_at"] = "2026-11-02 09:00"
    problems = spec.errors(data, spec.schema("CursorBasedExportIncrementalTicketsResponse"))
    assert len(problems) == 2
