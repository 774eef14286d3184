"""Secrets by reference, one rule for the whole product: ``NAME``, else the file ``NAME_FILE``.

A configuration key ending in ``_env`` names an environment variable. ``resolve_secret``
reads it, or, when it is unset or empty and ``NAME_FILE`` is set, the file that names (a
mounted Docker or Kubernetes secret), dropping the line ending such files usually carry. The
settings, the runtime and the connectors all resolve secrets here, so ``VARIABLE_FILE``
behaves the same for a store DSN, a webhook and a PSA token. Only ``os`` and ``pathlib``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sla_connector.core.errors import ConfigError

__all__ = ["require_secret", "resolve_secret"]


def resolve_secret(variable: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The secret in ``$variable``, else in the file ``$variable_FILE`` names; else None.

    An unreadable file is a ``ConfigError`` naming the variable and the file.
    """
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
