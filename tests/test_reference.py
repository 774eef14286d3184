"""The configuration reference stays true: generated from the models, complete, and honest
about the vendor keys each built-in connector reads (issue 6 acceptance)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from pydantic import BaseModel, Field, TypeAdapter
from sla_connector_psa.connectwise import settings as connectwise_settings
from sla_connector_psa.jira_sm import settings as jira_sm_settings
from sla_connector_psa.simulator import SimulatorConfig, SimulatorHttpSettings
from sla_connector_psa.zendesk import settings as zendesk_settings

from sla_connector.core.plugins import SettingKey
from sla_connector.registry import available_connectors, connector_declarations
from sla_connector.settings import config_from_mapping, load_config, parse_yaml, reference
from sla_connector.settings.fields import duration_text
from sla_connector.settings.reference import Entry, model_entries, render, vendor_entries
from sla_connector.settings.services import ConnectorConfig

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "configuration.md"
EXAMPLE = ROOT / "config.example.yaml"
COMMON = set(ConnectorConfig.model_fields)
ENV = {"VAR_A": "a", "VAR_B": "b", "VAR_C": "c"}
DECLARED = connector_declarations()
VENDOR_KEYS: dict[str, tuple[SettingKey, ...]] = {kind: d.keys for kind, d in DECLARED.items()}

# The smallest entry each connector accepts, and how it parses one.
MINIMAL: dict[str, dict[str, Any]] = {
    "connectwise": {
        "base_url": "https://api-na.myconnectwise.net/v4_6_release/apis/3.0",
        "company_id": "msp",
        "public_key_env": "VAR_A",
        "private_key_env": "VAR_B",
        "client_id_env": "VAR_C",
    },
    "jira_sm": {"site": "msp", "email_env": "VAR_A", "token_env": "VAR_B", "projects": ["IT"]},
    "zendesk": {"subdomain": "msp", "email_env": "VAR_A", "token_env": "VAR_B"},
    "simulator": {},
    "simulator_http": {"base_url": "http://127.0.0.1:9"},
}
PARSE: dict[str, Callable[[Mapping[str, Any], Mapping[str, str]], Any]] = {
    "connectwise": lambda s, env: connectwise_settings.parse_settings("c", s, env),
    "jira_sm": lambda s, env: jira_sm_settings.parse_settings("c", s, env),
    "zendesk": lambda s, env: zendesk_settings.parse_settings("c", s, env),
    "simulator": lambda s, env: SimulatorConfig.from_settings(
        "c", s, datetime(2026, 11, 2, tzinfo=UTC)
    ),
    # The HTTP connector reads its transport keys; its server reads the simulator's keys
    # from the same entry (``simulator.server --config``).
    "simulator_http": lambda s, env: (
        SimulatorHttpSettings.from_settings("c", s),
        SimulatorConfig.from_settings("c", s, datetime(2026, 11, 2, tzinfo=UTC)),
    )[0],
}


class RecordingMapping(dict[str, Any]):
    """A dict that remembers every key a parser looked up, present or not."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__(data)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


def _pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"(<[a-z]+>)", path)
    body = "".join(r"[^.\[\]]+" if part.startswith("<") else re.escape(part) for part in parts)
    return re.compile(body)


