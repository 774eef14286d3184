"""``sla_connector_psa.simulator_http``: the import path of the ``simulator_http`` entry point.

The client lives in ``sla_connector_psa.simulator.http_connector``; this module keeps the
path the entry point (and third-party code) has always named, re-exporting that module with
``create``, the entry point itself.
"""

from __future__ import annotations

from sla_connector_psa.simulator import SimulatorHttpSettings, http_connector
from sla_connector_psa.simulator import create_http as create
from sla_connector_psa.simulator.http_connector import *  # noqa: F403 (re-export)

__all__ = [*http_connector.__all__, "SimulatorHttpSettings", "create"]  # noqa: PLE0604 (unpacks strings)
