"""Connector discovery: every connector, built-in or third party, is an entry point.

Adapters register a ``ConnectorFactory`` in the entry-point group ``sla_connector.connectors``
(the built-ins in this project's pyproject.toml, exactly as a third party's package would).
Names are listed from installed metadata without importing anything; a factory's module is
imported only when a configuration asks for that ``type``, so a broken or slow optional
adapter costs nothing unless it is used. Only the configuration reference and ``init`` load
them all, to read the settings each one declares (``core.plugins.ConnectorPlugin``).
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import cast

from sla_connector.core.errors import ConfigError
from sla_connector.core.plugins import ConnectorPlugin, ConnectorSettings
from sla_connector.core.ports import ConnectorFactory

__all__ = [
    "ENTRY_POINT_GROUP",
    "available_connectors",
    "connector_declarations",
    "load_connector_factory",
]

ENTRY_POINT_GROUP = "sla_connector.connectors"


def _entry_points() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, entry)  # first registration of a name wins
    return found


def available_connectors() -> tuple[str, ...]:
    """The registered connector type names, sorted; imports no adapter code."""
    return tuple(sorted(_entry_points()))


def load_connector_factory(type_name: str, name: str = "<name>") -> ConnectorFactory:
    """Import and return the factory registered as ``type_name``.

    ``name`` is the connector's key in the configuration, used in the error's key path
    (``connectors.<name>.type``) so the operator sees which entry is wrong.
    """
    path = f"connectors.{name}.type"
    entry = _entry_points().get(type_name)
    if entry is None:
        available = ", ".join(available_connectors()) or "none installed"
        raise ConfigError(path, f"No connector named {type_name!r}; available: {available}")
    try:
        factory = entry.load()
    except Exception as exc:  # a plugin's import can fail in any way; report, don't crash
        raise ConfigError(
            path, f"connector {type_name!r} ({entry.value}) failed to load: {exc!r}"
        ) from exc
    if not callable(factory):
        raise ConfigError(path, f"connector {type_name!r} ({entry.value}) is not callable")
    return cast(ConnectorFactory, factory)


def connector_declarations() -> dict[str, ConnectorSettings]:
    """The settings declaration of every registered connector that ships one, by type name.

    Imports every connector (the configuration reference and ``init`` need them all); a
    factory registered without a declaration is left out: it is undocumented, not broken.
    """
    found: dict[str, ConnectorSettings] = {}
    for type_name in available_connectors():
        factory = load_connector_factory(type_name)
        if isinstance(factory, ConnectorPlugin):
            found[type_name] = factory.declaration
    return found
