"""Response and resolution clocks of one ticket (DESIGN section 4, SEMANTICS S01-S14).

The ticket's events become, per clock cycle, a list of *running intervals* in UTC
microseconds. Everything else is derived from them under the tier in force: elapsed
business time is recomputed from the start in the tier's calendar (S10), a breach is the
first running instant at which elapsed reaches the target in force (S01, S13), and a
stopped clock is frozen at its stop (S11).

Waiting statuses pause the resolution clock unless the tier in force says ``pause:
never``, and only until the cycle's accumulated pause reaches the tier's ``max_pause``
(S33-S34): ``govern_pauses`` turns the waits the events describe into the pauses that
count, each with its reason (the waiting status).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from sla_connector.core.calendars import BusinessCalendar, to_us
from sla_connector.core.classify import TierChange
from sla_connector.core.durations import BusinessDays, Duration
from sla_connector.core.policy import StatusSets, TermsOf
from sla_connector.core.ticket import Ticket

__all__ = [
    "ClockRun",
    "ClockState",
    "Crossing",
    "TierSpan",
    "build_runs",
    "govern_pauses",
    "tier_spans",
]

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
    targets: dict[str, int] = field(default_factory=dict)
    waits: list[tuple[int, int, str]] = field(default_factory=list)
    pauses: list[tuple[int, int, str]] = field(default_factory=list)
    pause_limit_at: int | None = None

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
        terms_of: TermsOf,
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
            terms = terms_of(span.tier)
            target = round(self.target(terms_of, span.tier) * fraction)
            reached = self.reach(terms.calendar, target, extend=False)
            if reached is None:
                continue
            at = self.first_running_at_or_after(max(low, reached))
            if at is not None and at < high:
                return Crossing(reached=reached, at=at, tier=span.tier)
        return None

    def target(self, terms_of: TermsOf, tier: str) -> int:
        """The target of this clock under ``tier`` in microseconds of business time (S03)."""
        cached = self.targets.get(tier)
        if cached is not None:
            return cached
        terms = terms_of(tier)
        duration: Duration = (
            terms.tier.response if self.kind == "response" else terms.tier.resolution
        )
        self.targets[tier] = target = length_us(duration, terms.calendar, self.start)
        return target


def length_us(duration: Duration, calendar: BusinessCalendar, start: int) -> int:
    """A duration as business microseconds; ``Nbd`` is measured from ``start`` (S03)."""
    if isinstance(duration, BusinessDays):
        return calendar.elapsed_us(start, calendar.add_days_us(start, duration.days))
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
        self.reason = ""
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
            if new_state == "paused" and name != self.reason and at > self.since:
                self.current.waits.append((self.since, at, self.reason))  # a new reason
                self.since, self.reason = at, name
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
        self.reason = name

    def _close_interval(self, at: int) -> None:
        if self.state == "active" and at > self.since:
            self.current.running.append((self.since, at))
        elif self.state == "paused" and at > self.since:
            self.current.waits.append((self.since, at, self.reason))

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


def govern_pauses(cycles: list[ClockRun], spans: list[TierSpan], terms_of: TermsOf) -> None:
    """Apply pause governance to each resolution cycle, in place (S33-S34).

    A wait counts as a pause only while the tier in force allows pauses and the cycle's
    accumulated pause (business time, each part in the calendar of the tier then in
    force) is below that tier's ``max_pause``; from the instant it reaches it the clock
    runs again although the ticket still waits (``pause_limit_at``). Without governance
    every wait is a pause, as before.
    """
    for run in cycles:
        if not run.waits:
            continue
        released: list[tuple[int, int]] = []
        used = 0
        for begin, end, reason in run.waits:
            for span in spans:
                low, high = max(begin, span.start), min(end, span.end)
                if low >= high:
                    continue
                terms = terms_of(span.tier)
                tier = terms.tier
                if not tier.pause_allowed:
                    released.append((low, high))
                    _relabel(run, low, reason, f"waiting: {reason} (no pause under {tier.key})")
                    continue
                calendar = terms.calendar
                length = calendar.elapsed_us(low, high)
                if tier.max_pause is None:
                    used += length
                    run.pauses.append((low, high, reason))
                    continue
                first = run.pauses[0][0] if run.pauses else low
                limit = length_us(tier.max_pause, calendar, first)
                room = limit - used
                if room > 0 and length < room:
                    used += length
                    run.pauses.append((low, high, reason))
                    continue
                until = calendar.add_us(low, max(room, 0)) if room > 0 else low
                until = min(max(until, low), high)
                if until > low:
                    run.pauses.append((low, until, reason))
                used = max(used, limit)
                released.append((until, high))
                if run.pause_limit_at is None:
                    run.pause_limit_at = until
                    run.timeline.append(
                        (until, f"pause limit {tier.max_pause} reached: runs while {reason}")
                    )
        if released:
            run.running = _merged(run.running + released)
            if run.state_at_horizon == "paused" and any(
                low <= run.horizon <= high for low, high in released
            ):
                run.state_at_horizon = "running"


def _relabel(run: ClockRun, at: int, reason: str, label: str) -> None:
    """Replace the wait's ``paused:`` timeline entry at ``at`` (or add the label)."""
    paused = f"paused: {reason}"
    for index, (instant, text) in enumerate(run.timeline):
        if instant == at and text == paused:
            run.timeline[index] = (at, label)
            return
    run.timeline.append((at, label))


def _merged(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for begin, end in sorted(intervals):
        if begin >= end:
            continue
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((begin, end))
    return merged
