"""Monthly contract objectives and their credits (SEMANTICS S27-S31).

``ObjectiveCounter`` streams ticket evaluations into counts per client, local month (the
contract's time zone), tier and clock, the way ``AdherenceCounter`` does for adherence
(S21: the ticket's tier at ``now``; a clock counts in the month its outcome was decided);
excluded clocks are counted apart (S32). ``assess`` turns the counts into one
``MonthAssessment`` per client and month under the version in force on the month's first
day (S26): each objective assessed, missed or not, its credit share and amount, the
total before and after the monthly cap, chronic failures flagged. ``month_to_date`` gives
the month containing an instant for every contracted client: what the dashboard, the
metrics and the weekly report show as the exposure so far.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, localcontext

from sla_connector.core.adherence import combined_outcome
from sla_connector.core.contracts import (
    Contract,
    Month,
    Objective,
    months_before,
    months_between,
)
from sla_connector.core.credits import PRECISION
from sla_connector.core.evaluate import TicketEvaluation
from sla_connector.core.policy import Policy

__all__ = [
    "MonthAssessment",
    "ObjectiveAssessment",
    "ObjectiveCounter",
    "Tally",
    "assess",
    "month_to_date",
]

_ZERO = Decimal(0)
_FOREVER = 2**62


@dataclass(slots=True)
class Tally:
    """Decided clocks of one (client, month, tier, clock): met, breached, and excluded."""

    met: int = 0
    breached: int = 0
    excluded: int = 0

    def add(self, other: Tally) -> None:
        self.met += other.met
        self.breached += other.breached
        self.excluded += other.excluded


MonthCounts = dict[tuple[str, str], Tally]
"""(tier, clock) -> tally, for one client and month."""


class ObjectiveCounter:
    """Counts decided clocks of contracted clients per local month, tier and clock.

    Holds only counts (it travels back from audit worker processes); the policy is an
    argument of ``add``. Outcomes decided after ``end`` (µs) are not counted.
    """

    def __init__(self, end: int | None = None) -> None:
        self.end = end
        self.counts: dict[str, dict[Month, MonthCounts]] = {}

    def _tally(self, client: str, month: Month, tier: str, clock: str) -> Tally:
        months = self.counts.setdefault(client, {})
        counts = months.setdefault(month, {})
        tally = counts.get((tier, clock))
        if tally is None:
            tally = counts[(tier, clock)] = Tally()
        return tally

    def add(self, evaluation: TicketEvaluation, policy: Policy) -> None:
        """Count one ticket's decided clocks (nothing for a client without a contract).

        ``both`` is S22 over the clocks not excluded; a ticket whose clocks are all
        excluded counts as excluded, in the month its S22 outcome was decided.
        """
        client = evaluation.ticket.client
        contract = policy.client(client).contract
        if contract is None:
            return
        month_of, tier, excluded = contract.months.month_of, evaluation.tier, evaluation.exclusions
        last = _FOREVER if self.end is None else self.end
        months = self.counts.setdefault(client, {})
        clocks = (evaluation.response, *evaluation.resolutions)
        for clock in clocks:
            decided = clock.decided_at
            if decided is None or decided > last:
                continue
            counts = months.setdefault(month_of(decided), {})
            tally = counts.get((tier, clock.kind)) or counts.setdefault((tier, clock.kind), Tally())
            if clock.kind in excluded:
                tally.excluded += 1
            elif clock.state == "met":
                tally.met += 1
            else:
                tally.breached += 1
        kept = [c for c in clocks if c.kind not in excluded] if excluded else clocks
        outcome = combined_outcome(kept or clocks)
        if outcome is None or outcome[1] > last:
            return
        tally = self._tally(client, month_of(outcome[1]), tier, "both")
        if not kept:
            tally.excluded += 1
        elif outcome[0] == "met":
            tally.met += 1
        else:
            tally.breached += 1

    def merge(self, other: ObjectiveCounter) -> None:
        """Add another counter's counts (from a parallel worker) into this one."""
        for client, months in other.counts.items():
            for month, counts in months.items():
                for (tier, clock), tally in counts.items():
                    self._tally(client, month, tier, clock).add(tally)

    def month_counts(self, client: str, month: Month) -> MonthCounts:
        return self.counts.get(client, {}).get(month, {})

    def first_month(self, client: str) -> Month | None:
        months = self.counts.get(client)
        return min(months) if months else None


@dataclass(frozen=True, slots=True)
class ObjectiveAssessment:
    """One objective in one month: counts, actual, verdict and credit (unrounded)."""

    objective: Objective
    met: int
    breached: int
    excluded: int
    actual: Decimal | None
    assessed: bool
    missed: bool
    share: Decimal
    amount: Decimal | None
    chronic: bool = False

    @property
    def decided(self) -> int:
        """Clocks in the denominator: decided in the month and not excluded."""
        return self.met + self.breached


