"""Secrets by reference: a config key ending in ``_env`` names an environment variable.

``resolve_secret("ZENDESK_API_TOKEN")`` reads that variable, or, when only
``ZENDESK_API_TOKEN_FILE`` is set, the file it names (Docker and Kubernetes secrets), so
a secret never has to be written into the YAML.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sla_connector.core.errors import ConfigError

__all__ = ["require_secret", "resolve_secret"]


def resolve_secret(variable: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The secret in ``$variable``, else in the file ``$variable_FILE`` names; else None."""
    env = os.environ if environ is None else environ
    value = env.get(variable)
    if value:
        return value
    file_name = env.get(f"{variable}_FILE")
    if not file_name:
        return None
    try:
        return Path(file_name).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(
            "", f"{variable}_FILE names {file_name!r}, which cannot be read ({exc.strerror or exc})"
        ) from None


def require_secret(variable: str, key_path: str, environ: Mapping[str, str] | None = None) -> str:
    """Like ``resolve_secret`` but a missing secret is a ``ConfigError`` naming the key."""
    value = resolve_secret(variable, environ)
    if not value:
        raise ConfigError(
            key_path, f"environment variable {variable} (or {variable}_FILE) is not set"
        )
    return value
