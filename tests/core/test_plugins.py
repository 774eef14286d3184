"""``core.plugins``: a connector's declaration, and the entry point that carries it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from sla_connector.core.plugins import (
    ConnectorPlugin,
    ConnectorSettings,
    SettingKey,
    Starter,
    StarterLine,
)


def test_env_keys_are_the_secrets_and_the_starter_lists_what_they_need() -> None:
    token = SettingKey("token_env", "environment variable name", "required", "Token.", "T")
    assert token.secret and not SettingKey("site", "text", "none", "Site.").secret
    starter = Starter(
        entry="x",
        lines=(StarterLine("token_env", "X_TOKEN", needs="an API token"), StarterLine("a", "1")),
    )
    assert starter.secrets == (("X_TOKEN", "an API token"),)


def test_a_key_declared_twice_is_refused_and_keys_are_found_by_name() -> None:
    key = SettingKey("page_size", "whole number", "`100`", "Tickets per page.")
    with pytest.raises(ValueError, match="declared twice"):
        ConnectorSettings(type="x", page="x", keys=(key, key))
    assert ConnectorSettings(type="x", page="x", keys=(key,)).key("page_size") is key
    with pytest.raises(KeyError):
        ConnectorSettings(type="x", page="x", keys=(key,)).key("other")


def test_a_plugin_is_called_exactly_like_its_factory() -> None:
    calls: list[tuple[str, Mapping[str, Any], object]] = []

    def factory(name: str, settings: Mapping[str, Any], clock: Any) -> Any:
        calls.append((name, settings, clock))
        return "connector"

    plugin = ConnectorPlugin(factory, ConnectorSettings(type="x", page="x", keys=()))
    assert plugin("n", {"k": 1}, "clock") == "connector"
    assert calls == [("n", {"k": 1}, "clock")]
