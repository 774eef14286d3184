"""Reading a connector's own keys from its ``connectors.<name>`` mapping.

Shared by the adapters so every connector reports a bad key the same way: a
``FatalConnectorError`` naming ``connectors.<name>.<key>`` and what it expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sla_connector.core.durations import parse_duration
from sla_connector.core.errors import ConfigError, FatalConnectorError
from sla_connector.core.secrets import resolve_secret

__all__ = ["duration", "key_path", "optional_str", "positive_int", "secret", "str_list", "str_map"]


def key_path(name: str, key: str) -> str:
    return f"connectors.{name}.{key}"


def str_map(name: str, settings: Mapping[str, Any], key: str) -> dict[str, str]:
    raw = settings.get(key) or {}
    if not isinstance(raw, Mapping):
        raise FatalConnectorError(f"{key_path(name, key)}: expected a mapping")
    return {str(k): str(v) for k, v in raw.items()}


def str_list(name: str, settings: Mapping[str, Any], key: str) -> list[str]:
    raw = settings.get(key) or []
    if isinstance(raw, str | int):
        raw = [raw]
    if not isinstance(raw, list | tuple):
        raise FatalConnectorError(f"{key_path(name, key)}: expected a list")
    return [str(item).strip() for item in raw if str(item).strip()]


def optional_str(name: str, settings: Mapping[str, Any], key: str) -> str | None:
    value = settings.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FatalConnectorError(f"{key_path(name, key)}: expected a string")
    return value.strip()


def duration(name: str, settings: Mapping[str, Any], key: str, default: timedelta) -> timedelta:
    """A clock duration (``2m``, ``30d``); business days make no sense here."""
    value = settings.get(key)
    if value is None:
        return default
    if isinstance(value, timedelta):
        return value
    try:
        parsed = parse_duration(str(value), allow_business_days=False)
    except ValueError as exc:
        raise FatalConnectorError(f"{key_path(name, key)}: {exc}") from None
    assert isinstance(parsed, timedelta)  # business days were refused above
    return parsed


def positive_int(
    name: str, settings: Mapping[str, Any], key: str, default: int, maximum: int | None = None
) -> int:
    value = settings.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FatalConnectorError(
            f"{key_path(name, key)}: expected a positive integer, got {value!r}"
        )
    if maximum is not None and value > maximum:
        raise FatalConnectorError(f"{key_path(name, key)}: at most {maximum}, got {value}")
    return value


def secret(
    name: str, settings: Mapping[str, Any], key: str, environ: Mapping[str, str]
) -> tuple[str, str]:
    """(variable, value) of a ``*_env`` key; the secret itself never comes from the YAML.

    Resolved by ``core.secrets`` like every secret of the product: ``VARIABLE``, else the file
    ``VARIABLE_FILE`` names (a mounted container or Kubernetes secret).
    """
    variable = settings.get(key)
    if not isinstance(variable, str) or not variable:
        raise FatalConnectorError(
            f"{key_path(name, key)}: name the environment variable that holds this secret"
        )
    try:
        value = resolve_secret(variable, environ)
    except ConfigError as exc:
        raise FatalConnectorError(f"{key_path(name, key)}: {exc.problem}") from None
    if not value:
        raise FatalConnectorError(
            f"{key_path(name, key)}: environment variable {variable} is not set "
            f"(nor {variable}_FILE)"
        )
    return variable, value
