"""Jira Service Management (Cloud) connector, ``type: jira_sm``.

``create`` is the entry point of ``sla_connector.connectors``: the factory plus the settings
declaration the configuration reference and ``init`` are generated from. The package is cut
like every built-in connector: ``connector`` (polling, ``check``), ``settings``, ``cursor``
(JQL window and de-duplication), ``normalize`` (pure JSON -> ticket), ``history`` (full
changelog and comments when the search cut them short) and ``write``.
"""

from __future__ import annotations

from sla_connector.core.plugins import ConnectorPlugin
from sla_connector_psa.jira_sm.connector import JiraServiceManagement, build
from sla_connector_psa.jira_sm.settings import DECLARATION, JiraSettings, parse_settings

__all__ = ["DECLARATION", "JiraServiceManagement", "JiraSettings", "create", "parse_settings"]

create = ConnectorPlugin(build, DECLARATION)
