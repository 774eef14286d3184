"""The simulated PSA's ticket lives, generated one UTC day at a time from the seed.

``generate_day`` is a pure function of (config, day number): a ``random.Random`` seeded
with the seed and the day draws the day's arrivals (a Poisson count per client and hour,
skewed to the client's local business hours and to weekdays; monitoring alerts arrive
around the clock) and then each ticket's whole life in advance: assignment, first
response (some late), customer nudges, internal notes, waits on the customer (pending,
then back to open), on-hold spells, manual priority changes, the resolution, the odd
reopen and the automatic close. Visibility up to the present is the caller's job, so the
stream does not depend on how often anyone looks at it.

Times are whole UTC seconds (``int``). Agents work Mon-Fri 08:00-18:00 in the MSP's time
zone; critical tickets are worked around the clock by the on-call engineer.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sla_connector_psa.simulator.catalogue import (
    CRITICAL,
    HIGH,
    HOSTS,
    HUMAN_SCENARIOS,
    MONITORING_SCENARIOS,
    PEOPLE,
    SITES,
    Scenario,
)
from sla_connector_psa.simulator.settings import SimulatorConfig

__all__ = ["DAY", "Life", "LifeEvent", "WorkingHours", "generate_day"]

DAY = 86_400
HOUR = 3_600
MINUTE = 60

EventKind = Literal["status", "public_reply", "priority", "assignee", "comment"]
LifeEvent = tuple[int, EventKind, str | None, str | None]  # (at, type, to, by)

# Relative arrival rate of human-raised tickets per local hour, weekday and weekend.
_WEEKDAY = (
    0.12,
    0.08,
    0.08,
    0.08,
    0.1,
    0.15,
    0.3,
    0.7,
    1.6,
    2.3,
    2.2,
    2.0,
    1.5,
    1.8,
    2.0,
    1.9,
    1.6,
    1.1,
    0.6,
    0.4,
    0.3,
    0.25,
    0.2,
    0.15,
)
_WEEKEND = (
    0.08,
    0.06,
    0.05,
    0.05,
    0.05,
    0.06,
    0.08,
    0.12,
    0.18,
    0.25,
    0.3,
    0.3,
    0.28,
    0.25,
    0.25,
    0.22,
    0.2,
    0.18,
    0.15,
    0.12,
    0.12,
    0.1,
    0.1,
    0.08,
)
_WEEK_SUM = 5 * sum(_WEEKDAY) + 2 * sum(_WEEKEND)
_MONITORING_SHARE = 0.08

# Medians in seconds per nature (critical, high, normal); critical ones run on wall time,
# the others on the agents' working hours.
_ASSIGN = (2 * MINUTE, 10 * MINUTE, 20 * MINUTE)
_RESPONSE = (7 * MINUTE, 28 * MINUTE, 90 * MINUTE)
_WORK = (2 * HOUR, 4 * HOUR, 12 * HOUR)
_P_PENDING = (0.08, 0.25, 0.35)
_P_HOLD = (0.0, 0.03, 0.06)
_P_PRIORITY_CHANGE = 0.04
_P_REOPEN = 0.04
_P_SELF_CLEARING = 0.3


@dataclass(frozen=True, slots=True)
class Life:
    """One ticket's complete, precomputed history; events sorted by time."""

    created: int
    client_index: int
    subject: str
    description: str
    channel: str
    source_priority: str
    events: tuple[LifeEvent, ...]
    tags: tuple[str, ...] = ()


class WorkingHours:
    """Mon-Fri 08:00-18:00 in one time zone; ``add`` counts only seconds inside it."""

    def __init__(self, timezone: ZoneInfo, opens: int = 8, closes: int = 18) -> None:
        self._zone = timezone
        self._opens = opens
        self._closes = closes
        self._days: dict[int, tuple[int, int] | None] = {}

    def _span(self, ordinal: int) -> tuple[int, int] | None:
        if ordinal not in self._days:
            day = date.fromordinal(ordinal)
            if day.weekday() >= 5:
                self._days[ordinal] = None
            else:
                opens = datetime(day.year, day.month, day.day, self._opens, tzinfo=self._zone)
                closes = datetime(day.year, day.month, day.day, self._closes, tzinfo=self._zone)
                self._days[ordinal] = (int(opens.timestamp()), int(closes.timestamp()))
        return self._days[ordinal]

    def add(self, at: int, seconds: int) -> int:
        """The instant ``seconds`` of working time after ``at`` (at the next opening if 0)."""
        ordinal = datetime.fromtimestamp(at, self._zone).toordinal()
        while True:
            span = self._span(ordinal)
            if span is not None:
                opens, closes = span
                at = max(at, opens)
                if at < closes:
                    if seconds <= closes - at:
                        return at + seconds
                    seconds -= closes - at
                    at = closes
            ordinal += 1


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; a normal approximation for large means)."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit = math.exp(-mean)
    count = 0
    product = rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _lognormal(rng: random.Random, median: float, sigma: float, low: int, high: int) -> int:
    return int(min(high, max(low, median * math.exp(sigma * rng.gauss(0.0, 1.0)))))


