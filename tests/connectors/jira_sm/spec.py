"""A small OpenAPI 3.0 schema checker, so the Jira fixtures are held to the official specs.

Covers the keywords the Atlassian schemas use for response bodies: ``$ref``, ``allOf``,
``oneOf``/``anyOf``, ``type``, ``nullable``, ``properties``, ``additionalProperties``,
``items``, ``enum``, ``required``. Formats are not checked.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from tests.connectors.prism import SPECS

COMBINED = SPECS / "jira-combined.json"

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    """The combined platform + servicedeskapi document."""
    loaded: dict[str, Any] = json.loads(COMBINED.read_text(encoding="utf-8"))
    return loaded


def _resolve(ref: str) -> dict[str, Any]:
    node: Any = spec()
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    assert isinstance(node, dict)
    return node


def errors(instance: Any, schema: dict[str, Any] | str, where: str = "$") -> list[str]:
    """Every violation of ``schema`` (a schema object or a component name) by ``instance``."""
    if isinstance(schema, str):
        schema = {"$ref": f"#/components/schemas/{schema}"}
    if "$ref" in schema:
        return errors(instance, _resolve(schema["$ref"]), where)
    found: list[str] = []
    for part in schema.get("allOf", []):
        found += errors(instance, part, where)
    for key in ("oneOf", "anyOf"):
        if key in schema and all(errors(instance, s, where) for s in schema[key]):
            found.append(f"{where}: matches none of {key}")
    if instance is None:
        if schema.get("type") and not schema.get("nullable"):
            found.append(f"{where}: null where {schema['type']} is required")
        return found
    kind = schema.get("type")
    if kind in _TYPES:
        ok = isinstance(instance, _TYPES[kind]) and not (
            kind in ("integer", "number") and isinstance(instance, bool)
        )
        if not ok:
            return [*found, f"{where}: expected {kind}, got {type(instance).__name__}"]
    if "enum" in schema and instance not in schema["enum"]:
        found.append(f"{where}: {instance!r} not in {schema['enum']}")
    if isinstance(instance, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in instance:
                found.append(f"{where}: required property {name!r} missing")
        extra = schema.get("additionalProperties", True)
        for name, value in instance.items():
            if name in props:
                found += errors(value, props[name], f"{where}.{name}")
            elif extra is False:
                found.append(f"{where}: property {name!r} is not in the schema")
            elif isinstance(extra, dict):
                found += errors(value, extra, f"{where}.{name}")
    if isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(instance):
            found += errors(item, schema["items"], f"{where}[{index}]")
    return found


def response_schema(path: str, method: str = "get", status: str = "200") -> dict[str, Any]:
    """The JSON schema of one operation's response."""
    operation = spec()["paths"][path][method]
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    assert isinstance(schema, dict)
    return schema
