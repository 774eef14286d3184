"""Load the configuration file: YAML text to a validated, immutable ``AppConfig``.

Every failure — a missing file, a YAML syntax error, a bad value, a dangling reference —
raises ``ConfigError`` with a one-line message naming the key path, which the CLI prints
and maps to exit code 2. The policy is built eagerly, so a config that loads is one the
engine can run.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sla_connector.core.errors import ConfigError
from sla_connector.core.plugins import ConnectorPlugin
from sla_connector.registry import load_connector_factory
from sla_connector.settings.app import AppConfig
from sla_connector.settings.errors import config_error_from_validation
from sla_connector.settings.services import ConnectorConfig
from sla_connector.settings.yaml_loader import MAX_CONFIG_BYTES, parse_yaml

__all__ = ["config_from_mapping", "load_config"]


def load_config(path: str | os.PathLike[str]) -> AppConfig:
    """Read, validate and build the configuration at ``path``."""
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_CONFIG_BYTES and file.is_file():
            raise ConfigError(
                "", f"{file}: {size} bytes; a configuration is at most {MAX_CONFIG_BYTES}"
            )
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("", f"{file}: no such file") from None
    except IsADirectoryError:
        raise ConfigError("", f"{file}: is a directory, not a YAML file") from None
    except UnicodeDecodeError as exc:
        problem = f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        raise ConfigError("", problem) from None
    except OSError as exc:
        raise ConfigError("", f"{file}: cannot read ({exc.strerror or exc})") from None
    return config_from_mapping(parse_yaml(text, source=str(file)), source=str(file))


def config_from_mapping(data: Any, source: str = "the configuration") -> AppConfig:
    """Validate an already parsed document (tests, the demo) and build its policy."""
    if data is None:
        raise ConfigError("", f"{source} is empty; start from config.example.yaml")
    if not isinstance(data, Mapping):
        raise ConfigError("", f"{source} must be a mapping of sections (calendars:, tiers:, ...)")
    try:
        config = AppConfig.model_validate(data)
        _ = config.policy  # build now: a file that loads is a policy that runs
    except ValidationError as exc:
        raise config_error_from_validation(exc, AppConfig) from None
    for name, entry in config.connectors.items():
        _check_vendor_keys(name, entry)
    return config


def _check_vendor_keys(name: str, entry: ConnectorConfig) -> None:
    """A key the connector type does not declare is an error, with a "did you mean" hint.

    The common keys are typed by ``ConnectorConfig``; the rest is what the connector
    declares next to its code. A third-party factory without a declaration is trusted.
    """
    factory = load_connector_factory(entry.type, name)
    if not isinstance(factory, ConnectorPlugin):
        return
    allowed = [*ConnectorConfig.model_fields, *(key.key for key in factory.declaration.keys)]
    for key in entry.model_extra or {}:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"connectors.{name}.{key}",
                f"unknown key for a {entry.type} connector; {hint}"
                f"see docs/connectors/{factory.declaration.page}.md",
            )