def _cumulative(scenarios: tuple[Scenario, ...]) -> list[float]:
    total = 0.0
    result = []
    for scenario in scenarios:
        total += scenario.weight
        result.append(total)
    return result


_HUMAN_CUM = _cumulative(HUMAN_SCENARIOS)
_MONITORING_CUM = _cumulative(MONITORING_SCENARIOS)


def generate_day(config: SimulatorConfig, day: int, hours: WorkingHours) -> list[Life]:
    """Every ticket created on UTC day ``day`` (days since 1970-01-01), in creation order."""
    rng = random.Random(f"sla-connector-simulator:{config.seed}:{day}")
    total_weight = sum(client.weight for client in config.clients)
    arrivals: list[tuple[int, int, bool]] = []
    for hour in range(24):
        hour_start = day * DAY + hour * HOUR
        for index, client in enumerate(config.clients):
            per_day = config.tickets_per_day * client.weight / total_weight
            local = datetime.fromtimestamp(hour_start, client.timezone)
            profile = _WEEKEND if local.weekday() >= 5 else _WEEKDAY
            human = per_day * (1 - _MONITORING_SHARE) * 7 * profile[local.hour] / _WEEK_SUM
            for _ in range(_poisson(rng, human)):
                arrivals.append((hour_start + rng.randrange(HOUR), index, False))
            for _ in range(_poisson(rng, per_day * _MONITORING_SHARE / 24)):
                arrivals.append((hour_start + rng.randrange(HOUR), index, True))
    arrivals.sort()
    writer = _LifeWriter(rng, config, hours)
    return [writer.life(created, index, monitoring) for created, index, monitoring in arrivals]


