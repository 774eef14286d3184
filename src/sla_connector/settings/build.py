"""Build the pure domain ``Policy`` from a validated ``AppConfig``.

Everything here is a straight translation into core values (``BusinessCalendar``, ``Tier``,
``Rule``, ``Client``, ``EscalationStep``, ``StatusSets``); errors the core still raises
(a calendar's holidays) are re-anchored at their full key path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sla_connector.core.calendars import BusinessCalendar
from sla_connector.core.errors import ConfigError
from sla_connector.core.policy import (
    Client,
    EscalationStep,
    Policy,
    Rule,
    Tier,
    TierOverride,
)
from sla_connector.settings.paths import format_path, join_path

if TYPE_CHECKING:
    from sla_connector.settings.app import AppConfig
    from sla_connector.settings.models import (
        CalendarConfig,
        ClientConfig,
        EscalationStepConfig,
        RuleConfig,
    )

__all__ = ["build_policy"]


def build_policy(cfg: AppConfig) -> Policy:
    """The SLA policy of a configuration; raise ``ConfigError`` naming the key at fault."""
    calendars = {name: _calendar(name, entry) for name, entry in cfg.calendars.items()}
    tiers = {
        key: Tier(
            key=key,
            name=tier.name or key,
            severity=tier.severity,
            response=tier.response,
            resolution=tier.resolution,
            calendar=tier.calendar,
        )
        for key, tier in cfg.tiers.items()
    }
    rules = tuple(_rule(index, rule) for index, rule in enumerate(cfg.classification.rules))
    clients = {key: _client(key, client) for key, client in cfg.clients.items()}
    escalations = {
        tier_key: tuple(_step(step) for step in steps)
        for tier_key, steps in cfg.escalations.items()
    }
    sources = {key: connector.status_sets() for key, connector in cfg.connectors.items()}
    return Policy(
        calendars=calendars,
        tiers=tiers,
        default_tier=cfg.default_tier,
        rules=rules,
        clients=clients,
        roles=dict(cfg.roles),
        escalations=escalations,
        sources=sources,
        reopen=cfg.clocks.reopen,
        respect_manual_priority=cfg.classification.respect_manual_priority,
    )


def _calendar(name: str, entry: CalendarConfig) -> BusinessCalendar:
    try:
        return BusinessCalendar.from_config(entry.as_mapping(), name=name)
    except ConfigError as exc:
        path = join_path(format_path(("calendars", name)), exc.path)
        raise ConfigError(path, exc.problem) from None


def _rule(index: int, rule: RuleConfig) -> Rule:
    try:
        return Rule.build(
            rule.name,
            rule.tier,
            keywords=rule.keywords,
            unless=rule.unless,
            regex=rule.regex,
            fields=rule.fields,
            channel=rule.channel,
            source_priority=rule.source_priority,
            client_tier=rule.client_tier,
        )
    except ConfigError as exc:
        path = join_path(format_path(("classification", "rules", index)), exc.path)
        raise ConfigError(path, exc.problem) from None


def _client(key: str, client: ClientConfig) -> Client:
    overrides = {
        tier_key: TierOverride(
            name=override.name,
            severity=override.severity,
            response=override.response,
            resolution=override.resolution,
            calendar=override.calendar,
        )
        for tier_key, override in client.tiers.items()
    }
    return Client(
        key=key,
        tier=client.tier,
        floor=client.floor,
        default_tier=client.default_tier,
        target_adherence=client.target_adherence,
        calendar=client.calendar,
        tiers=overrides,
        roles=dict(client.roles),
        name=client.name,
    )


def _step(step: EscalationStepConfig) -> EscalationStep:
    return EscalationStep(
        name=step.name,
        on=step.trigger,
        to=step.to,
        actions=step.actions,
        after=step.after,
        at=step.at,
        note=step.note,
        tag=step.tag,
        priority=step.priority,
    )
