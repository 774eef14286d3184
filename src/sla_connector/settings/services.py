"""Config models of the operational sections: connectors, store, reports, notify, dashboard
and runtime (DESIGN sections 2, 7 and 9).

Secrets never appear in the YAML: a key ending in ``_env`` names the environment variable
that holds one (``settings.secret_env.resolve_secret`` reads it). Connector entries type the
keys every connector shares and keep vendor keys as extras for the connector to validate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from types import MappingProxyType
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from sla_connector.core.policy import StatusSets
from sla_connector.settings.fields import (
    EnvVarName,
    FieldProblem,
    Frozen,
    FrozenMap,
    Interval,
    Percent,
    Port,
    Text,
    TextList,
    TimeOfDay,
    TimeZoneName,
)

__all__ = [
    "AdherenceConfig",
    "ConnectorConfig",
    "DashboardConfig",
    "MonthlySchedule",
    "NotifyConfig",
    "RecipientConfig",
    "ReportsConfig",
    "RuntimeConfig",
    "SlackConfig",
    "SmtpConfig",
    "StoreConfig",
    "WeeklySchedule",
]

_CONNECTOR_TYPE_RE = re.compile(r"[A-Za-z0-9_.-]+")
# Vendor keys that would hold a secret if written in the YAML; their ``<key>_env`` form
# names the variable instead.
_SECRET_KEY_RE = re.compile(
    r"(?:.*_)?(?:password|passwd|token|secret|api_key|apikey|private_key|public_key|client_secret)"
)
_STORE_SCHEMES = ("sqlite", "postgresql")


class ConnectorConfig(Frozen):
    """One PSA connection: common keys typed here, vendor keys kept as extras."""

    model_config = ConfigDict(extra="allow")

    type: Text
    base_url: str | None = None
    poll_interval: Interval = timedelta(seconds=60)
    responded_statuses: TextList = ()
    paused_statuses: TextList = ()
    resolved_statuses: TextList = ()
    priority_map: FrozenMap[str, Text] = Field(default_factory=dict)
    client_map: FrozenMap[str, Text] = Field(default_factory=dict)
    users: FrozenMap[str, Text] = Field(default_factory=dict)
    requests_per_minute: int | None = Field(default=None, gt=0)
    reconcile_interval: Interval = timedelta(hours=1)

    @model_validator(mode="after")
    def _check(self) -> ConnectorConfig:
        if not _CONNECTOR_TYPE_RE.fullmatch(self.type):
            raise FieldProblem("type", f"{self.type!r} is not a connector name (e.g. zendesk)")
        if self.base_url is not None and not self.base_url.startswith(("https://", "http://")):
            raise FieldProblem("base_url", f"{self.base_url!r} is not an http(s) URL")
        paused = {name.casefold() for name in self.paused_statuses}
        for index, name in enumerate(self.resolved_statuses):
            if name.casefold() in paused:
                raise FieldProblem(
                    ("resolved_statuses", index),
                    f"{name!r} is also in paused_statuses; a status either pauses or resolves",
                )
        for key, value in (self.model_extra or {}).items():
            if key.endswith("_env"):
                if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
                    raise FieldProblem(key, f"{value!r} is not an environment variable name")
            elif _SECRET_KEY_RE.fullmatch(key):
                raise FieldProblem(
                    key,
                    f"secrets are never written in the YAML; write {key}_env: VARIABLE "
                    "and put the secret in that environment variable",
                )
        return self

    @property
    def options(self) -> Mapping[str, Any]:
        """The vendor-specific keys (``subdomain``, ``boards``, ``token_env``...), read-only."""
        return MappingProxyType(dict(self.model_extra or {}))

    def status_sets(self) -> StatusSets:
        """The clock rules' status names for tickets from this connector."""
        return StatusSets.of(
            responded=self.responded_statuses,
            paused=self.paused_statuses,
            resolved=self.resolved_statuses,
        )


