"""Config models of the operational sections: connectors, store, reports, notify, dashboard
and runtime (DESIGN sections 2, 7 and 9).

Secrets never appear in the YAML: a key ending in ``_env`` names the environment variable
that holds one (``settings.secret_env.resolve_secret`` reads it). Connector entries type the
keys every connector shares and keep vendor keys as extras for the connector to validate.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from sla_connector.core.policy import StatusSets
from sla_connector.core.secrets import mask_userinfo
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
    "WeeklySchedule",
    "is_loopback",
]

_CONNECTOR_TYPE_RE = re.compile(r"[A-Za-z0-9_.-]+")
# Vendor keys that would hold a secret if written in the YAML; their ``<key>_env`` form
# names the variable instead.
_SECRET_KEY_RE = re.compile(
    r"(?:.*_)?(?:password|passwd|token|secret|api_key|apikey|private_key|public_key|client_secret)"
)
_STORE_SCHEMES = ("sqlite", "postgresql")
_COLOUR_RE = re.compile(r"#[0-9A-Fa-f]{6}")
_LOGO_TYPES = (".png", ".jpg", ".jpeg", ".svg")


class ConnectorConfig(Frozen):
    """One PSA connection: common keys typed here, vendor keys kept as extras."""

    model_config = ConfigDict(extra="allow")

    type: Text = Field(
        description="Connector name in the entry-point group `sla_connector.connectors`.",
        examples=["zendesk"],
    )
    base_url: str | None = Field(
        default=None,
        description=(
            "API root; `https://` (plain `http://` only for loopback). Required by connectwise "
            "and simulator_http."
        ),
        examples=["https://mspco.atlassian.net"],
    )
    poll_interval: Interval = Field(
        default=timedelta(seconds=60),
        description="How often the leading replica asks this PSA what changed.",
        examples=["30s"],
    )
    responded_statuses: TextList = Field(
        default=(),
        description="Statuses that stop the response clock (case-insensitive).",
        examples=['["In Progress"]'],
    )
    paused_statuses: TextList = Field(
        default=(),
        description="Statuses that pause the resolution clock.",
        examples=["[pending, hold]"],
    )
    resolved_statuses: TextList = Field(
        default=(),
        description="Statuses that stop the resolution clock; not also paused.",
        examples=["[solved, closed]"],
    )
    priority_map: FrozenMap[str, Text] = Field(
        default_factory=dict,
        description=(
            "Tier → PSA priority: what `set_priority` writes, and how a person's priority change "
            "is read as a tier."
        ),
        examples=["{P1: urgent, P2: high}"],
    )
    client_map: FrozenMap[str, Text] = Field(
        default_factory=dict,
        description=(
            "PSA company / organization → client key; an unmapped name becomes the lowercased "
            "name (logged once)."
        ),
        examples=['{"Acme Corp": acme}'],
    )
    users: FrozenMap[str, Text] = Field(
        default_factory=dict,
        description="Person → PSA user for `reassign` (see the connector page for the form).",
        examples=["{dana@msp.example: dlee}"],
    )
    requests_per_minute: int | None = Field(
        default=None,
        gt=0,
        le=100_000,
        description="Request budget in any 60 s window (default: the connector's own).",
        examples=["120"],
    )
    reconcile_interval: Interval | None = Field(
        default=None,
        description=(
            "How often a poll is a full read (open tickets and recent ones) instead of "
            "incremental (default: the connector's own, 24h for ConnectWise; else 1h)."
        ),
        examples=["6h"],
    )

    @model_validator(mode="after")
    def _check(self) -> ConnectorConfig:
        if not _CONNECTOR_TYPE_RE.fullmatch(self.type):
            raise FieldProblem("type", f"{self.type!r} is not a connector name (e.g. zendesk)")
        if self.base_url is not None and not self.base_url.startswith(("https://", "http://")):
            raise FieldProblem(
                "base_url", f"{mask_userinfo(self.base_url)!r} is not an http(s) URL"
            )
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

    url: Text = Field(
        default="sqlite:///sla-connector.db",
        description=(
            "`sqlite:///FILE` (one process) or `postgresql+psycopg://USER@HOST/DB` (several "
            "replicas; install the `postgres` extra)."
        ),
        examples=["sqlite:////var/lib/sla-connector/state.db"],
    )
    url_env: EnvVarName | None = Field(
        default=None,
        description=(
            "Variable holding the whole URL (with its password); used when set, else `url`. "
            "`VARIABLE_FILE` works too."
        ),
        examples=["SLA_STORE_URL"],
    )
    evidence_key_env: EnvVarName | None = Field(
        default=None,
        description=(
            "Variable holding the secret key of the evidence log (HMAC-SHA256 chain; "
            "`VARIABLE_FILE` works too). Without it the chain is unkeyed: it still catches an "
            "edited or deleted entry but not a rewrite of the whole log, and `check` warns. "
            "Every process reading or writing the store needs the same key."
        ),
        examples=["SLA_EVIDENCE_KEY"],
    )

    @model_validator(mode="after")
    def _scheme(self) -> StoreConfig:
        scheme = self.url.split(":", 1)[0].split("+", 1)[0].lower()
        if "://" not in self.url or scheme not in _STORE_SCHEMES:
            raise FieldProblem(
                "url",
                f"{mask_userinfo(self.url)!r} is not a supported store; use sqlite:///FILE or "
                "postgresql+psycopg://HOST/DB (the user and password in the URL the variable "
                "url_env names)",
            )
        return self


class WeeklySchedule(Frozen):
    """When the weekly report (previous Monday-Sunday) is sent, in the reports' time zone."""

    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        default="mon",
        description="Day of the week.",
        examples=["mon"],
    )
    at: TimeOfDay = Field(
        default=time(8, 0),
        description="Local time.",
        examples=['"08:00"'],
    )


