"""Secrets by reference, as the settings layer exports them (``settings.resolve_secret``).

The rule itself (``NAME``, else the file ``NAME_FILE``) lives in ``core.secrets`` so the
connectors, which may not import the settings, resolve secrets the same way.
``named_secrets`` lists every variable a configuration names, with its key path, so that
``check`` can report all the missing ones in one run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from sla_connector.core.errors import ConfigError
from sla_connector.core.secrets import require_secret, resolve_secret

__all__ = [
    "NamedSecret",
    "missing_secrets",
    "named_secrets",
    "require_secret",
    "resolve_secret",
]

# Variables whose absence is a choice, not an error: no dashboard token means no
# bearer token is asked for (on the default loopback bind).
OPTIONAL_SECRETS = frozenset({"dashboard.token_env"})


@dataclass(frozen=True, slots=True)
class NamedSecret:
    """One ``*_env`` key of the configuration: where it is and which variable it names."""

    path: str
    variable: str

    @property
    def optional(self) -> bool:
        return self.path in OPTIONAL_SECRETS

    @property
    def section(self) -> str:
        """``connectors.cw``, ``notify.smtp``, ``reports.recipients.acme``: the owner."""
        return self.path.rsplit(".", 1)[0]


def named_secrets(config: BaseModel) -> tuple[NamedSecret, ...]:
    """Every ``*_env`` key set anywhere in the configuration (vendor keys of a connector
    entry included), in file order."""
    return tuple(_walk(config, ""))


def _walk(value: Any, path: str) -> Iterator[NamedSecret]:
    if isinstance(value, BaseModel):
        items: dict[str, Any] = {name: getattr(value, name) for name in type(value).model_fields}
        items.update(value.model_extra or {})
        for key, item in items.items():
            where = f"{path}.{key}" if path else key
            if key.endswith("_env") and isinstance(item, str) and item:
                yield NamedSecret(where, item)
            else:
                yield from _walk(item, where)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")


def missing_secrets(
    config: BaseModel, environ: Mapping[str, str] | None = None
) -> tuple[tuple[NamedSecret, str], ...]:
    """Each required secret the configuration names that cannot be read, with the reason:
    all of them, so that one run can report them all."""
    missing: list[tuple[NamedSecret, str]] = []
    for secret in named_secrets(config):
        if secret.optional:
            continue
        try:
            value = resolve_secret(secret.variable, environ)
        except ConfigError as exc:
            missing.append((secret, exc.problem))
            continue
        if not value:
            missing.append(
                (
                    secret,
                    f"environment variable {secret.variable} "
                    f"(or {secret.variable}_FILE) is not set",
                )
            )
    return tuple(missing)
