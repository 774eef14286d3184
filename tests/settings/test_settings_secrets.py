"""Secrets come from the variable a ``*_env`` key names, or its ``_FILE`` twin."""

from __future__ import annotations

from pathlib import Path

import pytest

from sla_connector.core.errors import ConfigError
from sla_connector.settings import require_secret, resolve_secret


def test_secret_comes_from_the_named_variable() -> None:
    assert resolve_secret("ZENDESK_API_TOKEN", {"ZENDESK_API_TOKEN": "t0k"}) == "t0k"


def test_secret_file_is_read_when_the_variable_is_unset(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("from-file\n", encoding="utf-8")
    env = {"ZENDESK_API_TOKEN_FILE": str(secret)}
    assert resolve_secret("ZENDESK_API_TOKEN", env) == "from-file"


def test_variable_wins_over_file(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("from-file", encoding="utf-8")
    env = {"T": "direct", "T_FILE": str(secret)}
    assert resolve_secret("T", env) == "direct"


def test_unreadable_secret_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="T_FILE names"):
        resolve_secret("T", {"T_FILE": str(tmp_path / "missing")})


def test_missing_required_secret_names_the_key() -> None:
    assert resolve_secret("T", {}) is None
    with pytest.raises(ConfigError) as caught:
        require_secret("T", "connectors.zd.token_env", {})
    assert caught.value.path == "connectors.zd.token_env"
    assert "T (or T_FILE) is not set" in caught.value.problem