class MonthlySchedule(Frozen):
    """When the monthly report (previous calendar month) is sent; days 1-28 exist every month."""

    day: int = Field(
        default=1,
        ge=1,
        le=28,
        description="Day of the month.",
        examples=["1"],
    )
    at: TimeOfDay = Field(
        default=time(8, 0),
        description="Local time.",
        examples=['"07:30"'],
    )


class QuarterlySchedule(Frozen):
    """When the quarterly evidence pack (previous calendar quarter) is sent: the first
    ``day`` after the quarter ends, in the reports' time zone; client recipients only."""

    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        default="mon",
        description="Day of the week: the first one after the quarter ends.",
        examples=["mon"],
    )
    at: TimeOfDay = Field(
        default=time(8, 0),
        description="Local time.",
        examples=['"08:00"'],
    )


class BrandingConfig(Frozen):
    """How the client's evidence pack (PDF and HTML) looks: the MSP's name, logo and colours."""

    msp_name: Text = Field(
        default="Your managed service provider",
        description="The MSP's name on the cover and in the executive summary.",
        examples=['"Northwind IT"'],
    )
    logo: Text | None = Field(
        default=None,
        description=(
            "A PNG, JPEG or SVG file for the cover (a path, relative to the working "
            "directory); it must exist when the configuration is loaded."
        ),
        examples=["branding/logo.png"],
    )
    primary_colour: Text = Field(
        default="#1d4ed8",
        description="Headings and the cover band, as `#RRGGBB`.",
        examples=['"#0f766e"'],
    )
    accent_colour: Text = Field(
        default="#f59e0b",
        description="The trend line's target and highlights, as `#RRGGBB`.",
        examples=['"#f59e0b"'],
    )

    @model_validator(mode="after")
    def _files_and_colours(self) -> BrandingConfig:
        for key in ("primary_colour", "accent_colour"):
            if not _COLOUR_RE.fullmatch(getattr(self, key)):
                raise FieldProblem(key, f"{getattr(self, key)!r} is not a colour like #1d4ed8")
        if self.logo is not None:
            path = Path(self.logo)
            if path.suffix.lower() not in _LOGO_TYPES:
                raise FieldProblem("logo", f"{self.logo}: use a .png, .jpg or .svg file")
            if not path.is_file():
                raise FieldProblem(
                    "logo", f"{self.logo} does not exist (or is not a file); fix the path"
                )
        return self


class RecipientConfig(Frozen):
    """Who receives a report: email addresses, a Slack incoming webhook and a Microsoft Teams
    webhook (Workflows or incoming webhook), each webhook URL by variable name."""

    email: TextList = Field(
        default=(),
        description="Addresses (sent through `notify.smtp`).",
        examples=["[it@acme.example]"],
    )
    slack_webhook_env: EnvVarName | None = Field(
        default=None,
        description="Variable holding a Slack incoming webhook URL.",
        examples=["ACME_SLACK_WEBHOOK"],
    )
    teams_webhook_env: EnvVarName | None = Field(
        default=None,
        description="Variable holding a Microsoft Teams webhook URL.",
        examples=["ACME_TEAMS_WEBHOOK"],
    )

    @model_validator(mode="after")
    def _addresses(self) -> RecipientConfig:
        for index, address in enumerate(self.email):
            if "@" not in address:
                raise FieldProblem(("email", index), f"{address!r} is not an email address")
        return self


