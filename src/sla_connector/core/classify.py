"""Classification (DESIGN section 5, SEMANTICS S15-S16): which tier a ticket is, and why.

Every matching rule is a candidate; the most severe tier wins, ties to the rule listed
first. No match gives the client's default tier, else the policy's. A client floor raises a
less severe result. Manual priority changes from the PSA are applied later, as tier
changes over time (``tier_timeline``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sla_connector.core.policy import Policy, Rule
from sla_connector.core.ticket import Ticket

__all__ = ["Classification", "TierChange", "classify", "rule_matches", "tier_timeline"]


@dataclass(frozen=True, slots=True)
class Classification:
    """The tier the rules give (floor applied) and the rule that decided (None: default)."""

    tier: str
    rule: str | None
    floor_applied: bool = False


@dataclass(frozen=True, slots=True)
class TierChange:
    """The tier in force from ``at`` on; ``manual`` when a person set it in the PSA."""

    at: datetime
    tier: str
    manual: bool = False


def rule_matches(rule: Rule, ticket: Ticket, client_tier: str | None) -> bool:
    """Whether every condition the rule gives holds for the ticket (S16)."""
    if rule.channel and ticket.channel.lower() not in rule.channel:
        return False
    if rule.source_priority and ticket.source_priority.lower() not in rule.source_priority:
        return False
    if rule.client_tier and (client_tier or "").lower() not in rule.client_tier:
        return False
    texts = [getattr(ticket, name, "") or "" for name in rule.fields]
    if rule.keyword_re is not None and not any(rule.keyword_re.search(t) for t in texts):
        return False
    if rule.regex_res and not any(p.search(t) for p in rule.regex_res for t in texts):
        return False
    return not (rule.unless_re is not None and any(rule.unless_re.search(t) for t in texts))


def classify(ticket: Ticket, policy: Policy) -> Classification:
    """The rule-based tier of a ticket, before any manual priority change."""
    client = policy.client(ticket.client)
    best: Rule | None = None
    for rule in policy.rules:
        if (
            best is None or policy.severity(rule.tier) < policy.severity(best.tier)
        ) and rule_matches(rule, ticket, client.tier):
            best = rule
    tier = best.tier if best else (client.default_tier or policy.default_tier)
    if client.floor and policy.severity(client.floor) < policy.severity(tier):
        return Classification(
            tier=client.floor, rule=best.name if best else None, floor_applied=True
        )
    return Classification(tier=tier, rule=best.name if best else None)


def tier_timeline(
    ticket: Ticket, policy: Policy, classification: Classification, now: datetime
) -> tuple[list[TierChange], list[str]]:
    """The tier in force over time, and the unknown tiers seen in priority events (S15).

    Manual priority events override rules and floor from their instant on when
    ``respect_manual_priority`` is set; events after ``now`` are ignored (S06).
    """
    changes = [TierChange(ticket.created_at, classification.tier)]
    unknown: list[str] = []
    if not policy.respect_manual_priority:
        return changes, unknown
    for event in ticket.events:
        if event.at > now:
            break
        if event.type != "priority" or event.to is None:
            continue
        tier = _tier_key(policy, event.to)
        if tier is None:
            unknown.append(event.to)
            continue
        if tier != changes[-1].tier:
            changes.append(TierChange(event.at, tier, manual=True))
    return changes, unknown


def _tier_key(policy: Policy, value: str) -> str | None:
    if value in policy.tiers:
        return value
    folded = value.casefold()
    for key, tier in policy.tiers.items():
        if folded in (key.casefold(), tier.name.casefold()):
            return key
    return None
