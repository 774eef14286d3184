"""Clocks for the runtime: the wall clock, an accelerated wall clock, and manual virtual time.

The accelerated clock is a pure function of the wall clock (``virtual = start + (wall -
anchor) x speed``), so a daemon killed and restarted, and a simulated PSA in another
process, agree on the present without sharing state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["ManualClock", "ScaledClock", "SystemClock"]


class SystemClock:
    """The wall clock, in UTC."""

    speed = 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    def real_seconds(self, virtual: timedelta) -> float:
        """Real seconds until a virtual span has passed."""
        return virtual.total_seconds()


@dataclass(frozen=True, slots=True)
class ScaledClock:
    """Virtual time running ``speed`` times faster than the wall clock from an anchor."""

    start: datetime
    anchor: datetime
    speed: float

    def now(self) -> datetime:
        return self.start + (datetime.now(UTC) - self.anchor) * self.speed

    def real_seconds(self, virtual: timedelta) -> float:
        return virtual.total_seconds() / self.speed


class ManualClock:
    """Virtual time that moves only when told to (discrete-event simulation, tests)."""

    speed = float("inf")

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware start instant")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        if instant < self._now:
            raise ValueError("virtual time cannot go backwards")
        self._now = instant.astimezone(UTC)

    def advance(self, span: timedelta) -> None:
        self.set(self._now + span)

    def real_seconds(self, virtual: timedelta) -> float:
        return 0.0