class StoreConfig(Frozen):
    """Where state lives: SQLite by default, PostgreSQL for high availability."""

    url: Text = "sqlite:///sla-connector.db"
    url_env: EnvVarName | None = None

    @model_validator(mode="after")
    def _scheme(self) -> StoreConfig:
        scheme = self.url.split(":", 1)[0].split("+", 1)[0].lower()
        if "://" not in self.url or scheme not in _STORE_SCHEMES:
            raise FieldProblem(
                "url",
                f"{self.url!r} is not a supported store; use sqlite:///FILE or "
                "postgresql+psycopg://USER@HOST/DB (put a password in the variable url_env names)",
            )
        return self


class WeeklySchedule(Frozen):
    """When the weekly report (previous Monday-Sunday) is sent, in the reports' time zone."""

    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    at: TimeOfDay = time(8, 0)


class MonthlySchedule(Frozen):
    """When the monthly report (previous calendar month) is sent; days 1-28 exist every month."""

    day: int = Field(default=1, ge=1, le=28)
    at: TimeOfDay = time(8, 0)


class RecipientConfig(Frozen):
    """Who receives a report: email addresses, a Slack incoming webhook and a Microsoft Teams
    webhook (Workflows or incoming webhook), each webhook URL by variable name."""

    email: TextList = ()
    slack_webhook_env: EnvVarName | None = None
    teams_webhook_env: EnvVarName | None = None

    @model_validator(mode="after")
    def _addresses(self) -> RecipientConfig:
        for index, address in enumerate(self.email):
            if "@" not in address:
                raise FieldProblem(("email", index), f"{address!r} is not an email address")
        return self


class ReportsConfig(Frozen):
    """Report schedule, time zone and recipients (keyed by client key, or ``internal``)."""

    timezone: TimeZoneName = "UTC"
    weekly: WeeklySchedule = Field(default_factory=WeeklySchedule)
    monthly: MonthlySchedule = Field(default_factory=MonthlySchedule)
    recipients: FrozenMap[str, RecipientConfig] = Field(default_factory=dict)


class SmtpConfig(Frozen):
    """The mail server that delivers reports and email notifications."""

    host: Text
    port: Port = 587
    starttls: bool = True
    ssl: bool = False
    username_env: EnvVarName | None = None
    password_env: EnvVarName | None = None
    sender: Text

    @model_validator(mode="after")
    def _tls(self) -> SmtpConfig:
        if self.ssl and self.starttls:
            raise FieldProblem(
                "ssl", "use either ssl (implicit TLS, port 465) or starttls, not both"
            )
        return self


class SlackConfig(Frozen):
    """The default Slack incoming webhook for notifications."""

    webhook_env: EnvVarName


class NotifyConfig(Frozen):
    """Delivery channels for escalation notices and reports."""

    smtp: SmtpConfig | None = None
    slack: SlackConfig | None = None


class DashboardConfig(Frozen):
    """The web dashboard, JSON API and /metrics."""

    bind: Text = "127.0.0.1"
    port: Port = 8321
    token_env: EnvVarName | None = None


class VirtualClockConfig(Frozen):
    """Accelerated virtual time for demos and soak tests: start + (wall - anchor) x speed."""

    start: datetime
    anchor: datetime
    speed: float = Field(gt=0)

    @model_validator(mode="after")
    def _aware(self) -> VirtualClockConfig:
        for name in ("start", "anchor"):
            value = getattr(self, name)
            if value.tzinfo is None:
                raise FieldProblem(name, f"{value.isoformat()} needs a UTC offset")
        return self


class RuntimeConfig(Frozen):
    """Daemon behaviour."""

    dry_run: bool = False
    horizon: Interval = timedelta(days=90)
    backfill: Interval = timedelta(hours=1)
    max_attempts: int = Field(default=20, ge=1)
    retry_backoff: Interval = timedelta(seconds=30)
    late_after: Interval = timedelta(seconds=60)
    owner: Text | None = None
    clock: VirtualClockConfig | None = None


class AdherenceConfig(Frozen):
    """How live adherence is judged (``core.vocabulary``): when a running clock is at risk."""

    at_risk: Percent = 0.75
