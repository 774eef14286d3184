"""``python -m sla_connector_psa.simulator_server``: the simulator server's documented command.

The server lives in ``sla_connector_psa.simulator.server`` (also runnable with
``python -m sla_connector_psa.simulator.server``); this module keeps the command and the
import path that scripts and the fault tests have always used, re-exporting that module.
"""

from __future__ import annotations

import sys

from sla_connector_psa.simulator import server
from sla_connector_psa.simulator.server import *  # noqa: F403 (re-export: server's __all__)

__all__ = server.__all__

if __name__ == "__main__":
    sys.exit(server.main())
