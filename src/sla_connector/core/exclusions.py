"""Justified exclusions of a ticket's clocks from contract objectives (SEMANTICS S32).

An exclusion names a clock (``response``, or ``resolution``: every cycle), a reason, who
approved it and when. It comes from the state store (``sla-connector exclude``) or from a
PSA tag configured under ``exclusions.tags``. An excluded clock keeps its outcome (a breach
stays a breach in the records and in ``explain``); only objectives and credits leave it
out of both numerator and denominator. A recorded exclusion wins over a tag's, because it
names a person and an instant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from sla_connector.core.ticket import Ticket

__all__ = [
    "EXCLUDABLE_CLOCKS",
    "ExcludedClock",
    "Exclusion",
    "ExclusionRecord",
    "ExclusionTag",
    "RecordedExclusions",
    "recorded_from",
    "ticket_exclusions",
]

ExcludedClock = Literal["response", "resolution"]
EXCLUDABLE_CLOCKS: tuple[ExcludedClock, ...] = ("response", "resolution")


@dataclass(frozen=True, slots=True)
class Exclusion:
    """One excluded clock of one ticket; ``at`` (µs) is None when the PSA gives no instant."""

    clock: ExcludedClock
    reason: str
    by: str
    at: int | None
    origin: Literal["store", "tag"]


@dataclass(frozen=True, slots=True)
class ExclusionTag:
    """A PSA tag that excludes clocks: ``clocks`` of every ticket carrying ``tag``."""

    tag: str
    reason: str
    clocks: tuple[ExcludedClock, ...] = EXCLUDABLE_CLOCKS


RecordedExclusions = Mapping[tuple[str, str], Mapping[str, Exclusion]]
"""Exclusions recorded in the store: (source, ticket id) -> clock -> exclusion."""


def ticket_exclusions(
    ticket: Ticket,
    tags: tuple[ExclusionTag, ...],
    recorded: RecordedExclusions | None = None,
) -> dict[str, Exclusion]:
    """The ticket's excluded clocks by clock name (tags compare case-insensitively)."""
    found: dict[str, Exclusion] = {}
    if tags and ticket.tags:
        present = {tag.casefold() for tag in ticket.tags}
        for rule in tags:
            if rule.tag.casefold() not in present:
                continue
            for clock in rule.clocks:
                found.setdefault(
                    clock,
                    Exclusion(
                        clock=clock,
                        reason=rule.reason,
                        by=f"PSA tag {rule.tag!r} ({ticket.source})",
                        at=None,
                        origin="tag",
                    ),
                )
    if recorded:
        found.update(recorded.get((ticket.source, ticket.id), {}))
    return found


class ExclusionRecord(Protocol):
    """An exclusion as the store keeps it (``store.ExclusionRow``)."""

    @property
    def source(self) -> str: ...
    @property
    def ticket_id(self) -> str: ...
    @property
    def clock(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def approved_by(self) -> str: ...
    @property
    def approved_at(self) -> int: ...


def recorded_from(rows: Iterable[ExclusionRecord]) -> dict[tuple[str, str], dict[str, Exclusion]]:
    """The store's active exclusion rows as ``RecordedExclusions``."""
    found: dict[tuple[str, str], dict[str, Exclusion]] = {}
    for row in rows:
        found.setdefault((row.source, row.ticket_id), {})[row.clock] = Exclusion(
            clock="response" if row.clock == "response" else "resolution",
            reason=row.reason,
            by=row.approved_by,
            at=row.approved_at,
            origin="store",
        )
    return found
