"""Response and resolution clocks of one ticket (DESIGN section 4, SEMANTICS S01-S14).

The ticket's events become, per clock cycle, a list of *running intervals* in UTC
microseconds. Everything else is derived from them under the tier in force: elapsed
business time is recomputed from the start in the tier's calendar (S10), a breach is the
first running instant at which elapsed reaches the target in force (S01, S13), and a
stopped clock is frozen at its stop (S11).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from sla_connector.core.calendars import BusinessCalendar, to_us
from sla_connector.core.classify import TierChange
from sla_connector.core.durations import BusinessDays, Duration
from sla_connector.core.policy import Policy, StatusSets
from sla_connector.core.ticket import Ticket

__all__ = ["ClockRun", "ClockState", "Crossing", "TierSpan", "build_runs", "tier_spans"]

ClockKind = Literal["response", "resolution"]
ReopenMode = Literal["resume", "new_cycle"]
_Status = Literal["active", "paused", "resolved"]
ClockState = Literal["met", "breached", "running", "paused"]
_FOREVER = 2**62


@dataclass(frozen=True, slots=True)
class TierSpan:
    """Tier ``tier`` is in force on [start, end) (microseconds)."""

    start: int
    end: int
    tier: str


@dataclass(frozen=True, slots=True)
class Crossing:
    """When elapsed reached a target under a tier: ``reached`` (the due), ``at`` (first running)."""

    reached: int
    at: int
    tier: str


@dataclass(slots=True)
class ClockRun:
    """One clock cycle as running intervals, with its stops and resolutions.

    ``running`` ends at ``horizon`` when the clock runs there; the horizon instant itself
    then counts as running (a breach at ``now`` counts, S14).
    """

    kind: ClockKind
    cycle: int
    start: int
    horizon: int
    running: list[tuple[int, int]] = field(default_factory=list)
    stop: int | None = None
    state_at_horizon: Literal["running", "paused", "stopped"] = "running"
    resolutions: list[tuple[int, int | None]] = field(default_factory=list)
    window_end: int = _FOREVER
    timeline: list[tuple[int, str]] = field(default_factory=list)
    targets: dict[tuple[str, str], int] = field(default_factory=dict)

    # -- queries under one calendar ---------------------------------------------------

    def elapsed(self, calendar: BusinessCalendar, until: int) -> int:
        """Business microseconds the clock ran before ``until``."""
        total = 0
        business = calendar.business_us
        for begin, end in self.running:
            if begin >= until:
                break
            total += business(min(end, until)) - business(begin)
        return total

    def reach(self, calendar: BusinessCalendar, target: int, *, extend: bool) -> int | None:
        """Earliest instant at which elapsed reaches ``target`` (S02).

        With ``extend`` the clock is assumed to keep running after the horizon.
        """
        used = 0
        business = calendar.business_us
        last = len(self.running) - 1
        for index, (begin, end) in enumerate(self.running):
            open_ended = extend and index == last and self.runs_at_horizon
            if open_ended:
                return calendar.add_us(begin, target - used)
            capacity = business(end) - business(begin)
            if used + capacity >= target:
                return calendar.add_us(begin, target - used)
            used += capacity
        if extend and not self.running and self.runs_at_horizon:
            return calendar.add_us(self.horizon, target)
        return None

    @property
    def runs_at_horizon(self) -> bool:
        return self.state_at_horizon == "running"

    def first_running_at_or_after(self, instant: int) -> int | None:
        """The first instant >= ``instant`` at which the clock runs (S01 half-open)."""
        for begin, end in self.running:
            if instant < begin:
                return begin
            if instant < end:
                return instant
        if self.runs_at_horizon and instant == self.horizon:
            return instant
        return None

    def crossing(
        self,
        policy: Policy,
        client: str,
        spans: list[TierSpan],
        fraction: float = 1.0,
        only_tier: str | None = None,
    ) -> Crossing | None:
        """First running instant at which elapsed >= fraction x target in force (S01, S10, S13)."""
        for span in spans:
            if only_tier is not None and span.tier != only_tier:
                continue
            low = max(span.start, self.start)
            high = min(span.end, self.horizon + 1)
            if low >= high:
                continue
            terms = policy.terms(client, span.tier)
            target = round(self.target(policy, client, span.tier) * fraction)
            reached = self.reach(terms.calendar, target, extend=False)
            if reached is None:
                continue
            at = self.first_running_at_or_after(max(low, reached))
            if at is not None and at < high:
                return Crossing(reached=reached, at=at, tier=span.tier)
        return None

    def target(self, policy: Policy, client: str, tier: str) -> int:
        """The target of this clock under ``tier`` in microseconds of business time (S03)."""
        cached = self.targets.get((client, tier))
        if cached is not None:
            return cached
        self.targets[(client, tier)] = target = self._target(policy, client, tier)
        return target

    def _target(self, policy: Policy, client: str, tier: str) -> int:
        terms = policy.terms(client, tier)
        duration: Duration = (
            terms.tier.response if self.kind == "response" else terms.tier.resolution
        )
        if isinstance(duration, BusinessDays):
            calendar = terms.calendar
            return calendar.elapsed_us(self.start, calendar.add_days_us(self.start, duration.days))
        return _td_us(duration)


def _td_us(delta: timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def tier_spans(changes: list[TierChange]) -> list[TierSpan]:
    """Turn tier changes into consecutive spans; the last change at an instant wins (S06)."""
    points: list[tuple[int, str]] = []
    for change in changes:
        at = to_us(change.at)
        if points and points[-1][0] == at:
            points[-1] = (at, change.tier)
        elif not points or points[-1][1] != change.tier:
            points.append((at, change.tier))
    spans = []
    for index, (at, tier) in enumerate(points):
        end = points[index + 1][0] if index + 1 < len(points) else _FOREVER
        spans.append(TierSpan(at, end, tier))
    return spans


_HORIZON_STATE: dict[str, Literal["running", "paused", "stopped"]] = {
    "active": "running",
    "paused": "paused",
    "resolved": "stopped",
}


def _state_of(status: str, sets: StatusSets) -> _Status:
    folded = status.casefold()
    if folded in sets.resolved:
        return "resolved"
    if folded in sets.paused:
        return "paused"
    return "active"


class _RunBuilder:
    """Replays status and reply events into the response run and the resolution cycles."""

    def __init__(self, created: int, sets: StatusSets, reopen: ReopenMode, now: int) -> None:
        self.sets = sets
        self.reopen = reopen
        self.now = now
        self.response = ClockRun(kind="response", cycle=1, start=created, horizon=now)
        self.response.timeline.append((created, "started"))
        self.current = ClockRun(kind="resolution", cycle=1, start=created, horizon=now)
        self.current.timeline.append((created, "started"))
        self.cycles = [self.current]
        self.state: _Status = "active"
        self.since = created
        self.response_stop: int | None = None

    def reply(self, at: int, by: str | None) -> None:
        if self.response_stop is None and (by or "").casefold() == "agent":
            self.response_stop = at
            self.response.timeline.append((at, "stopped: first agent reply"))

    def status(self, at: int, name: str) -> None:
        new_state = _state_of(name, self.sets)
        if self.response_stop is None and (
            name.casefold() in self.sets.responded or new_state == "resolved"
        ):
            self.response_stop = at
            self.response.timeline.append((at, f"stopped: status {name}"))
        if new_state == self.state:
            return  # S08: resolved -> resolved is not a reopen
        self._close_interval(at)
        current = self.current
        if self.state == "resolved":
            current.resolutions[-1] = (current.resolutions[-1][0], at)
            if self.reopen == "new_cycle":
                current.window_end = at
                current = ClockRun(
                    kind="resolution", cycle=len(self.cycles) + 1, start=at, horizon=self.now
                )
                current.timeline.append((at, f"new cycle: reopened to {name}"))
                self.cycles.append(current)
                self.current = current
            else:
                current.timeline.append((at, f"reopened to {name}"))
            if new_state == "paused":
                current.timeline.append((at, f"paused: {name}"))
        elif new_state == "resolved":
            current.resolutions.append((at, None))
            current.stop = at
            current.timeline.append((at, f"stopped: {name}"))
        else:
            verb = "paused" if new_state == "paused" else "resumed"
            current.timeline.append((at, f"{verb}: {name}"))
        self.state = new_state
        self.since = at

    def _close_interval(self, at: int) -> None:
        if self.state == "active" and at > self.since:
            self.current.running.append((self.since, at))

    def finish(self) -> tuple[ClockRun, list[ClockRun]]:
        self._close_interval(self.now)
        self.current.state_at_horizon = _HORIZON_STATE[self.state]
        for cycle in self.cycles[:-1]:
            cycle.state_at_horizon = "stopped"
        if self.current.state_at_horizon != "stopped":
            self.current.stop = None
        response, start = self.response, self.response.start
        stop = self.response_stop
        end = self.now if stop is None else stop
        if end > start:
            response.running.append((start, end))
        if stop is not None:
            response.stop = stop
            response.state_at_horizon = "stopped"
        return response, self.cycles


def build_runs(
    ticket: Ticket, sets: StatusSets, reopen: ReopenMode, now: int
) -> tuple[ClockRun, list[ClockRun]]:
    """The response clock and the resolution cycles of a ticket, evaluated up to ``now``."""
    builder = _RunBuilder(to_us(ticket.created_at), sets, reopen, now)
    for event in ticket.events:
        at = to_us(event.at)
        if at > now:
            break  # S06
        if event.type == "public_reply":
            builder.reply(at, event.by)
        elif event.type == "status" and event.to is not None:
            builder.status(at, event.to)
    return builder.finish()
