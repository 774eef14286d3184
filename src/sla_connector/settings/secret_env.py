"""Secrets by reference, as the settings layer exports them (``settings.resolve_secret``).

The rule itself (``NAME``, else the file ``NAME_FILE``) lives in ``core.secrets`` so the
connectors, which may not import the settings, resolve secrets the same way.
"""

from __future__ import annotations

from sla_connector.core.secrets import require_secret, resolve_secret

__all__ = ["require_secret", "resolve_secret"]
