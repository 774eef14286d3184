"""Issue 11 item 10: configurations generated from the schema never crash ``check``.

Values come from the settings models' own JSON Schema (``AppConfig.model_json_schema()``):
for a key the schema types, values of that type (in and out of its bounds, nested objects
and lists as the schema shapes them), mixed with hostile ones (huge numbers and durations,
``.inf``, NaN, deep nesting, wrong types, unknown keys). Each is put in place of one value
of the bundled example policy, or added as a key, and the file goes through ``sla-connector
check --no-connect`` in-process. The outcome is "configuration OK" and exit 0, or one line
``sla-connector: configuration error: ...`` and exit 2, or (a valid file naming a
variable that is unset) the pre-flight's verdict and exit 1; never a traceback (an exception
escaping ``main`` fails the test) and never another exit code.
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla_connector.cli import main
from sla_connector.cli.common import ExitCode
from sla_connector.settings import AppConfig, parse_yaml

ROOT = Path(__file__).resolve().parents[2]
BASE = parse_yaml((ROOT / "examples" / "policy.yaml").read_text())
SCHEMA = AppConfig.model_json_schema()
DEFS: dict[str, Any] = SCHEMA.get("$defs", {})

HOSTILE_TEXT = [
    "99999999bd",
    "99999999999999999999h",
    "9" * 5000,
    ".inf",
    "-1h",
    "0s",
    "1e400",
    "P1",
    "mon-fri",
    "25:00",
    "00:00-25:00",
    "(a+)+$",
    "[unclosed",
    "\x00",
    "Europe/Nowhere",
    "sqlite:///",
    "postgresql+psycopg://u:p@h:x/db",
    "https://user:pw@host:99999/",
    "",
    " ",
]
hostile: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
    st.recursive(st.integers(), lambda inner: st.lists(inner, max_size=1), max_leaves=60),
)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    for _ in range(20):
        ref = node.get("$ref")
        if ref is None:
            break
        node = DEFS[ref.rsplit("/", 1)[-1]]
    return node


def from_schema(node: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values shaped by a JSON Schema node, with hostile values mixed in at every level."""
    node = _resolve(node)
    options: list[st.SearchStrategy[Any]] = [hostile]
    for key in ("anyOf", "oneOf", "allOf"):
        options += [from_schema(sub, depth) for sub in node.get(key, [])]
    if "enum" in node:
        options.append(st.sampled_from(node["enum"]))
    if "const" in node:
        options.append(st.just(node["const"]))
    kind = node.get("type")
    if kind == "string":
        options.append(st.text(max_size=16))
        if "examples" in node:
            options.append(st.sampled_from([str(e) for e in node["examples"]]))
    elif kind == "integer":
        low, high = node.get("minimum", -(10**6)), node.get("maximum", 10**6)
        options.append(st.integers(min_value=int(low) - 2, max_value=int(high) + 2))
    elif kind == "number":
        options.append(st.floats(allow_nan=True, allow_infinity=True))
    elif kind == "boolean":
        options.append(st.booleans())
    elif kind == "array" and depth < 4:
        items = node.get("items") or node.get("prefixItems", [{}])[0]
        options.append(st.lists(from_schema(items, depth + 1), max_size=3))
    elif kind == "object" and depth < 4:
        properties = node.get("properties", {})
        if properties:
            optional = {k: from_schema(v, depth + 1) for k, v in properties.items()}
            options.append(st.fixed_dictionaries({}, optional=optional))
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            options.append(
                st.dictionaries(
                    st.text(min_size=1, max_size=8), from_schema(extra, depth + 1), max_size=2
                )
            )
    return st.one_of(*options)


def _child(node: dict[str, Any] | None, key: str | int) -> dict[str, Any] | None:
    """The schema of ``key`` inside ``node`` (None where the schema says nothing)."""
    if node is None:
        return None
    node = _resolve(node)
    for sub in node.get("anyOf", []):
        found = _child(sub, key)
        if found is not None:
            return found
    if isinstance(key, int):
        items = node.get("items")
        return items if isinstance(items, dict) else None
    if key in node.get("properties", {}):
        return node["properties"][key]
    extra = node.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


PATHS = _paths(BASE)
SECRETS = ("ZENDESK_EMAIL", "ZENDESK_API_TOKEN")


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    """The example policy with one value replaced (or one key added) from the schema."""
    data = copy.deepcopy(BASE)
    path = draw(st.sampled_from(PATHS))
    node: dict[str, Any] | None = SCHEMA
    for key in path:
        node = _child(node, key)
    parent: Any = data
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and draw(st.booleans()) and draw(st.booleans()):
        key = draw(st.sampled_from(["typo_key", "reponse", "base_urll", "tier", "x" * 200]))
        parent[key] = draw(hostile)
    else:
        parent[path[-1]] = draw(from_schema(node) if node is not None else hostile)
    return data


def _dump(data: dict[str, Any]) -> str | None:
    try:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, ValueError, OverflowError):
        return None


@settings(
    max_examples=int(os.environ.get("SLA_FUZZ_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=configs())
def test_item_10_generated_configs_are_ok_or_one_line_exit_2_never_a_traceback(
    data: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in SECRETS:  # those the example names, so that it passes the pre-flight as is
        monkeypatch.setenv(name, "fuzz-secret-value")
    text = _dump(data)
    if text is None:
        return
    path = tmp_path_factory.mktemp("fuzz") / "config.yaml"
    path.write_text(text, encoding="utf-8")
    code = main(["check", "-c", str(path), "--no-connect"])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    if code == ExitCode.OK:
        assert out.out.startswith("configuration OK")
    elif code == ExitCode.FINDINGS:  # valid, but the pre-flight found a secret unset
        assert "verdict: NOT READY" in out.out and not out.err.strip()
    else:
        assert code == ExitCode.USAGE, (code, out.err)
        lines = out.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("sla-connector: configuration error: ")


def test_the_strategies_reach_the_schema() -> None:
    assert len(PATHS) > 100
    node: dict[str, Any] | None = SCHEMA
    for key in ("tiers", "P1", "response"):
        node = _child(node, key)
    assert node is not None
    assert math.isfinite(len(DEFS)) and "DashboardConfig" in DEFS


def test_found_by_the_fuzz_a_newline_in_a_value_still_gives_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = copy.deepcopy(BASE)
    data["calendars"]["uk-office"]["holidays"]["country"] = "G\nB"
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["check", "-c", str(path), "--no-connect"]) == ExitCode.USAGE
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
