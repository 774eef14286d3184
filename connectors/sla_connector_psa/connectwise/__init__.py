"""ConnectWise PSA (Manage) connector, ``type: connectwise``.

``create`` is the entry point of ``sla_connector.connectors``: the factory plus the settings
declaration the configuration reference and ``init`` are generated from. The package is cut
like every built-in connector: ``connector`` (polling, ``check``), ``settings``, ``cursor``,
``normalize`` (pure JSON -> ticket), ``history`` and ``write``.
"""

from __future__ import annotations

from sla_connector.core.plugins import ConnectorPlugin
from sla_connector_psa.connectwise.connector import ConnectWiseConnector, build
from sla_connector_psa.connectwise.normalize import TAG_PREFIX
from sla_connector_psa.connectwise.settings import DECLARATION, CwSettings, parse_settings

__all__ = [
    "DECLARATION",
    "TAG_PREFIX",
    "ConnectWiseConnector",
    "CwSettings",
    "create",
    "parse_settings",
]

create = ConnectorPlugin(build, DECLARATION)
