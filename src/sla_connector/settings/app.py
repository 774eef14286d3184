"""``AppConfig``: the whole configuration file as one immutable pydantic-settings model.

Field-level problems surface as pydantic errors (turned into key paths by
``settings.errors``); references between sections are checked here once every section
is valid, raising ``ConfigError`` with the full key path directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from sla_connector.core.errors import ConfigError
from sla_connector.core.policy import Policy
from sla_connector.settings.build import build_policy
from sla_connector.settings.contracts import ContractConfig, ExclusionsConfig
from sla_connector.settings.fields import FrozenMap, Text
from sla_connector.settings.models import (
    CalendarConfig,
    ClassificationConfig,
    ClientConfig,
    ClocksConfig,
    EscalationStepConfig,
    TierConfig,
)
from sla_connector.settings.paths import format_path
from sla_connector.settings.services import (
    AdherenceConfig,
    ConnectorConfig,
    DashboardConfig,
    NotifyConfig,
    ReportsConfig,
    RuntimeConfig,
    StoreConfig,
)

__all__ = ["AppConfig"]

KeyPath = tuple[str | int, ...]


class AppConfig(BaseSettings):
    """The validated configuration file (DESIGN section 9); ``policy`` is its SLA policy."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    calendars: FrozenMap[str, CalendarConfig] = Field(
        min_length=1,
        description=(
            "Business calendars: when the service desk is open. Tiers measure their targets in "
            "business time of a calendar named here."
        ),
    )
    tiers: FrozenMap[str, TierConfig] = Field(
        min_length=1,
        description=(
            "SLA tiers, any number. Classification picks the most severe tier that matches; a "
            "ticket's targets are its tier's."
        ),
    )
    clocks: ClocksConfig = Field(
        default_factory=ClocksConfig,
        description="Clock options (see [semantics.md](semantics.md)).",
    )
    classification: ClassificationConfig = Field(
        default_factory=ClassificationConfig,
        description=(
            "How a ticket gets its tier: every matching rule is a candidate, the most severe tier"
            " wins, ties go to the rule listed first."
        ),
    )
    clients: FrozenMap[str, ClientConfig] = Field(
        default_factory=dict,
        description=(
            "Contracts by client key (connectors map PSA companies to these keys). A client not "
            "listed gets the global defaults."
        ),
    )
    roles: FrozenMap[str, Text] = Field(
        default_factory=dict,
        description=(
            "Role → person for every client. A step's `to` is looked up here (after the client's "
            "roles); a connector maps the person to a PSA user (`users`)."
        ),
        examples=["{team_lead: terry@msp.example}"],
    )
    escalations: FrozenMap[str, tuple[EscalationStepConfig, ...]] = Field(
        default_factory=dict,
        description=(
            "One ladder per tier. A step fires once per ticket and resolution cycle, at its due "
            "instant, whether the ticket is paused or not; a step due after the ticket was "
            "resolved does not fire."
        ),
    )
    connectors: FrozenMap[str, ConnectorConfig] = Field(
        default_factory=dict,
        description=(
            "One entry per PSA instance; the key is the `source` of its tickets. The keys below "
            "are common to all connectors; vendor keys follow."
        ),
    )
    store: StoreConfig = Field(
        default_factory=StoreConfig,
        description=(
            "Where state lives (cursors, clocks, the escalation ledger, the evidence log). The "
            "schema migrates itself when a process opens the store."
        ),
    )
    reports: ReportsConfig = Field(
        default_factory=ReportsConfig,
        description=(
            "Weekly (previous Monday-Sunday) and monthly (previous month) adherence reports and "
            "who receives them."
        ),
    )
    notify: NotifyConfig = Field(
        default_factory=NotifyConfig,
        description="Delivery channels for reports and escalation notices.",
    )
    dashboard: DashboardConfig = Field(
        default_factory=DashboardConfig,
        description=(
            "The dashboard, JSON API, `/metrics`, `/healthz` and `/readyz` served by `run`."
        ),
    )
    runtime: RuntimeConfig = Field(
        default_factory=RuntimeConfig,
        description="How the daemon behaves.",
    )
    exclusions: ExclusionsConfig = Field(
        default_factory=ExclusionsConfig,
        description="Clocks left out of contract objectives and credits because the PSA "
        "marks them (they stay breaches everywhere else).",
    )
    adherence: AdherenceConfig = Field(
        default_factory=AdherenceConfig,
        description="How live adherence is judged on the dashboard and in the reports.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the YAML mapping: secrets arrive through the variables ``*_env`` keys name.

        Environment overrides of whole sections are deliberately off: env names are
        case-insensitive, so ``P1`` and ``p1`` tiers could not be told apart.
        """
        return (init_settings,)

    @model_validator(mode="after")
    def _references(self) -> AppConfig:
        check_references(self)
        return self

    @cached_property
    def policy(self) -> Policy:
        """The pure domain policy built from this file (cached; the model is immutable)."""
        return build_policy(self)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy whose ``policy`` is rebuilt from its own fields (``update`` is not validated;
        prefer ``config_from_mapping`` for changes that need checking)."""
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("policy", None)
        return copied

    @property
    def default_tier(self) -> str:
        """``classification.default_tier``, else the least severe tier (first on a tie)."""
        configured = self.classification.default_tier
        if configured is not None:
            return configured
        return max(self.tiers, key=lambda key: self.tiers[key].severity)


def _known(kind: str, names: Mapping[str, Any]) -> str:
    return f"defined {kind}: {', '.join(names) or 'none'}"


def check_references(cfg: AppConfig) -> None:
    """Every tier and calendar a section names must exist; raise ``ConfigError`` if not."""

    def tier(path: tuple[str | int, ...], key: str | None) -> None:
        if key is not None and key not in cfg.tiers:
            known = _known("tiers", cfg.tiers)
            raise ConfigError(format_path(path), f"unknown tier {key!r}; {known}")

    def calendar(path: tuple[str | int, ...], name: str | None) -> None:
        if name is not None and name not in cfg.calendars:
            known = _known("calendars", cfg.calendars)
            raise ConfigError(format_path(path), f"unknown calendar {name!r}; {known}")

    for key, tier_cfg in cfg.tiers.items():
        calendar(("tiers", key, "calendar"), tier_cfg.calendar)
    tier(("classification", "default_tier"), cfg.classification.default_tier)
    for index, rule in enumerate(cfg.classification.rules):
        tier(("classification", "rules", index, "tier"), rule.tier)
    for key, client in cfg.clients.items():
        tier(("clients", key, "floor"), client.floor)
        tier(("clients", key, "default_tier"), client.default_tier)
        calendar(("clients", key, "calendar"), client.calendar)
        for tier_key, override in client.tiers.items():
            tier(("clients", key, "tiers", tier_key), tier_key)
            calendar(("clients", key, "tiers", tier_key, "calendar"), override.calendar)
        if client.contract is not None:
            check_contract(("clients", key, "contract"), client.contract, tier)
    steps_seen: dict[str, str] = {}
    for tier_key, steps in cfg.escalations.items():
        tier(("escalations", tier_key), tier_key)
        for index, step in enumerate(steps):
            tier(("escalations", tier_key, index, "priority"), step.priority)
            # The step name is the idempotency key of a firing (with source, ticket and
            # cycle), so two ladders sharing a name would suppress each other.
            path = format_path(("escalations", tier_key, index))
            if step.name in steps_seen:
                raise ConfigError(
                    f"{path}.name",
                    f"duplicate step name {step.name!r} (also {steps_seen[step.name]}); "
                    "step names identify firings and must be unique across all ladders",
                )
            steps_seen[step.name] = path
    for key, connector in cfg.connectors.items():
        for tier_key in connector.priority_map:
            tier(("connectors", key, "priority_map", tier_key), tier_key)


def check_contract(
    where: KeyPath, contract: ContractConfig, tier: Callable[[KeyPath, str | None], None]
) -> None:
    """The tiers a contract's objectives and tier entries name must exist."""
    sections: list[tuple[KeyPath, Any]] = [(where, contract)]
    sections += [((*where, "versions", i), v) for i, v in enumerate(contract.versions)]
    for path, terms in sections:
        for index, objective in enumerate(terms.objectives or ()):
            tier((*path, "objectives", index, "tier"), objective.tier_key)
        for tier_key in terms.tiers or {}:
            tier((*path, "tiers", tier_key), tier_key)
