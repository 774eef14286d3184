"""What a connector plug-in declares about itself: its keys, and the entry ``init`` writes.

A connector declares its vendor keys once, next to its code (``<psa>/settings.py`` in the
built-in packages): name, type, default, description, example and, by the ``_env`` suffix,
which keys name a secret. An entry point of ``sla_connector.connectors`` names a
``ConnectorPlugin``: the factory plus that declaration, called exactly like the factory. The
configuration reference (``docs/configuration.md``) and ``sla-connector init`` read the
declarations through the registry, so a new connector brings its own documentation and its
own starter entry. A bare factory (no declaration) still loads; it is just undocumented.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from sla_connector.core.ports import Clock, Connector

__all__ = ["ConnectorPlugin", "ConnectorSettings", "SettingKey", "Starter", "StarterLine"]

C_co = TypeVar("C_co", bound=Connector, covariant=True)


@dataclass(frozen=True, slots=True)
class SettingKey:
    """One vendor key of a ``connectors.<name>`` entry, as the reference documents it.

    ``type`` and ``default`` are the words an operator reads (``whole number``, ``100``,
    ``required``); a literal default is written in backticks. ``example`` is YAML.
    ``together_with`` names the keys that must be set with this one (an OAuth client's id
    and secret).
    """

    key: str
    type: str
    default: str
    description: str
    example: str | None = None
    together_with: tuple[str, ...] = ()

    @property
    def secret(self) -> bool:
        """A ``*_env`` key names the environment variable that holds a secret."""
        return self.key.endswith("_env")


@dataclass(frozen=True, slots=True)
class StarterLine:
    """One ``key: value`` line of a starter entry; ``needs`` says what a named variable holds."""

    key: str
    value: str
    comment: str = ""
    needs: str = ""


@dataclass(frozen=True, slots=True)
class Starter:
    """The connector entry ``sla-connector init`` writes, and the URL question it asks.

    ``url`` is the default answer (None: the connector takes no URL and nothing is asked);
    a bare name typed as the URL becomes ``https://<name><bare_host>`` when ``bare_host`` is
    set. ``todo`` lists what is left to edit by hand.
    """

    entry: str
    lines: tuple[StarterLine, ...]
    url: str | None = None
    url_hint: str = ""
    bare_host: str = ""
    type_comment: str = ""
    todo: tuple[str, ...] = ()

    @property
    def secrets(self) -> tuple[tuple[str, str], ...]:
        """(environment variable, what to put in it) for every ``*_env`` line."""
        return tuple((line.value, line.needs) for line in self.lines if line.key.endswith("_env"))


@dataclass(frozen=True, slots=True)
class ConnectorSettings:
    """Everything a connector type declares: its keys, its docs page, its starter entry.

    ``reconcile_interval`` is the PSA's default time between full reads, used when the
    configuration sets none (a full read of some PSAs costs a request per open ticket).
    """

    type: str
    keys: tuple[SettingKey, ...]
    page: str
    starter: Starter | None = None
    reconcile_interval: timedelta | None = None

    def __post_init__(self) -> None:
        names = [key.key for key in self.keys]
        if len(names) != len(set(names)):
            raise ValueError(f"connector type {self.type}: a key is declared twice")

    def key(self, name: str) -> SettingKey:
        """The declaration of ``name``; KeyError when the connector does not read it."""
        for key in self.keys:
            if key.key == name:
                return key
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class ConnectorPlugin(Generic[C_co]):
    """What an entry point names: a ``ConnectorFactory`` that also declares its settings."""

    factory: Callable[[str, Mapping[str, Any], Clock], C_co]
    declaration: ConnectorSettings

    def __call__(self, name: str, settings: Mapping[str, Any], clock: Clock) -> C_co:
        return self.factory(name, settings, clock)
