"""Config models of the operational sections, in one place to import them from:
connectors, store, reports, notify, dashboard, runtime and adherence (DESIGN sections 2, 7
and 9).

Each section is defined in a module of its own (``settings.connector``, ``.daemon``,
``.reports``, ``.notify``, ``.dashboard``, ``.adherence``); this module only gathers
them, so ``AppConfig`` and existing callers keep one import path.
"""

from __future__ import annotations

from sla_connector.settings.adherence import AdherenceConfig
from sla_connector.settings.connector import ConnectorConfig
from sla_connector.settings.daemon import RuntimeConfig, StoreConfig, VirtualClockConfig
from sla_connector.settings.dashboard import DashboardConfig, is_loopback
from sla_connector.settings.notify import NotifyConfig, SlackConfig, SmtpConfig
from sla_connector.settings.reports import (
    BrandingConfig,
    MonthlySchedule,
    QuarterlySchedule,
    RecipientConfig,
    ReportsConfig,
    WeeklySchedule,
)

__all__ = [
    "AdherenceConfig",
    "BrandingConfig",
    "ConnectorConfig",
    "DashboardConfig",
    "MonthlySchedule",
    "NotifyConfig",
    "QuarterlySchedule",
    "RecipientConfig",
    "ReportsConfig",
    "RuntimeConfig",
    "SlackConfig",
    "SmtpConfig",
    "StoreConfig",
    "VirtualClockConfig",
    "WeeklySchedule",
    "is_loopback",
]
