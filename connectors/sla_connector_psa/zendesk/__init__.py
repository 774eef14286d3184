"""Zendesk Support connector, ``type: zendesk``.

``create`` is the entry point of ``sla_connector.connectors``: the factory plus the settings
declaration the configuration reference and ``init`` are generated from. The package is cut
like every built-in connector: ``connector`` (polling, ``check``), ``settings``, ``cursor``,
``history`` (what the event stream and audits told us, per ticket), ``normalize`` (pure JSON
-> ticket) and ``write`` (one ticket update per escalation step: ``apply``).
"""

from __future__ import annotations

from sla_connector.core.plugins import ConnectorPlugin
from sla_connector_psa.zendesk.connector import EVENTS_PATH, EXPORT_PATH, ZendeskConnector, build
from sla_connector_psa.zendesk.settings import DECLARATION, ZendeskSettings, parse_settings

__all__ = [
    "DECLARATION",
    "EVENTS_PATH",
    "EXPORT_PATH",
    "ZendeskConnector",
    "ZendeskSettings",
    "create",
    "parse_settings",
]

create = ConnectorPlugin(build, DECLARATION)
