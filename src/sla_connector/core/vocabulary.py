"""The words the product shows, each defined once: the ledger states, "fired", "late", "at risk".

Every view asks this module rather than deciding for itself: the dashboard and its JSON
API, ``/metrics``, the note written to the PSA, the Slack notice, the reports and the
demo's summary. The two thresholds are configuration (``runtime.late_after``,
``adherence.at_risk``) and travel as one ``Vocabulary`` value; the defaults below are
those of a configuration that does not set them.

- A **ledger state** is where one escalation step is in its life (``LEDGER_STATES``).
- A step has **fired** when the daemon acted on it at or after its due instant and
  recorded the outcome: written (``done``), written in shadow mode only (``would_fire``),
  or refused by the PSA (``failed``). A step being written right now is ``firing``.
- A fired step is **late** when it reached the PSA more than ``late_after`` after its due
  instant (a PSA outage or the daemon being down; the due instant itself never moves).
- A ticket's clock is **at risk** while it runs and has used at least ``at_risk`` of its
  target, not yet breached.
- A ticket is **withdrawn** when it left the PSA or the connector's scope (deleted, merged
  into another, marked as spam, moved out of scope: ``WITHDRAWN_REASONS``): it leaves the
  open set and the measurement (no breach, no adherence count, never at risk), its steps not
  yet fired are ``cancelled`` with ``withdrawn_detail``, and the views list it as withdrawn
  (SEMANTICS S39).
- **All clocks met** (``ALL_CLOCKS_MET``) is the combined metric: the share of tickets
  whose response clock and every resolution cycle met their targets (SEMANTICS S22).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from sla_connector.core.errors import WITHDRAWN_REASONS
from sla_connector.core.evaluate import ClockResult, TicketEvaluation

__all__ = [
    "ALL_CLOCKS_MET",
    "ALL_CLOCKS_MET_DEFINITION",
    "ATTEMPTED_STATES",
    "CANCELLED",
    "COMBINED_METRIC",
    "COMBINED_METRIC_DEFINITION",
    "DEFAULT_AT_RISK",
    "DEFAULT_LATE_AFTER",
    "DONE",
    "DORMANT",
    "FAILED",
    "FINISH_STATES",
    "FIRED_STATES",
    "FIRING",
    "LEDGER_STATES",
    "NOT_FIRING_STATES",
    "PLANNED",
    "WITHDRAWN",
    "WITHDRAWN_REASONS",
    "WOULD_FIRE",
    "Vocabulary",
    "current_clocks",
    "is_fired",
    "is_withdrawn_detail",
    "withdrawn_detail",
]

PLANNED: Final = "planned"
"""Due in the future (or due now and not yet claimed)."""
FIRING: Final = "firing"
"""Claimed by one process, which is writing it to the PSA now."""
DONE: Final = "done"
"""Written to the PSA (or found there already: reconciled through its marker)."""
WOULD_FIRE: Final = "would_fire"
"""Shadow mode (``runtime.dry_run``): it would have been written."""
FAILED: Final = "failed"
"""The PSA refused the write; an operator has to look."""
CANCELLED: Final = "cancelled"
"""Its due instant fell inside a resolution of its cycle: it never fires (S18)."""
DORMANT: Final = "dormant"
"""Not triggered (any more) when verified; a later trigger of the same key revives it."""

LEDGER_STATES: Final = frozenset({PLANNED, FIRING, DONE, WOULD_FIRE, CANCELLED, FAILED, DORMANT})
FINISH_STATES: Final = frozenset({DONE, WOULD_FIRE, CANCELLED, FAILED, DORMANT})
"""The states ``finish`` may record."""
FIRED_STATES: Final = frozenset({DONE, WOULD_FIRE, FAILED})
"""Fired: acted on at or after the due instant, the outcome recorded."""
ATTEMPTED_STATES: Final = FIRED_STATES | {FIRING}
"""Fired, or being fired now: what the escalation lists show."""
NOT_FIRING_STATES: Final = frozenset({CANCELLED, DORMANT})
"""Settled without firing (dormant until a later trigger, cancelled for good)."""

COMBINED_METRIC: Final = "All clocks met"
"""The one name of the combined metric (kind ``ticket``, objective clock ``both``)."""
COMBINED_METRIC_DEFINITION: Final = (
    "a ticket counts as met only when its response clock and every resolution clock were "
    "met; one breached clock makes the whole ticket a breach, which is why this figure is "
    "usually below both the response and the resolution figure"
)
WITHDRAWN: Final = "withdrawn"
"""A ticket that left the PSA or the connector's scope (S39); not a ledger state: its
steps not yet fired are ``cancelled`` with ``withdrawn_detail`` as their reason."""
ALL_CLOCKS_MET: Final = "All clocks met"
"""The one name of the combined metric (the ``ticket`` kind of ``core.adherence``), in every
view: dashboard, reports, packs, API, /metrics and audit."""
ALL_CLOCKS_MET_DEFINITION: Final = (
    "the share of tickets decided in the period whose response and every resolution cycle "
    "met their targets; one breached clock makes the ticket a miss, so it can sit below "
    "both the response and the resolution figure"
)
"""What ``ALL_CLOCKS_MET`` means, printed beside it."""

DEFAULT_LATE_AFTER: Final = timedelta(seconds=60)
DEFAULT_AT_RISK: Final = 0.75


def is_fired(state: str) -> bool:
    """Whether a step in ``state`` has fired (``FIRED_STATES``)."""
    return state in FIRED_STATES


def withdrawn_detail(reason: str, detail: str = "") -> str:
    """The cancel reason of a withdrawn ticket's steps: ``withdrawn: merged (into 1234)``."""
    if reason not in WITHDRAWN_REASONS:
        raise ValueError(f"withdrawal reason must be one of {WITHDRAWN_REASONS}, got {reason!r}")
    text = f"{WITHDRAWN}: {reason}"
    return f"{text} ({detail})" if detail else text


