"""Secrets the runtime reads, and keeping them out of every log line.

Every secret the composition root reads from the environment (webhook URLs, the dashboard
token, SMTP credentials, a store URL's password) is read through ``read_secret`` or
registered with ``remember``; ``scrub`` replaces each remembered secret, and the path and
query of a secret URL, and the user-info of any URL (``https://user:password@host``), with
``[redacted]``. The JSON log formatter scrubs every line with
it, so a secret that reaches a message by mistake (a library's exception text, say) is
still not written. Messages are kept free of secrets where they are made; this is the
second line.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from urllib.parse import urlsplit

from sla_connector.core.errors import ConfigError
from sla_connector.core.secrets import mask_userinfo
from sla_connector.reporting.delivery import scrub as scrub_text
from sla_connector.settings import resolve_secret

__all__ = ["read_secret", "remember", "remember_password_of", "remembered", "scrub"]

Environ = Mapping[str, str] | None
_MIN_LENGTH = 4  # shorter values would redact ordinary words
_lock = threading.Lock()
_secrets: set[str] = set()


def remember(*values: str | None) -> None:
    """Keep these secrets out of log lines from now on (a secret URL's path and query too)."""
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= _MIN_LENGTH)


def remember_password_of(url: str) -> None:
    """Keep the password of a database URL out of log lines (the rest of it may show)."""
    try:
        password = urlsplit(url).password
    except ValueError:  # not a URL the parser takes; the store reports it, masked
        return
    remember(password)


def remembered() -> frozenset[str]:
    with _lock:
        return frozenset(_secrets)


def scrub(text: str) -> str:
    """``text`` with every remembered secret (and a secret URL's path) and the user-info of
    every URL as ``[redacted]``."""
    text = mask_userinfo(text)
    secrets = remembered()
    if not secrets:
        return text
    # The longest first, so a URL goes before the password inside it.
    return scrub_text(text, *sorted(secrets, key=len, reverse=True))


def read_secret(variable: str, key: str, environ: Environ = None) -> tuple[str | None, str | None]:
    """(the secret in ``variable`` or ``variable_FILE``, or None if unset; None), or
    (None, why not) when the ``_FILE`` cannot be read; the reason names ``key``.

    The value read is remembered (``remember``).
    """
    try:
        value = resolve_secret(variable, environ) or None
    except ConfigError as exc:
        return None, f"{key}: {exc.problem}"
    remember(value)
    return value, None
