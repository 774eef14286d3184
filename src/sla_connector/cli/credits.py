"""Contract credits as ``audit`` shows them: JSON rows and terminal tables (issue 14 item 6).

One JSON row per (client, month, objective) with the objective's figures and its (client,
month) totals repeated on each row, so the list reads as one flat table. Shares and
adherence are JSON numbers (fractions, like ``adherence``); money is a decimal string
rounded once to the currency's minor unit (``"250.00"``), never a binary float (S30).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from rich.table import Table

from sla_connector.cli.common import PlainTable
from sla_connector.core.contracts import month_text
from sla_connector.core.credits import format_money, format_percent, round_money
from sla_connector.core.objectives import MonthAssessment
from sla_connector.core.statements import objective_label

__all__ = ["comparison_table", "credit_records", "credits_table"]


def _money(amount: Decimal | None, currency: str | None) -> str | None:
    return None if amount is None else str(round_money(amount, currency))


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def credit_records(assessments: Iterable[MonthAssessment]) -> list[dict[str, Any]]:
    """The ``credits`` list of ``audit --format json``."""
    rows: list[dict[str, Any]] = []
    for month in assessments:
        currency = month.currency
        totals = {
            "total_before_cap": _money(month.total_before_cap, currency),
            "cap": _money(month.cap, currency),
            "total": _money(month.total, currency),
        }
        for result in month.objectives:
            objective = result.objective
            rows.append(
                {
                    "client": month.client,
                    "month": month_text(month.month),
                    "objective": {"tier": objective.tier or "all", "clock": objective.clock},
                    "target": float(objective.target),
                    "actual": _number(result.actual),
                    "decided": result.decided,
                    "excluded": result.excluded,
                    "assessed": result.assessed,
                    "missed": result.missed,
                    "credit_share": float(result.share),
                    "credit_amount": _money(result.amount, currency),
                    "currency": currency,
                    **totals,
                    "chronic": result.chronic,
                }
            )
    return rows


def _shown(amount: Decimal | None, currency: str | None, *, code: bool = True) -> str:
    return "-" if amount is None else format_money(amount, currency, code=code)


def credits_table(assessments: Iterable[MonthAssessment], title: str = "Credits") -> Table:
    """Each month's objectives, then its total after the cap."""
    table = PlainTable(
        title=f"{title}: contract objectives per month, up to --now", header_style="bold"
    )
    for column in ("Client", "Month", "Objective", "Target", "Actual", "Decided", "Excluded"):
        table.add_column(
            column, justify="left" if column in ("Client", "Month", "Objective") else "right"
        )
    table.add_column("Result")
    table.add_column("Credit", justify="right", no_wrap=True)
    for month in assessments:
        label = month_text(month.month) + ("" if month.complete else " so far")
        currency = month.currency
        for result in month.objectives:
            verdict = (
                "not assessed" if not result.assessed else "missed" if result.missed else "met"
            )
            if result.chronic:
                verdict += ", chronic"
            table.add_row(
                month.client,
                label,
                objective_label(result.objective),
                format_percent(result.objective.target),
                "n/a" if result.actual is None else format_percent(result.actual),
                str(result.decided),
                str(result.excluded),
                verdict,
                _shown(result.amount, currency, code=False)
                if result.amount is not None
                else format_percent(result.share),
            )
        if month.objectives:
            before = _shown(month.total_before_cap, currency, code=False)
            note = f"capped from {before}" if month.capped else "within the cap"
            table.add_row(
                month.client,
                label,
                f"total ({currency})" if currency else "total",
                format_percent(month.cap_share),
                *([""] * 3),
                note,
                _shown(month.total, currency, code=False),
                end_section=True,
            )
    return table


def comparison_table(left: list[MonthAssessment], right: list[MonthAssessment]) -> Table:
    """Each (client, month) total under both policies, side by side."""
    table = PlainTable(title="What-if credits: this policy vs --compare-policy")
    for column in ("Client", "Month", "Policy", "Other", "Difference"):
        table.add_column(column, justify="left" if column in ("Client", "Month") else "right")
    keyed_left = {(m.client, m.month): m for m in left}
    keyed_right = {(m.client, m.month): m for m in right}
    for key in sorted(set(keyed_left) | set(keyed_right)):
        a, b = keyed_left.get(key), keyed_right.get(key)
        total_a = None if a is None else a.total
        total_b = None if b is None else b.total
        either = a if a is not None else b
        assert either is not None
        currency = either.currency
        difference = (
            "n/a"
            if total_a is None or total_b is None
            else format_money(total_b - total_a, currency)
        )
        table.add_row(
            key[0],
            month_text(key[1]),
            _shown(total_a, currency),
            _shown(total_b, currency),
            difference,
        )
    return table