def is_withdrawn_detail(detail: str) -> bool:
    """Whether a ledger row's ``detail`` says its ticket was withdrawn (``withdrawn_detail``)."""
    return detail.startswith(f"{WITHDRAWN}: ")


def current_clocks(evaluation: TicketEvaluation) -> list[ClockResult]:
    """The clocks that matter now: the response clock in the first cycle only (S17), then
    the latest resolution cycle."""
    clocks = [evaluation.response] if len(evaluation.resolutions) == 1 else []
    return [*clocks, evaluation.resolution]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The configured thresholds of "late" and "at risk", and the tests that use them."""

    late_after: timedelta = DEFAULT_LATE_AFTER
    at_risk: float = DEFAULT_AT_RISK

    def __post_init__(self) -> None:
        if self.late_after < timedelta(0):
            raise ValueError(f"late_after {self.late_after} is negative")
        if not 0 < self.at_risk <= 1:
            raise ValueError(f"at_risk {self.at_risk} is not a share in (0, 1]")

    @property
    def late_after_us(self) -> int:
        return self.late_after // timedelta(microseconds=1)

    def is_late(self, lateness_us: int | None) -> bool:
        """Whether a write ``lateness_us`` after its due instant is late (None: not written)."""
        return lateness_us is not None and lateness_us > self.late_after_us

    def is_at_risk(self, clock: ClockResult) -> bool:
        """A running clock (not breached) that has used at least ``at_risk`` of its target."""
        return (
            clock.state == "running"
            and clock.due_at is not None
            and clock.target_us > 0
            and clock.elapsed_us >= self.at_risk * clock.target_us
        )

    def at_risk_clocks(self, evaluation: TicketEvaluation) -> list[ClockResult]:
        """The ticket's current clocks (``current_clocks``) that are at risk."""
        return [clock for clock in current_clocks(evaluation) if self.is_at_risk(clock)]

    def count_late(self, lateness: Iterable[int | None]) -> int:
        """How many of these write latenesses are late."""
        return sum(1 for value in lateness if self.is_late(value))
