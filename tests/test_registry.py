"""Connector discovery through the ``sla_connector.connectors`` entry-point group."""

from __future__ import annotations

import sys
from importlib.metadata import EntryPoint
from typing import Any

import pytest
from sla_connector_psa.connectwise import create as connectwise_create

from sla_connector import registry
from sla_connector.core.errors import ConfigError
from sla_connector.registry import available_connectors, load_connector_factory


def fake_group(*entries: tuple[str, str]) -> Any:
    points = [EntryPoint(name=n, value=v, group=registry.ENTRY_POINT_GROUP) for n, v in entries]

    def entry_points(*, group: str) -> list[EntryPoint]:
        assert group == registry.ENTRY_POINT_GROUP
        return points

    return entry_points


def test_builtin_connectors_are_registered_as_entry_points() -> None:
    assert available_connectors() == (
        "connectwise",
        "jira_sm",
        "simulator",
        "simulator_http",
        "zendesk",
    )


def test_unknown_type_names_the_key_and_lists_available_connectors() -> None:
    with pytest.raises(ConfigError) as info:
        load_connector_factory("zendsk", "zd")
    assert info.value.path == "connectors.zd.type"
    assert info.value.problem == (
        "No connector named 'zendsk'; available: "
        "connectwise, jira_sm, simulator, simulator_http, zendesk"
    )
    assert str(info.value).startswith("connectors.zd.type: No connector named 'zendsk'")


def test_connectwise_factory_loads_by_name() -> None:
    assert load_connector_factory("connectwise", "cw") is connectwise_create


def test_listing_imports_no_adapter_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        registry, "entry_points", fake_group(("lazy", "tests_never_imported_module:create"))
    )
    assert available_connectors() == ("lazy",)
    assert "tests_never_imported_module" not in sys.modules


def test_factory_that_fails_to_import_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        registry, "entry_points", fake_group(("broken", "tests_never_imported_module:create"))
    )
    with pytest.raises(ConfigError, match=r"connector 'broken' .* failed to load"):
        load_connector_factory("broken", "x")


def test_non_callable_entry_point_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        registry, "entry_points", fake_group(("odd", "sla_connector.registry:__all__"))
    )
    with pytest.raises(ConfigError, match="is not callable"):
        load_connector_factory("odd", "x")


def test_first_registration_of_a_duplicate_name_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        registry,
        "entry_points",
        fake_group(
            ("dup", "sla_connector.registry:available_connectors"),
            ("dup", "sla_connector.registry:load_connector_factory"),
        ),
    )
    assert load_connector_factory("dup") is available_connectors  # type: ignore[comparison-overlap]
