"""The ConnectWise fixtures follow the official spec's schemas: no invented fields or types."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.connectors.prism import spec_path

from .support import load, make_ticket

FIXTURE_SCHEMAS: dict[str, dict[str, Any]] = {
    "ticket.json": {"$ref": "#/components/schemas/Ticket"},
    "audittrail.json": {"type": "array", "items": {"$ref": "#/components/schemas/AuditTrailEntry"}},
    "notes.json": {"type": "array", "items": {"$ref": "#/components/schemas/ServiceNote"}},
    "note_created.json": {"$ref": "#/components/schemas/ServiceNote"},
    "priorities.json": {"type": "array", "items": {"$ref": "#/components/schemas/Priority"}},
    "members.json": {"type": "array", "items": {"$ref": "#/components/schemas/Member"}},
    "boards.json": {"type": "array", "items": {"$ref": "#/components/schemas/Board"}},
    "count.json": {"$ref": "#/components/schemas/Count"},
}
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "boolean": (bool,),
    "number": (int, float),
    "array": (list,),
    "object": (dict,),
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(spec_path("connectwise.json").read_text(encoding="utf-8"))
    return loaded


def problems(spec: dict[str, Any], schema: dict[str, Any], value: Any, where: str) -> list[str]:
    """Differences between ``value`` and an OpenAPI 3.0 schema (the subset the spec uses)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return problems(spec, spec["components"]["schemas"][name], value, where)
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null but not nullable"]
    found: list[str] = []
    kind = schema.get("type")
    if kind and not (
        isinstance(value, _TYPES[kind])
        and not (kind in ("integer", "number") and isinstance(value, bool))
    ):
        return [f"{where}: expected {kind}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, list):
        for index, item in enumerate(value):
            found += problems(spec, schema.get("items", {}), item, f"{where}[{index}]")
    if isinstance(value, dict) and ("properties" in schema or "additionalProperties" in schema):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key in schema.get("required", []):
            if key not in value:
                found.append(f"{where}: required {key} missing")
        for key, item in value.items():
            if key in properties:
                found += problems(spec, properties[key], item, f"{where}.{key}")
            elif isinstance(extra, dict):
                found += problems(spec, extra, item, f"{where}.{key}")
            elif not extra:
                found.append(f"{where}: {key} is not in the spec")
    return found


@pytest.mark.parametrize("name", sorted(FIXTURE_SCHEMAS))
def test_fixture_matches_the_spec_schema(spec: dict[str, Any], name: str) -> None:
    assert problems(spec, FIXTURE_SCHEMAS[name], load(name), name) == []


def test_generated_tickets_match_the_spec_schema(spec: dict[str, Any]) -> None:
    from .support import T0  # noqa: PLC0415  (kept local: only this test needs the instant)

    raw = make_ticket(5, status="Waiting on Customer", responded=T0)
    assert problems(spec, FIXTURE_SCHEMAS["ticket.json"], raw, "generated") == []


def test_validator_catches_an_invented_field(spec: dict[str, Any]) -> None:
    bad = {**load("ticket.json"), "tags": ["x"], "id": "1001"}
    found = problems(spec, FIXTURE_SCHEMAS["ticket.json"], bad, "t")
    assert "t: tags is not in the spec" in found
    assert "t.id: expected integer, got str" in found