def _paths(node: Any, prefix: str = "") -> Iterator[str]:
    """Every key path of a document, list positions written ``[]``."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield path
            yield from _paths(value, path)
    elif isinstance(node, list):
        for item in node:
            yield from _paths(item, f"{prefix}[]")


def _prefixes(pattern: str) -> Iterator[str]:
    """The patterns of the levels above a key: ``a.<b>`` and ``a`` for ``a.<b>.c``."""
    for index, char in enumerate(pattern):
        if char in ".[" and index:
            yield pattern[:index]


NAME_LEVEL = Entry("", "", "", "", None, leaf=False)


def _documented(path: str, entries: list[Entry]) -> Entry | None:
    """The entry of a concrete path; NAME_LEVEL for a level such as ``calendars.uk``; the
    leaf entry whose data the path lies inside (``roles.x``); None when undocumented."""
    for entry in entries:
        if _pattern(entry.path).fullmatch(path):
            return entry
    for entry in entries:
        match = _pattern(entry.path).match(path)
        if entry.leaf and match and match.end() < len(path) and path[match.end()] in ".[":
            return entry
    for entry in entries:
        if any(_pattern(prefix).fullmatch(path) for prefix in _prefixes(entry.path)):
            return NAME_LEVEL
    return None


def test_committed_reference_is_what_the_generator_renders() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == render(), (
        "docs/configuration.md is stale: python -m sla_connector.settings.reference "
        "> docs/configuration.md"
    )


def test_every_model_key_has_a_type_default_and_description() -> None:
    entries = model_entries()
    assert len(entries) > 90
    for entry in entries:
        assert entry.type and entry.default and entry.description, entry.path
        assert "<class" not in entry.type, entry.path


def test_every_key_of_the_example_config_is_in_the_reference() -> None:
    document = parse_yaml(EXAMPLE.read_text(encoding="utf-8"), str(EXAMPLE))
    entries = model_entries() + [e for d in DECLARED.values() for e in vendor_entries(d)]
    text = REFERENCE.read_text(encoding="utf-8")
    paths = list(_paths(document))
    assert "connectors.cw.company_id" in paths and "escalations.P1[].note" in paths
    for path in paths:
        entry = _documented(path, entries)
        assert entry is not None, f"{path} is not in docs/configuration.md"
        if entry is not NAME_LEVEL:
            assert f"`{entry.path}`" in text or f"## {entry.path}\n" in text, entry.path


def test_vendor_keys_of_the_example_are_documented_for_their_connector_type() -> None:
    document = parse_yaml(EXAMPLE.read_text(encoding="utf-8"), str(EXAMPLE))
    for name, entry in document["connectors"].items():
        documented = {key.key for key in VENDOR_KEYS[entry["type"]]}
        for key in set(entry) - COMMON:
            assert key in documented, f"connectors.{name}.{key} ({entry['type']})"


def test_example_config_passes_validation() -> None:
    config = load_config(EXAMPLE)
    assert set(config.connectors) == {"cw", "jsm", "zd", "sim"}


def test_a_key_missing_from_the_reference_is_caught() -> None:
    entries = model_entries()
    assert _documented("tiers.P1.respnse", entries) is None
    assert _documented("calendars.uk.hours.mon-fri", entries) is not None  # data of a leaf
    assert _documented("escalations.P1[].after", entries) is not None
    assert _documented("calendars.uk", entries) is NAME_LEVEL
    assert _documented("calendars.uk.opening", entries) is None


@pytest.mark.parametrize(
    "entry", [e for e in model_entries() if e.annotation is not None], ids=lambda e: e.path
)
def test_model_key_examples_are_valid_values(entry: Entry) -> None:
    assert entry.example is not None, f"{entry.path} has no example"
    TypeAdapter(entry.annotation).validate_python(parse_yaml(entry.example))


def test_every_registered_connector_type_declares_its_vendor_keys() -> None:
    assert set(available_connectors()) == set(DECLARED)
    assert all(declaration.type == kind for kind, declaration in DECLARED.items())


def test_a_model_field_without_a_description_stops_the_generator() -> None:
    """The words live on the models (``Field(description=...)``): a new key needs them."""

    class Section(BaseModel):
        described: int = Field(default=1, description="Has words.", examples=["2"])
        bare: int = 1

    with pytest.raises(LookupError, match=r"x\.bare: no description"):
        list(reference._walk(Section, "x"))


@pytest.mark.parametrize("kind", sorted(VENDOR_KEYS))
def test_vendor_keys_are_exactly_the_keys_the_connector_reads(kind: str) -> None:
    settings = RecordingMapping(MINIMAL[kind])
    PARSE[kind](settings, ENV)
    documented = {key.key for key in VENDOR_KEYS[kind]}
    assert not documented & COMMON
    assert settings.read - COMMON == documented


@pytest.mark.parametrize(
    ("kind", "key"),
    [(kind, key) for kind in sorted(VENDOR_KEYS) for key in VENDOR_KEYS[kind]],
    ids=lambda value: getattr(value, "key", value),
)
def test_vendor_key_examples_are_accepted_by_the_connector(kind: str, key: Any) -> None:
    assert key.example is not None
    settings = dict(MINIMAL[kind])
    environ = dict(ENV)
    declared = {k.key: k for k in VENDOR_KEYS[kind]}
    for name in (key.key, *key.together_with):  # keys set only in pairs come with their pair
        value = parse_yaml(declared[name].example)
        settings[name] = value
        if name.endswith("_env"):
            environ[value] = "secret"
    PARSE[kind](settings, environ)


def _shown(value: Any) -> str:
    if isinstance(value, timedelta):
        return duration_text(value)
    if isinstance(value, frozenset | tuple | list):
        return "[" + ", ".join(sorted(str(item) for item in value)) + "]"
    if isinstance(value, Mapping):
        return "{}" if not value else str(dict(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, ZoneInfo):
        return value.key
    return '""' if value == "" else str(value)


@pytest.mark.parametrize("kind", sorted(VENDOR_KEYS))
def test_documented_vendor_defaults_are_the_connectors_defaults(kind: str) -> None:
    parsed = PARSE[kind](MINIMAL[kind], ENV)
    checked = 0
    for key in VENDOR_KEYS[kind]:
        literal = re.fullmatch(r"`([^`]*)`(?: \(.*\))?", key.default)
        if literal is None or not hasattr(parsed, key.key):
            continue
        assert _shown(getattr(parsed, key.key)) == literal.group(1), key.key
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("kind", sorted(VENDOR_KEYS))
def test_connector_page_describes_every_vendor_key(kind: str) -> None:
    page = DECLARED[kind].page
    text = (ROOT / "docs" / "connectors" / f"{page}.md").read_text(encoding="utf-8")
    for key in VENDOR_KEYS[kind]:
        assert f"`{key.key}`" in text, f"docs/connectors/{page}.md does not mention {key.key}"


@pytest.mark.parametrize("manifest", ["configmap.yaml", "sidecar.yaml"])
def test_shipped_kubernetes_configurations_pass_validation(manifest: str) -> None:
    path = ROOT / "deploy" / "kubernetes" / manifest
    maps = [
        doc
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if doc and doc.get("kind") == "ConfigMap"
    ]
    assert maps, f"{manifest} holds no ConfigMap"
    for config_map in maps:
        config = config_from_mapping(parse_yaml(config_map["data"]["config.yaml"]), manifest)
        assert config.runtime.dry_run is True  # the shipped examples start in shadow mode


def test_dockerfile_runs_the_daemon_as_a_non_root_user_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    user = re.search(r"^USER (\S+)", text, re.MULTILINE)
    assert user is not None and not user.group(1).startswith(("root", "0"))
    assert re.search(r"^HEALTHCHECK .*\n?.*healthcheck\.py", text, re.MULTILINE)
    assert 'CMD ["run", "-c", "/etc/sla-connector/config.yaml"]' in text
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, re.MULTILINE):
        assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
