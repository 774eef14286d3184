"""Secrets by reference, one rule for the whole product: ``NAME``, else the file ``NAME_FILE``.

A configuration key ending in ``_env`` names an environment variable. ``resolve_secret``
reads it, or, when it is unset or empty and ``NAME_FILE`` is set, the file that names (a
mounted Docker or Kubernetes secret), dropping the line ending such files usually carry. The
settings, the runtime and the connectors all resolve secrets here, so ``VARIABLE_FILE``
behaves the same for a store DSN, a webhook and a PSA token. ``mask_userinfo`` hides the
user-info of every URL in a text (a ``base_url`` or DSN written with a password). Only
``os``, ``pathlib`` and ``re``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from sla_connector.core.errors import ConfigError

__all__ = ["mask_userinfo", "require_secret", "resolve_secret"]

# ``scheme://user:password@`` anywhere in a text: the user-info runs to the last ``@``
# before the authority ends (``/``, ``?``, ``#`` or whitespace), so a password holding ``@``
# is masked whole. Masking too much is harmless; too little leaks.
_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^/?#\s]*)@")
MASK = "[redacted]"


def _masked(match: re.Match[str]) -> str:
    scheme, userinfo = match.group(1), match.group(2)
    user, colon, _ = userinfo.partition(":")
    # ``user:password@``: the user shows; a lone ``token@`` is all secret.
    return f"{scheme}{user}:{MASK}@" if colon else f"{scheme}{MASK}@"


def mask_userinfo(text: str) -> str:
    """``text`` with the password of every URL in it (``https://user:[redacted]@host``), or
    the whole user-info when it has no password part (``https://[redacted]@host``), masked."""
    if "@" not in text:
        return text
    return _USERINFO_RE.sub(_masked, text)


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