@dataclass(frozen=True, slots=True)
class MonthAssessment:
    """A client's month under the contract version in force on its first day.

    Amounts are unrounded ``Decimal`` (``None`` without a fee); round them with
    ``credits.round_money`` for display. ``complete`` is False for the month containing
    the evaluation instant (month to date).
    """

    client: str
    month: Month
    version: int
    currency: str | None
    fee: Decimal | None
    cap_share: Decimal
    objectives: tuple[ObjectiveAssessment, ...]
    complete: bool
    chronic: tuple[tuple[str, str], ...] = field(default=())

    @property
    def total_before_cap(self) -> Decimal | None:
        if self.fee is None:
            return None
        with localcontext(PRECISION):
            return sum((o.amount or _ZERO for o in self.objectives), _ZERO)

    @property
    def cap(self) -> Decimal | None:
        if self.fee is None:
            return None
        with localcontext(PRECISION):
            return self.fee * self.cap_share

    @property
    def total(self) -> Decimal | None:
        before, cap = self.total_before_cap, self.cap
        if before is None or cap is None:
            return None
        return min(before, cap)

    @property
    def capped(self) -> bool:
        before, cap = self.total_before_cap, self.cap
        return before is not None and cap is not None and before > cap


def _assess_objective(
    objective: Objective, counts: MonthCounts, fee: Decimal | None
) -> ObjectiveAssessment:
    tally = Tally()
    for (tier, clock), found in counts.items():
        if clock == objective.clock and (objective.tier is None or objective.tier == tier):
            tally.add(found)
    decided = tally.met + tally.breached
    with localcontext(PRECISION):
        actual = None if decided == 0 else Decimal(tally.met) / Decimal(decided)
        assessed = decided >= objective.min_volume
        # Exact: met / decided < target  <=>  met < target x decided.
        missed = assessed and Decimal(tally.met) < objective.target * decided
        share = _ZERO
        if missed and objective.credit is not None and actual is not None:
            share = objective.credit.share_for(objective.target, actual)
        amount = None if fee is None else fee * share
    return ObjectiveAssessment(
        objective=objective,
        met=tally.met,
        breached=tally.breached,
        excluded=tally.excluded,
        actual=actual,
        assessed=assessed,
        missed=missed,
        share=share,
        amount=amount,
    )


def _client_months(
    client: str,
    contract: Contract,
    counter: ObjectiveCounter,
    months: list[Month],
    now_month: Month,
) -> Iterator[MonthAssessment]:
    """Each month's assessment in order, chronic failures judged over the months before."""
    missed_in: dict[tuple[str, str], set[Month]] = {}
    for month in months:
        version_index = contract.version_for_month(month)
        if version_index is None:
            continue
        version = contract.versions[version_index]
        counts = counter.month_counts(client, month)
        results = []
        for objective in version.objectives:
            result = _assess_objective(objective, counts, version.fee)
            if result.missed:
                missed_in.setdefault(objective.key, set()).add(month)
            chronic = version.chronic
            if chronic is not None:
                window = months_before(month, chronic.months)
                count = len(missed_in.get(objective.key, set()).intersection(window))
                if count >= chronic.missed:
                    result = replace(result, chronic=True)
            results.append(result)
        yield MonthAssessment(
            client=client,
            month=month,
            version=version_index,
            currency=contract.currency,
            fee=version.fee,
            cap_share=version.cap,
            objectives=tuple(results),
            complete=month < now_month,
            chronic=tuple(r.objective.key for r in results if r.chronic),
        )


def assess(policy: Policy, counter: ObjectiveCounter, now_us: int) -> list[MonthAssessment]:
    """Every contracted client's months, from its first month with a decided clock to the
    month containing ``now_us`` (month to date), sorted by client then month.

    Chronic failure looks back over the months counted here only, so the counter should
    have seen the history it needs (an audit of the whole period does).
    """
    assessments: list[MonthAssessment] = []
    for client in sorted(_contracted(policy)):
        contract = policy.clients[client].contract
        assert contract is not None
        first = counter.first_month(client)
        if first is None:
            continue
        now_month = contract.months.month_of(now_us)
        months = months_between(first, max(first, now_month))
        assessments.extend(_client_months(client, contract, counter, months, now_month))
    return assessments


def month_to_date(
    policy: Policy, counter: ObjectiveCounter, now_us: int, lookback: int = 12
) -> dict[str, MonthAssessment]:
    """The month containing ``now_us`` for every contracted client with a version in force
    on its first day, including clients with nothing decided yet (zero exposure).

    ``lookback`` months before it are assessed too, for the chronic-failure flag.
    """
    found: dict[str, MonthAssessment] = {}
    for client in sorted(_contracted(policy)):
        contract = policy.clients[client].contract
        assert contract is not None
        now_month = contract.months.month_of(now_us)
        months = months_before(now_month, lookback + 1)
        for assessment in _client_months(client, contract, counter, months, now_month):
            if assessment.month == now_month:
                found[client] = assessment
    return found


def _contracted(policy: Policy) -> Mapping[str, object]:
    return {key: c for key, c in policy.clients.items() if c.contract is not None}
