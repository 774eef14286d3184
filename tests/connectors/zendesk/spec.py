"""Checks JSON against the schemas of the published Zendesk OpenAPI document.

A deliberately small OpenAPI 3.0 schema checker (``$ref``, ``type`` with ``nullable``,
``properties``, ``required``, ``items``, ``enum``, ``allOf``/``anyOf``/``oneOf``,
``additionalProperties: false``, ``date-time``) so the fixtures and the request bodies are
held to the vendor's contract without another dependency. The spec needs a YAML loader that
reads a bare ``=`` as a string (SOURCES.md, known quirks).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import yaml

from tests.connectors.prism import SPECS

SPEC_PATH = SPECS / "zendesk.yaml"


class _Loader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc,name-defined]
    """PyYAML reads ``- change: =`` as the YAML 1.1 value tag; keep it a string."""


_Loader.add_constructor(
    "tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node)
)


@functools.cache
def load_spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.load(handle, Loader=_Loader)
    return spec


def schema(name: str) -> dict[str, Any]:
    found: dict[str, Any] = load_spec()["components"]["schemas"][name]
    return found


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        parts = node["$ref"].removeprefix("#/").split("/")
        target: Any = load_spec()
        for part in parts:
            target = target[part]
        node = target
    return node


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


def errors(value: Any, node: dict[str, Any], where: str = "$") -> list[str]:
    """Every way ``value`` breaks ``node`` (empty when it conforms)."""
    node = _resolve(node)
    found: list[str] = []
    if value is None:
        if node.get("nullable") or (not node.get("type") and not node.get("properties")):
            return []
        return [f"{where}: null is not allowed"]
    kind = node.get("type")
    if kind is not None:
        allowed = _TYPES[kind]
        if (isinstance(value, bool) and bool not in allowed) or not isinstance(value, allowed):
            return [f"{where}: expected {kind}, got {type(value).__name__}"]
    if "enum" in node and value not in node["enum"]:
        found.append(f"{where}: {value!r} not in {node['enum']}")
    if node.get("format") == "date-time" and isinstance(value, str):
        try:
            aware = datetime.fromisoformat(value).tzinfo is not None
        except ValueError:
            aware = False
        if not aware:
            found.append(f"{where}: {value!r} is not an RFC 3339 date-time")
    for part in node.get("allOf", ()):
        found.extend(errors(value, part, where))
    for key in ("anyOf", "oneOf"):
        options = node.get(key)
        if options and all(errors(value, option, where) for option in options):
            found.append(f"{where}: matches none of {key}")
    if isinstance(value, dict):
        properties = node.get("properties", {})
        for name in node.get("required", ()):
            if name not in value:
                found.append(f"{where}: missing required {name!r}")
        for name, item in value.items():
            if name in properties:
                found.extend(errors(item, properties[name], f"{where}.{name}"))
            elif node.get("additionalProperties") is False:
                found.append(f"{where}: unexpected property {name!r}")
            elif isinstance(node.get("additionalProperties"), dict):
                found.extend(errors(item, node["additionalProperties"], f"{where}.{name}"))
    if isinstance(value, list) and "items" in node:
        for index, item in enumerate(value):
            found.extend(errors(item, node["items"], f"{where}[{index}]"))
    return found
