"""Adherence maths (DESIGN section 7, SEMANTICS S21-S22).

A clock counts in the period in which its outcome is decided: met at its stop, breached
at its breach instant. Rows are per client and per the ticket's tier at ``now``, for the
kinds response, resolution and ticket (both clocks met). Adherence counts every clock,
excluded or not (exclusions only concern contract objectives, S32); ``PauseCounter``
totals the pauses that counted by reason (S36).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sla_connector.core.evaluate import ClockResult, TicketEvaluation

__all__ = [
    "KINDS",
    "AdherenceCounter",
    "AdherenceRow",
    "PauseCounter",
    "PauseRow",
    "combined_outcome",
    "ticket_outcome",
]

KINDS = ("response", "resolution", "ticket")


@dataclass(slots=True)
class AdherenceRow:
    """Met and breached counts of one (client, tier, kind)."""

    client: str
    tier: str
    kind: str
    met: int = 0
    breached: int = 0

    @property
    def adherence(self) -> float | None:
        """met / (met + breached), None when nothing was decided."""
        decided = self.met + self.breached
        return None if decided == 0 else self.met / decided


def ticket_outcome(evaluation: TicketEvaluation) -> tuple[str, int] | None:
    """The combined outcome of a ticket and when it was decided (S22), or None if undecided."""
    return combined_outcome((evaluation.response, *evaluation.resolutions))


def combined_outcome(clocks: Sequence[ClockResult]) -> tuple[str, int] | None:
    """S22 over some of a ticket's clocks (objectives leave excluded ones out, S32).

    Breached at the first breach if any breached; met at the last stop when all are met;
    otherwise (or for no clocks at all) not decided.
    """
    breaches = [
        c.breached_at for c in clocks if c.state == "breached" and c.breached_at is not None
    ]
    if breaches:
        return "breached", min(breaches)
    if clocks and all(c.state == "met" for c in clocks):
        return "met", max(c.stopped_at or 0 for c in clocks)
    return None


class AdherenceCounter:
    """Streams evaluations into rows, counting outcomes decided in [start, end]."""

    def __init__(self, start: int | None = None, end: int | None = None) -> None:
        self.start = start
        self.end = end
        self._rows: dict[tuple[str, str, str], AdherenceRow] = {}

    def _in_period(self, instant: int | None) -> bool:
        if instant is None:
            return False
        if self.start is not None and instant < self.start:
            return False
        return self.end is None or instant <= self.end

    def _count(self, client: str, tier: str, kind: str, outcome: str, instant: int | None) -> None:
        if not self._in_period(instant):
            return
        row = self._rows[(client, tier, kind)]
        if outcome == "met":
            row.met += 1
        elif outcome == "breached":
            row.breached += 1

    def add(self, evaluation: TicketEvaluation) -> None:
        client, tier = evaluation.ticket.client, evaluation.tier
        for kind in KINDS:
            self._rows.setdefault((client, tier, kind), AdherenceRow(client, tier, kind))
        clocks: Iterable[ClockResult] = (evaluation.response,)
        for clock in (*clocks, *evaluation.resolutions):
            self._count(client, tier, clock.kind, clock.state, clock.decided_at)
        outcome = ticket_outcome(evaluation)
        if outcome is not None:
            self._count(client, tier, "ticket", outcome[0], outcome[1])

    def merge(self, other: AdherenceCounter) -> None:
        """Add another counter's rows (from a parallel worker) into this one."""
        for key, row in other._rows.items():
            mine = self._rows.setdefault(key, AdherenceRow(row.client, row.tier, row.kind))
            mine.met += row.met
            mine.breached += row.breached

    def rows(self) -> list[AdherenceRow]:
        """Rows sorted by client, tier, then kind in KINDS order."""
        order = {kind: index for index, kind in enumerate(KINDS)}
        return sorted(self._rows.values(), key=lambda r: (r.client, r.tier, order[r.kind]))


@dataclass(slots=True)
class PauseRow:
    """Pauses that counted for one (client, tier, reason): how many, how much business time."""

    client: str
    tier: str
    reason: str
    pauses: int = 0
    business_us: int = 0


class PauseCounter:
    """Totals of the pauses that counted (S36), per client, the ticket's tier at ``now``
    and reason (the waiting status), for pauses that started in [start, end]."""

    def __init__(self, start: int | None = None, end: int | None = None) -> None:
        self.start = start
        self.end = end
        self._rows: dict[tuple[str, str, str], PauseRow] = {}

    def add(self, evaluation: TicketEvaluation) -> None:
        client, tier = evaluation.ticket.client, evaluation.tier
        for cycle in evaluation.resolutions:
            for pause in cycle.pauses:
                if (self.start is not None and pause.start < self.start) or (
                    self.end is not None and pause.start > self.end
                ):
                    continue
                key = (client, tier, pause.reason)
                row = self._rows.get(key)
                if row is None:
                    row = self._rows[key] = PauseRow(client, tier, pause.reason)
                row.pauses += 1
                row.business_us += pause.business_us

    def merge(self, other: PauseCounter) -> None:
        for key, row in other._rows.items():
            mine = self._rows.setdefault(key, PauseRow(*key))
            mine.pauses += row.pauses
            mine.business_us += row.business_us

    def rows(self) -> list[PauseRow]:
        """Rows sorted by client, tier, then reason."""
        return sorted(self._rows.values(), key=lambda r: (r.client, r.tier, r.reason))