class ReportsConfig(Frozen):
    """Report schedule, time zone and recipients (keyed by client key, or ``internal``)."""

    timezone: TimeZoneName = Field(
        default="UTC",
        description="Time zone of the schedule, the periods and displayed times.",
        examples=["Europe/London"],
    )
    weekly: WeeklySchedule = Field(
        default_factory=WeeklySchedule,
        description="When the weekly report is sent.",
    )
    monthly: MonthlySchedule = Field(
        default_factory=MonthlySchedule,
        description="When the monthly report (with the client's evidence pack) is sent.",
    )
    quarterly: QuarterlySchedule = Field(
        default_factory=QuarterlySchedule,
        description="When the quarterly evidence pack is sent to each client's recipients.",
    )
    branding: BrandingConfig = Field(
        default_factory=BrandingConfig,
        description="The MSP's name, logo and colours on the evidence packs.",
    )
    archive_dir: Text | None = Field(
        default=None,
        description=(
            "Folder where every delivered pack is also written, as "
            "`<client>-monthly-<YYYY-MM>.pdf` and `<client>-quarterly-<YYYY>-Q<n>.pdf` "
            "(the client portal lists it); created when missing."
        ),
        examples=["/var/lib/sla-connector/packs"],
    )
    recipients: FrozenMap[str, RecipientConfig] = Field(
        default_factory=dict,
        description=(
            "By client key (that client's report) or `internal` (the MSP's report of every client)."
        ),
    )


class SmtpConfig(Frozen):
    """The mail server that delivers reports and email notifications."""

    host: Text = Field(
        description="SMTP host.",
        examples=["smtp.msp.example"],
    )
    port: Port = Field(
        default=587,
        description="SMTP port.",
        examples=["465"],
    )
    starttls: bool = Field(
        default=True,
        description="STARTTLS on a plain connection (port 587).",
        examples=["true"],
    )
    ssl: bool = Field(
        default=False,
        description="Implicit TLS (port 465); not with `starttls`.",
        examples=["false"],
    )
    username_env: EnvVarName | None = Field(
        default=None,
        description="Variable holding the SMTP user name.",
        examples=["SMTP_USER"],
    )
    password_env: EnvVarName | None = Field(
        default=None,
        description="Variable holding the SMTP password.",
        examples=["SMTP_PASSWORD"],
    )
    sender: Text = Field(
        description="From address.",
        examples=['"SLA Reports <sla@msp.example>"'],
    )

    @model_validator(mode="after")
    def _tls(self) -> SmtpConfig:
        if self.ssl and self.starttls:
            raise FieldProblem(
                "ssl", "use either ssl (implicit TLS, port 465) or starttls, not both"
            )
        return self


class SlackConfig(Frozen):
    """The default Slack incoming webhook for notifications."""

    webhook_env: EnvVarName = Field(
        description=("Variable holding the webhook URL (`VARIABLE_FILE` works too)."),
        examples=["MSP_SLACK_WEBHOOK"],
    )


class NotifyConfig(Frozen):
    """Delivery channels for escalation notices and reports."""

    smtp: SmtpConfig | None = Field(
        default=None,
        description="Mail server for report email.",
    )
    slack: SlackConfig | None = Field(
        default=None,
        description=(
            "Slack webhook for the `notify` action; without it notices go to the log only."
        ),
    )


