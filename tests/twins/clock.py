"""Where a twin's present comes from: the wall clock, or a manual clock tests advance.

Every twin behaviour that depends on time (the export lag, rate-limit windows, token
expiry) reads one injected callable returning Unix seconds, so unit tests of a 60-second
lag never sleep for 60 seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Clock", "ManualClock", "system_clock"]

Clock = Callable[[], float]
"""A twin clock: returns the present as Unix seconds (a float)."""


def system_clock() -> float:
    """The wall clock."""
    return time.time()


class ManualClock:
    """A clock that moves only when told; safe to read from the server thread."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (never backwards) and return the new present."""
        if seconds < 0:
            raise ValueError("a twin clock never goes backwards")
        with self._lock:
            self._now += seconds
            return self._now
