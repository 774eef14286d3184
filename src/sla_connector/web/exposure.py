"""Month-to-date contract objectives and the service-credit exposure so far (issue 14).

The dashboard's client page, the client portal, the overview and ``/metrics`` show, for
each client with a contract, the calendar month (in the contract's time zone) that holds
the present: every objective's actual against its target, whether it is assessed yet
(minimum volume), and the credit it would cost if the month ended now, before and after
the monthly cap. The figures are the core's (``objectives.month_to_date`` and
``statements.credit_statement``) over the same evaluations the rest of the page counts,
with the exclusions recorded in the store and those of PSA tags left out (S32), so the
dashboard, ``audit --format json`` and the monthly statement agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sla_connector.core.contracts import months_before
from sla_connector.core.credits import format_money, format_percent
from sla_connector.core.evaluate import TicketEvaluation
from sla_connector.core.objectives import ObjectiveCounter, month_to_date
from sla_connector.core.policy import Policy
from sla_connector.core.statements import StatementLine, credit_statement
from sla_connector.core.vocabulary import COMBINED_METRIC

__all__ = ["CHRONIC_LOOKBACK", "Exposure", "ObjectiveLine", "earliest_month_start", "exposures"]

CHRONIC_LOOKBACK = 3
"""Months before the current one assessed for the chronic-failure flag (the client page
reads 12 weeks of history)."""

_CLOCK_WORDS = {"response": "response", "resolution": "resolution", "both": COMBINED_METRIC}
_STATUS_WORDS = {"met": "on target", "missed": "below target", "not assessed": "not assessed yet"}


@dataclass(frozen=True, slots=True)
class ObjectiveLine:
    """One objective of the month so far, in words and figures."""

    tier: str
    tier_name: str
    clock: str
    label: str
    target: str
    actual: str
    decided: int
    excluded: int
    status: str  # "met" | "missed" | "not assessed"
    verdict: str
    credit: str
    formula: str
    chronic: bool


@dataclass(frozen=True, slots=True)
class Exposure:
    """A client's month to date: objectives and the credit due if the month ended now."""

    client: str
    name: str
    month: str
    month_name: str
    currency: str | None
    fee: str | None
    objectives: list[ObjectiveLine]
    total_before_cap: str | None
    cap: str | None
    total: str | None
    total_amount: float | None
    cap_formula: str
    summary: str


def _tier_name(policy: Policy, tier: str) -> str:
    if tier == "all":
        return "All tiers"
    known = policy.tiers.get(tier)
    return f"{known.name} ({tier})" if known is not None and known.name else tier


def _line(policy: Policy, line: StatementLine, currency: str | None) -> ObjectiveLine:
    tier, _, clock = line.objective.partition(" ")
    tier_name = _tier_name(policy, tier)
    if line.amount is not None:
        credit = format_money(line.amount, currency)
    else:
        credit = format_percent(line.share) + " of the fee"
    return ObjectiveLine(
        tier=tier,
        tier_name=tier_name,
        clock=clock,
        label=f"{tier_name}: {_CLOCK_WORDS.get(clock, clock)}",
        target=format_percent(line.target),
        actual="\u2013" if line.actual is None else format_percent(line.actual),
        decided=line.decided,
        excluded=line.excluded,
        status=line.status,
        verdict=_STATUS_WORDS.get(line.status, line.status),
        credit=credit,
        formula=line.formula,
        chronic=line.chronic,
    )


def _summary(lines: list[ObjectiveLine], total: str | None) -> str:
    missed = [line for line in lines if line.status == "missed"]
    waiting = [line for line in lines if line.status == "not assessed"]
    if not lines:
        return "The contract sets no objectives."
    if missed:
        words = f"{len(missed)} of {len(lines)} objectives below target so far"
        return f"{words}; credit due if the month ended now: {total}" if total else words
    text = f"All {len(lines) - len(waiting)} assessed objectives on target so far; no credit due"
    if waiting:
        text += f" ({len(waiting)} not assessed yet: too few tickets this month)"
    return text


def _month_name(month: str) -> str:
    """``2026-11`` as ``November 2026``."""
    year, _, number = month.partition("-")
    return f"{date(int(year), int(number), 1):%B} {year}"


def _money(currency: str | None, value: Decimal | None) -> str | None:
    return None if value is None else format_money(value, currency)


def earliest_month_start(policy: Policy, now_us: int) -> int | None:
    """The first instant (µs) of the earliest month the exposure needs, over every
    contracted client (None: no client has a contract)."""
    starts = []
    for client in policy.clients.values():
        if client.contract is None:
            continue
        months = client.contract.months
        first = months_before(months.month_of(now_us), CHRONIC_LOOKBACK + 1)[0]
        starts.append(months.start_us(first))
    return min(starts) if starts else None


def exposures(
    policy: Policy,
    evaluations: Iterable[TicketEvaluation],
    now_us: int,
    *,
    only_client: str | None = None,
) -> list[Exposure]:
    """Every contracted client's month to date (or only ``only_client``'s), by client key."""
    counter = ObjectiveCounter(end=now_us)
    for evaluation in evaluations:
        if only_client is None or evaluation.ticket.client == only_client:
            counter.add(evaluation, policy)
    found = month_to_date(policy, counter, now_us, lookback=CHRONIC_LOOKBACK)
    result = []
    for client, assessment in sorted(found.items()):
        if only_client is not None and client != only_client:
            continue
        statement = credit_statement(assessment)
        currency = statement.currency
        lines = [_line(policy, line, currency) for line in statement.lines]

        known = policy.clients.get(client)
        total = _money(currency, statement.total)
        result.append(
            Exposure(
                client=client,
                name=(known.name if known is not None and known.name else client),
                month=statement.month,
                month_name=_month_name(statement.month),
                currency=currency,
                fee=_money(currency, statement.fee),
                objectives=lines,
                total_before_cap=_money(currency, statement.total_before_cap),
                cap=_money(currency, statement.cap),
                total=total,
                total_amount=None if statement.total is None else float(statement.total),
                cap_formula=statement.cap_formula,
                summary=_summary(lines, total),
            )
        )
    return result
