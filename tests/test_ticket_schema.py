"""Item 2 of issue 13: the ticket format's JSON Schema ships in the package, agrees with
``parse_ticket``, is used by ``audit`` for its messages, and docs/ticket-format.md
documents every field, event type and rule of it."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from sla_connector.cli import main
from sla_connector.core.errors import TicketError
from sla_connector.core.ticket import EVENT_TYPES, parse_ticket
from sla_connector.schemas import ticket_schema, ticket_schema_problem

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ticket-format.md"
GOOD: dict[str, Any] = {
    "id": "48213",
    "source": "zd",
    "client": "acme",
    "subject": "Email server down",
    "channel": "email",
    "source_priority": "urgent",
    "status": "solved",
    "created_at": "2026-11-02T09:14:00Z",
    "events": [
        {"at": "2026-11-02T09:20:00Z", "type": "public_reply", "by": "agent"},
        {"at": "2026-11-02T11:02:00+01:00", "type": "status", "to": "pending"},
        {"at": "2026-11-02T15:10:00Z", "type": "priority", "to": "P2"},
        {"at": "2026-11-02T15:11:00Z", "type": "assignee", "to": 42},
        {"at": "2026-11-02T15:12:00Z", "type": "comment"},
    ],
    "tags": ["email"],
    "notes": ["checked"],
    "extra": {"via": "web"},
    "custom_field": 7,
}


def _set(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


_DELETE = object()
# Structural mistakes: the parser and the schema both reject each one.
BAD = {
    "not an object": ["a list"],
    "id missing": _set(("id",), _DELETE),
    "id empty": _set(("id",), ""),
    "id a boolean": _set(("id",), True),
    "source missing": _set(("source",), _DELETE),
    "created_at missing": _set(("created_at",), _DELETE),
    "created_at naive": _set(("created_at",), "2026-11-02T09:14:00"),
    "created_at not a time": _set(("created_at",), "02/11/2026"),
    "created_at a number": _set(("created_at",), 1762074840),
    "subject a boolean": _set(("subject",), False),
    "events not a list": _set(("events",), {"at": "2026-11-02T09:20:00Z"}),
    "event not an object": _set(("events", 0), "reply"),
    "event without at": _set(("events", 0, "at"), _DELETE),
    "event at naive": _set(("events", 0, "at"), "2026-11-02T09:20:00"),
    "event type unknown": _set(("events", 0, "type"), "closed"),
    "event type missing": _set(("events", 0, "type"), _DELETE),
    "status without to": _set(("events", 1, "to"), _DELETE),
    "priority to null": _set(("events", 2, "to"), None),
    "to a list": _set(("events", 3, "to"), ["a"]),
    "by an object": _set(("events", 0, "by"), {"role": "agent"}),
    "tags not strings": _set(("tags",), [1, 2]),
    "notes not a list": _set(("notes",), "checked"),
}
# Rules beyond a schema (docs/ticket-format.md says so): the parser alone rejects these.
PARSER_ONLY = {
    "events out of order": _set(("events", 2, "at"), "2026-11-02T09:00:00Z"),
    "event before created_at": _set(("events", 0, "at"), "2026-11-01T09:00:00Z"),
    "year out of range": _set(("created_at",), "1960-01-01T00:00:00Z"),
}


def _generated() -> list[dict[str, Any]]:
    spec = importlib.util.spec_from_file_location("gen_tickets", ROOT / "bench" / "gen_tickets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return [*module.generate_tickets(300, seed=3), *module.showcase_tickets()]


def test_the_schema_is_shipped_in_the_package_and_is_a_valid_schema() -> None:
    schema = ticket_schema()
    Draft202012Validator.check_schema(schema)
    assert set(schema["required"]) == {"id", "source", "created_at"}
    assert set(schema["$defs"]["event"]["properties"]["type"]["enum"]) == EVENT_TYPES
    shipped = ROOT / "src" / "sla_connector" / "schemas" / "ticket.schema.json"
    assert json.loads(shipped.read_text()) == schema


def test_schema_and_parser_accept_the_same_good_tickets() -> None:
    examples = [json.loads(line) for line in (ROOT / "examples" / "tickets.jsonl").open()]
    for data in [GOOD, *examples, *_generated()]:
        assert ticket_schema_problem(data) is None, data["id"]
        ticket = parse_ticket(data)
        # What the parser makes of it is canonical again: the schema accepts it too.
        assert ticket_schema_problem(ticket.to_json()) is None


@pytest.mark.parametrize("case", sorted(BAD))
def test_schema_and_parser_reject_the_same_structural_mistakes(case: str) -> None:
    data = BAD[case]
    with pytest.raises(TicketError):
        parse_ticket(data)
    assert ticket_schema_problem(data) is not None


@pytest.mark.parametrize("case", sorted(PARSER_ONLY))
def test_rules_beyond_the_schema_are_the_parsers(case: str) -> None:
    data = PARSER_ONLY[case]
    with pytest.raises(TicketError):
        parse_ticket(data)
    assert ticket_schema_problem(data) is None


def test_audit_names_the_line_the_parser_reason_and_the_schema_pointer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = dict(GOOD, source="sim")
    bad = _set(("events", 0, "type"), "closed") | {"source": "sim"}
    path = tmp_path / "tickets.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    policy = str(ROOT / "examples" / "policy.yaml")
    argv = ["audit", "-c", policy, "--tickets", str(path), "--jobs", "1", "--no-store"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert (
        "line 2: rejected: ticket 48213: events[0].type: 'closed' is not one of "
        "['assignee', 'comment', 'priority', 'public_reply', 'status'] "
        "(ticket.schema.json: /events/0/type: 'closed' is not one of "
    ) in err
    assert "1 ticket line(s) rejected" in err


def test_the_format_page_documents_every_field_event_type_and_rule() -> None:
    text = DOC.read_text()
    for name in ticket_schema()["properties"]:
        assert f"| `{name}` |" in text, name
    for kind in EVENT_TYPES:
        assert f"| `{kind}` |" in text, kind
    for example in ("**Zendesk**", "**ConnectWise PSA**", "**Jira Service Management**"):
        assert example in text
    # Every example line on the page is a valid ticket (and the schema agrees).
    blocks = text.split("```json\n")[1:]
    assert len(blocks) == 4
    for block in blocks:
        data = json.loads(block.split("```")[0])
        parse_ticket(data)
        assert ticket_schema_problem(data) is None
    # Every message the parser can give is on the page.
    messages = [
        "malformed JSON", "expected a JSON object", "id: missing", "source: missing",
        "names no configured connector", "is not an RFC 3339 time", "has no UTC offset",
        "is outside the years 1970-2199", "events: expected a list", "expected an object",
        "is not one of", "expected a string, got", "event needs the new status",
        "is before created_at", "is out of order", "expected a list of strings",
    ]  # fmt: skip
    for message in messages:
        assert message in text, message
