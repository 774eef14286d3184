"""Builders for contract tests: a policy with contracted clients and hand-made monthly counts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sla_connector.core.calendars import to_us
from sla_connector.core.contracts import Contract, ContractVersion, Month, Objective
from sla_connector.core.evaluate import evaluate
from sla_connector.core.exclusions import RecordedExclusions
from sla_connector.core.objectives import MonthAssessment, ObjectiveCounter, Tally, assess
from sla_connector.core.policy import Client, Policy, Rule
from sla_connector.core.ticket import Ticket
from tests.core.policies import make_policy, ticket

RULES = (
    Rule.build("outage", "P1", keywords=("down",)),
    Rule.build("slow", "P2", keywords=("slow",)),
)
FEE = Decimal("10000.00")
ALWAYS = date(1, 1, 1)


def D(text: str) -> Decimal:
    """``D("0.95")``: an exact decimal, short enough to read like the literal."""
    return Decimal(text)


def version(*objectives: Objective, start: date = ALWAYS, **terms: Any) -> ContractVersion:
    terms.setdefault("fee", FEE)
    return ContractVersion(start, objectives=objectives, **terms)


def contract_policy(
    *versions: ContractVersion,
    timezone: str = "America/New_York",
    currency: str | None = "USD",
    **policy: Any,
) -> Policy:
    """``acme`` holds the contract; ``globex`` has none."""
    contract = Contract(versions, timezone=timezone, currency=currency)
    tags = policy.pop("exclusion_tags", ())
    built = make_policy(
        rules=RULES, clients={"acme": Client(key="acme", contract=contract)}, **policy
    )
    return replace(built, exclusion_tags=tags)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def p1(created: str, reply_after_min: int, ident: str, **fields: Any) -> Ticket:
    """A P1 ("server down") ticket of acme answered after some minutes and solved 1 h in."""
    start = at(created)
    reply = start.timestamp() + reply_after_min * 60
    solved = start.timestamp() + 3600
    iso = lambda seconds: datetime.fromtimestamp(seconds, UTC).isoformat()  # noqa: E731
    return ticket(
        start.isoformat(),
        (iso(reply), "public_reply", "agent"),
        (iso(solved), "status", "solved"),
        id=ident,
        client=fields.pop("client", "acme"),
        subject="Server down",
        **fields,
    )


def audit(
    policy: Policy,
    tickets: list[Ticket],
    now: str,
    exclusions: RecordedExclusions | None = None,
) -> list[MonthAssessment]:
    """Evaluate, count and assess, as ``sla-connector audit`` does."""
    instant = at(now)
    counter = ObjectiveCounter(end=to_us(instant))
    for item in tickets:
        counter.add(evaluate(item, policy, instant, exclusions=exclusions), policy)
    return assess(policy, counter, to_us(instant))


def counted(
    policy: Policy, months: dict[Month, dict[tuple[str, str], Tally]], now: str
) -> list[MonthAssessment]:
    """Assess hand-made counts of ``acme``: month -> (tier, clock) -> tally."""
    counter = ObjectiveCounter()
    counter.counts["acme"] = {month: dict(counts) for month, counts in months.items()}
    return assess(policy, counter, to_us(at(now)))


def month(
    assessments: list[MonthAssessment], wanted: Month, client: str = "acme"
) -> MonthAssessment:
    (found,) = [a for a in assessments if a.month == wanted and a.client == client]
    return found
