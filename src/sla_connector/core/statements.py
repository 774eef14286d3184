"""A month's credit statement: every objective with the formula applied, before and after
the cap (SEMANTICS S29-S31), ready for the monthly report and the client portal.

Amounts shown are rounded once each from the unrounded figures (S30), so the lines may
not add up to the total by a minor unit; the total is the rounded unrounded total.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sla_connector.core.contracts import Objective, month_text
from sla_connector.core.credits import format_money, format_percent, round_money
from sla_connector.core.objectives import MonthAssessment, ObjectiveAssessment
from sla_connector.core.vocabulary import ALL_CLOCKS_MET

__all__ = ["CreditStatement", "StatementLine", "credit_statement", "objective_label"]


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One objective of the statement; ``status`` is met, missed or not assessed."""

    objective: str
    target: Decimal
    actual: Decimal | None
    decided: int
    excluded: int
    status: str
    share: Decimal
    amount: Decimal | None
    formula: str
    chronic: bool


@dataclass(frozen=True, slots=True)
class CreditStatement:
    """A client's credits for one month; amounts rounded to the currency's minor unit."""

    client: str
    month: str
    complete: bool
    currency: str | None
    fee: Decimal | None
    lines: tuple[StatementLine, ...]
    total_before_cap: Decimal | None
    cap: Decimal | None
    total: Decimal | None
    cap_formula: str


def objective_label(objective: Objective) -> str:
    """``P1 response``, ``all resolution`` (every tier), ``P2 all clocks met`` (the
    ``both`` clock: ``vocabulary.ALL_CLOCKS_MET``)."""
    clock = ALL_CLOCKS_MET.lower() if objective.clock == "both" else objective.clock
    return f"{objective.tier or 'all'} {clock}"


def _formula(result: ObjectiveAssessment, fee: Decimal | None, currency: str | None) -> str:
    objective = result.objective
    target = format_percent(objective.target)
    if not result.assessed:
        return (
            f"not assessed: {result.decided} decided, "
            f"fewer than the minimum volume of {objective.min_volume}"
        )
    assert result.actual is not None
    actual = format_percent(result.actual)
    if not result.missed:
        return f"met: {actual} against a target of {target}"
    verdict = f"missed: {actual} against a target of {target}"
    if objective.credit is None:
        return f"{verdict}; no credit"
    text = f"{verdict}; {objective.credit.formula(objective.target, result.actual)}"
    text += f" = {format_percent(result.share)}"
    if fee is not None and result.amount is not None:
        text += f" of {format_money(fee, currency)} = {format_money(result.amount, currency)}"
    return text


def credit_statement(assessment: MonthAssessment) -> CreditStatement:
    """The statement of one assessed month (see ``objectives.assess``)."""
    currency, fee = assessment.currency, assessment.fee
    lines = tuple(
        StatementLine(
            objective=objective_label(result.objective),
            target=result.objective.target,
            actual=result.actual,
            decided=result.decided,
            excluded=result.excluded,
            status=(
                "not assessed" if not result.assessed else "missed" if result.missed else "met"
            ),
            share=result.share,
            amount=None if result.amount is None else round_money(result.amount, currency),
            formula=_formula(result, fee, currency),
            chronic=result.chronic,
        )
        for result in assessment.objectives
    )
    before, cap, total = assessment.total_before_cap, assessment.cap, assessment.total
    if before is None or cap is None or total is None:
        cap_formula = "no fee: credits are shares only"
    elif assessment.capped:
        cap_formula = (
            f"{format_money(before, currency)} before the cap; capped at "
            f"{format_percent(assessment.cap_share)} of the fee = {format_money(cap, currency)}"
        )
    else:
        cap_formula = (
            f"{format_money(before, currency)}, within the cap of "
            f"{format_percent(assessment.cap_share)} of the fee ({format_money(cap, currency)})"
        )
    return CreditStatement(
        client=assessment.client,
        month=month_text(assessment.month),
        complete=assessment.complete,
        currency=currency,
        fee=fee,
        lines=lines,
        total_before_cap=None if before is None else round_money(before, currency),
        cap=None if cap is None else round_money(cap, currency),
        total=None if total is None else round_money(total, currency),
        cap_formula=cap_formula,
    )