class DashboardConfig(Frozen):
    """The web dashboard, JSON API and /metrics."""

    bind: Text = Field(
        default="127.0.0.1",
        description="Listen address; bind `0.0.0.0` only with a token or behind a proxy.",
        examples=["0.0.0.0"],
    )
    port: Port = Field(
        default=8321,
        description="TCP port.",
        examples=["8321"],
    )
    token_env: EnvVarName | None = Field(
        default=None,
        description=(
            "Variable holding a bearer token; when set, every request (health included) needs it."
            " `VARIABLE_FILE` works too."
        ),
        examples=["DASHBOARD_TOKEN"],
    )
    portal_link_key_env: EnvVarName | None = Field(
        default=None,
        description=(
            "Variable holding the key that signs expiring client-portal links (HMAC-SHA256);"
            " without it the portal takes only the clients' tokens. `VARIABLE_FILE` works too."
        ),
        examples=["PORTAL_LINK_KEY"],
    )
    portal_link_days: int = Field(
        default=30,
        ge=1,
        le=366,
        description="How many days a signed client-portal link stays valid.",
        examples=["14"],
    )
    allowed_hosts: TextList = Field(
        default=(),
        description=(
            "Host names (or addresses) the dashboard answers to besides the loopback ones and"
            " a specific `bind` address; any other `Host` header gets 400, so DNS rebinding"
            ' cannot reach it. `"*"` turns the check off (a proxy checking it instead).'
        ),
        examples=['["sla.msp.example"]'],
    )
    allow_public_without_token: bool = Field(
        default=False,
        description=(
            "Serve a non-loopback `bind` without `token_env` (a warning is logged); without"
            " it such a configuration is refused."
        ),
        examples=["true"],
    )

    @model_validator(mode="after")
    def _public(self) -> DashboardConfig:
        if (
            not self.token_env
            and not is_loopback(self.bind)
            and not self.allow_public_without_token
        ):
            raise FieldProblem(
                "bind",
                f"{self.bind!r} is reachable from other machines but no token_env is set; "
                "set dashboard.token_env, bind 127.0.0.1, or set "
                "dashboard.allow_public_without_token: true",
            )
        return self


def is_loopback(host: str) -> bool:
    """Whether a bind address or host name is this machine only (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class VirtualClockConfig(Frozen):
    """Accelerated virtual time for demos and soak tests: start + (wall - anchor) x speed."""

    start: datetime = Field(
        description="Virtual time at `anchor`.",
        examples=['"2026-11-02T00:00:00Z"'],
    )
    anchor: datetime = Field(
        description="Wall-clock instant virtual time starts from.",
        examples=['"2026-11-01T12:00:00Z"'],
    )
    speed: float = Field(
        gt=0,
        le=1_000_000,
        allow_inf_nan=False,
        description="Virtual seconds per real second.",
        examples=["1440"],
    )

    @model_validator(mode="after")
    def _aware(self) -> VirtualClockConfig:
        for name in ("start", "anchor"):
            value = getattr(self, name)
            if value.tzinfo is None:
                raise FieldProblem(name, f"{value.isoformat()} needs a UTC offset")
        return self


class RuntimeConfig(Frozen):
    """Daemon behaviour."""

    dry_run: bool = Field(
        default=False,
        description=(
            "Shadow mode: compute, plan and record everything (as `would_fire`), write nothing to"
            " the PSA."
        ),
        examples=["true"],
    )
    horizon: Interval = Field(
        default=timedelta(days=90),
        description="How far ahead escalation steps are planned.",
        examples=["30d"],
    )
    backfill: Interval = Field(
        default=timedelta(hours=1),
        description=(
            "On the first start, steps due more than this before it are history and never fire."
        ),
        examples=["2h"],
    )
    max_attempts: int = Field(
        default=20,
        ge=1,
        le=1000,
        description=(
            "Attempts at a step whose write keeps failing before it is recorded as failed."
        ),
        examples=["10"],
    )
    retry_backoff: Interval = Field(
        default=timedelta(seconds=30),
        description=(
            "Wait after a write the PSA could not take; doubles with each failure in a row, up to"
            " ten times this."
        ),
        examples=["1m"],
    )
    late_after: Interval = Field(
        default=timedelta(seconds=60),
        description=(
            "An escalation written more than this after its due instant is late: so shown on "
            "the dashboard, in /metrics, in the PSA note, the Slack notice and the reports."
        ),
        examples=["5m"],
    )
    owner: Text | None = Field(
        default=None,
        description="This replica's name in leadership, claims and logs (default `host:pid`).",
        examples=["sla-1"],
    )
    clock: VirtualClockConfig | None = Field(
        default=None,
        description=(
            "Accelerated virtual time for demos and soak tests: `start + (now - anchor) * speed`."
            " Omit in production."
        ),
    )


class AdherenceConfig(Frozen):
    """How live adherence is judged (``core.vocabulary``): when a running clock is at risk."""

    at_risk: Percent = Field(
        default=0.75,
        description=(
            "A running clock that has used this share of its target (not yet breached) is "
            "at risk: listed, counted and exported as such."
        ),
        examples=["80%"],
    )