class _LifeWriter:
    """Draws ticket lives from one day's random stream, one phase per method."""

    def __init__(self, rng: random.Random, config: SimulatorConfig, hours: WorkingHours) -> None:
        self._rng = rng
        self._config = config
        self._hours = hours
        self._statuses = config.statuses

    def life(self, created: int, client_index: int, monitoring: bool) -> Life:
        rng = self._rng
        if monitoring:
            scenario = rng.choices(MONITORING_SCENARIOS, cum_weights=_MONITORING_CUM)[0]
        else:
            scenario = rng.choices(HUMAN_SCENARIOS, cum_weights=_HUMAN_CUM)[0]
        fill = {
            "site": rng.choice(SITES),
            "host": rng.choice(HOSTS),
            "person": rng.choice(PEOPLE),
            "n": str(rng.randrange(2, 99)),
        }
        company = self._config.clients[client_index].company
        channel = rng.choice(scenario.channels)
        description = f"{scenario.detail.format(**fill)} Reported by {fill['person']} at {company}."
        events: list[LifeEvent] = []
        if monitoring and scenario.nature == CRITICAL and rng.random() < _P_SELF_CLEARING:
            self._self_clearing(events, created)
        else:
            self._worked(events, created, scenario.nature, channel)
        return Life(
            created=created,
            client_index=client_index,
            subject=scenario.subject.format(**fill),
            description=description,
            channel=channel,
            source_priority=rng.choice(scenario.priorities),
            events=tuple(sorted(events, key=lambda event: event[0])),
            tags=("monitoring",) if monitoring else (),
        )

    def _advance(self, nature: int) -> Callable[[int, int], int]:
        """Critical tickets are worked on wall time (on call), the rest in working hours."""
        if nature == CRITICAL:
            return lambda at, seconds: at + seconds
        return self._hours.add

    def _self_clearing(self, events: list[LifeEvent], created: int) -> None:
        """An alert that recovers on its own: solved by the monitoring system, closed later."""
        cleared = created + _lognormal(self._rng, 10 * MINUTE, 0.5, MINUTE, HOUR)
        events.append((cleared, "status", self._statuses.solved, None))
        self._close(events, cleared, DAY)

    def _worked(self, events: list[LifeEvent], created: int, nature: int, channel: str) -> None:
        """A ticket handled by an agent, from triage to close (events unsorted)."""
        rng = self._rng
        responded = self._respond(events, created, nature, channel)
        work = _lognormal(rng, _WORK[nature], 0.55, 10 * MINUTE, 15 * 10 * HOUR)
        at, work = self._wait(events, responded, work, nature)
        advance = self._advance(nature)
        if rng.random() < 0.3:
            events.append((advance(at, work // 2), "comment", None, None))
        if rng.random() < 0.12:
            events.append((advance(at, work // 3), "public_reply", None, "customer"))
        solved = advance(at, work)
        self._solve(events, solved)
        tiers = self._config.tiers
        if len(tiers) > 1 and rng.random() < _P_PRIORITY_CHANGE:
            changed = created + rng.randrange(solved - created + 1)
            events.append((changed, "priority", _manual_tier(rng, tiers, nature), None))
        if rng.random() < _P_REOPEN:
            reopened = solved + _lognormal(rng, 20 * HOUR, 0.7, 30 * MINUTE, 2 * DAY)
            events.append((reopened, "public_reply", None, "customer"))
            events.append((reopened, "status", self._statuses.open, None))
            solved = advance(reopened, _lognormal(rng, 90 * MINUTE, 0.6, 5 * MINUTE, 10 * HOUR))
            self._solve(events, solved)
        self._close(events, solved, 3 * DAY)

    def _respond(self, events: list[LifeEvent], created: int, nature: int, channel: str) -> int:
        """Assignment and first response (reply or acknowledged status); returns its instant."""
        rng = self._rng
        advance = self._advance(nature)
        assigned = advance(created, _lognormal(rng, _ASSIGN[nature], 0.6, 30, 4 * HOUR))
        events.append((assigned, "assignee", rng.choice(self._config.agents), None))
        if channel == "phone" and rng.random() < 0.5:
            # The agent took the call: the ticket is born acknowledged.
            responded = created
            events.append((created, "status", self._statuses.responded, None))
        else:
            delay = _lognormal(rng, _RESPONSE[nature], 0.6, MINUTE, 3 * DAY)
            responded = advance(created, delay)
            if rng.random() < 0.7:
                events.append((responded, "public_reply", None, "agent"))
            else:
                events.append((responded, "status", self._statuses.responded, None))
            if responded - created > 30 * MINUTE and rng.random() < 0.15:
                nudge = created + (responded - created) // 2
                events.append((nudge, "public_reply", None, "customer"))
        if rng.random() < 0.2:
            noted = created + rng.randrange(responded - created + 1)
            events.append((noted, "comment", None, None))
        return responded

    def _wait(self, events: list[LifeEvent], at: int, work: int, nature: int) -> tuple[int, int]:
        """Maybe a wait on the customer or an on-hold spell; returns (resume, work left)."""
        rng = self._rng
        pending = rng.random() < _P_PENDING[nature]
        if not pending and rng.random() >= _P_HOLD[nature]:
            return at, work
        first = int(work * rng.uniform(0.1, 0.6))
        at = self._advance(nature)(at, first)
        if pending:
            events.append((at, "public_reply", None, "agent"))
            events.append((at, "status", self._statuses.pending, None))
            at += _lognormal(rng, 5 * HOUR, 0.9, 10 * MINUTE, 4 * DAY)
            events.append((at, "public_reply", None, "customer"))
        else:
            events.append((at, "status", self._statuses.on_hold, None))
            at += _lognormal(rng, DAY, 0.6, HOUR, 5 * DAY)
        events.append((at, "status", self._statuses.open, None))
        return at, work - first

    def _solve(self, events: list[LifeEvent], at: int) -> None:
        events.append((at, "public_reply", None, "agent"))
        events.append((at, "status", self._statuses.solved, None))

    def _close(self, events: list[LifeEvent], solved: int, after: int) -> None:
        """The PSA closes solved tickets automatically ``after`` (plus up to a day)."""
        if self._statuses.closed != self._statuses.solved:
            closed = solved + after + self._rng.randrange(DAY)
            events.append((closed, "status", self._statuses.closed, None))


def _manual_tier(rng: random.Random, tiers: tuple[str, ...], nature: int) -> str:
    """What a human sets: critical downgraded, high either way, normal mostly raised."""
    if nature == CRITICAL:
        choice = 1
    elif nature == HIGH:
        choice = 0 if rng.random() < 0.4 else 2
    else:
        choice = 1 if rng.random() < 0.8 else 0
    return tiers[min(choice, len(tiers) - 1)]
