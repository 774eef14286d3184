"""Build the pure domain ``Policy`` from a validated ``AppConfig``.

Everything here is a straight translation into core values (``BusinessCalendar``, ``Tier``,
``Rule``, ``Client``, ``Contract``, ``EscalationStep``, ``StatusSets``); errors the core
still raises (a calendar's holidays) are re-anchored at their full key path.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from sla_connector.core.calendars import BusinessCalendar
from sla_connector.core.contracts import (
    Chronic,
    Contract,
    ContractTierTerms,
    ContractVersion,
    Objective,
)
from sla_connector.core.credits import Band, Bands, CreditShape, FixedShare, PerPoint
from sla_connector.core.errors import ConfigError
from sla_connector.core.exclusions import EXCLUDABLE_CLOCKS, ExclusionTag
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
    from sla_connector.settings.contracts import ContractConfig, CreditConfig
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
            pause_allowed=tier.pause != "never",
            max_pause=tier.max_pause,
        )
        for key, tier in cfg.tiers.items()
    }
    rules = tuple(_rule(index, rule) for index, rule in enumerate(cfg.classification.rules))
    clients = {
        key: _client(key, client, cfg.reports.timezone) for key, client in cfg.clients.items()
    }
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
        exclusion_tags=tuple(
            ExclusionTag(
                tag=tag,
                reason=rule.reason,
                clocks=EXCLUDABLE_CLOCKS if rule.clock == "both" else (rule.clock,),
            )
            for tag, rule in cfg.exclusions.tags.items()
        ),
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


def _client(key: str, client: ClientConfig, report_zone: str) -> Client:
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
        contract=None if client.contract is None else _contract(client.contract, report_zone),
    )


def _contract(contract: ContractConfig, report_zone: str) -> Contract:
    """The core contract: each version with the contract's defaults filled in."""
    versions = []
    for where, terms in contract.effective_terms():
        source = contract.versions[int(where[1])] if where else None
        versions.append(
            ContractVersion(
                start=source.start if source is not None else date.min,
                end=source.until if source is not None else None,
                fee=terms.fee,
                cap=terms.cap if terms.cap is not None else Decimal(1),
                objectives=tuple(
                    Objective(
                        clock=objective.clock,
                        target=objective.target,
                        tier=objective.tier_key,
                        min_volume=objective.min_volume,
                        credit=None if objective.credit is None else _credit(objective.credit),
                    )
                    for objective in terms.objectives or ()
                ),
                chronic=(
                    None
                    if terms.chronic is None
                    else Chronic(missed=terms.chronic.missed, months=terms.chronic.months)
                ),
                tiers={
                    tier_key: ContractTierTerms(
                        response=entry.response,
                        resolution=entry.resolution,
                        pause_allowed=None if entry.pause is None else entry.pause != "never",
                        max_pause=entry.max_pause,
                    )
                    for tier_key, entry in (terms.tiers or {}).items()
                },
                pause_allowed=None if terms.pause is None else terms.pause != "never",
                max_pause=terms.max_pause,
            )
        )
    return Contract(
        versions=tuple(versions),
        timezone=contract.timezone or report_zone,
        currency=contract.currency,
    )


def _credit(credit: CreditConfig) -> CreditShape:
    if credit.fixed is not None:
        return FixedShare(credit.fixed)
    if credit.per_point is not None:
        return PerPoint(credit.per_point, credit.max)
    return Bands(tuple(Band(below=band.below, share=band.share) for band in credit.bands))


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
