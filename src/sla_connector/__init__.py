"""sla-connector: SLA definition, enforcement and proof for MSPs, as a PSA sidecar.

The public surface is small: the business calendar, the policy and ticket values, the
evaluation entry point and the error hierarchy. Everything else is reached through the
``sla-connector`` command or its subpackages.
"""

from sla_connector.core.calendars import BusinessCalendar
from sla_connector.core.errors import (
    ConfigError,
    ConnectorError,
    FatalConnectorError,
    RetriableConnectorError,
    SlaConnectorError,
    StoreError,
    TicketError,
)
from sla_connector.core.evaluate import TicketEvaluation, evaluate
from sla_connector.core.policy import Policy
from sla_connector.core.ticket import Event, Ticket, parse_ticket

__all__ = [
    "BusinessCalendar",
    "ConfigError",
    "ConnectorError",
    "Event",
    "FatalConnectorError",
    "Policy",
    "RetriableConnectorError",
    "SlaConnectorError",
    "StoreError",
    "Ticket",
    "TicketError",
    "TicketEvaluation",
    "__version__",
    "evaluate",
    "parse_ticket",
]

__version__ = "0.1.0"
