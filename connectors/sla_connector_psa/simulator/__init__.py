"""The simulator PSA: ``type: simulator`` (embedded) and ``type: simulator_http`` (its client).

``create`` and ``create_http`` are the entry points of ``sla_connector.connectors``: each a
factory plus the settings declaration the configuration reference and ``init`` are
generated from. ``connector`` adapts the in-memory PSA (``state``, whose tickets ``life``
and ``catalogue`` generate from ``settings``) to the port; ``http_connector`` talks to the
same PSA served over loopback HTTP by ``server`` (``python -m sla_connector_psa.simulator.server``).
"""

from __future__ import annotations

from sla_connector.core.plugins import ConnectorPlugin
from sla_connector_psa.simulator import connector, http_connector
from sla_connector_psa.simulator.connector import SimulatorConnector
from sla_connector_psa.simulator.http_connector import SimulatorHttpConnector
from sla_connector_psa.simulator.settings import (
    DECLARATION,
    HTTP_DECLARATION,
    SimClient,
    SimStatuses,
    SimulatorConfig,
    SimulatorHttpSettings,
)
from sla_connector_psa.simulator.state import SimulatedPsa, SimWrite, UnknownTicketError

__all__ = [
    "DECLARATION",
    "HTTP_DECLARATION",
    "SimClient",
    "SimStatuses",
    "SimWrite",
    "SimulatedPsa",
    "SimulatorConfig",
    "SimulatorConnector",
    "SimulatorHttpConnector",
    "SimulatorHttpSettings",
    "UnknownTicketError",
    "create",
    "create_http",
]

create = ConnectorPlugin(connector.build, DECLARATION)
create_http = ConnectorPlugin(http_connector.build, HTTP_DECLARATION)
