"""A vendor's request budget: N accepted requests in any window of W seconds.

Refused requests do not count. ``retry_after`` is the whole number of seconds until the
oldest counted request leaves the window, the value a vendor puts in ``Retry-After``.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field

from tests.twins.clock import Clock

__all__ = ["SlidingWindow"]


@dataclass
class SlidingWindow:
    limit: int
    clock: Clock
    window: float = 60.0
    _times: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _trim(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()

    def try_acquire(self) -> bool:
        """Count one request if the budget allows it."""
        with self._lock:
            now = self.clock()
            self._trim(now)
            if len(self._times) >= self.limit:
                return False
            self._times.append(now)
            return True

    def remaining(self) -> int:
        with self._lock:
            self._trim(self.clock())
            return max(0, self.limit - len(self._times))

    def retry_after(self) -> int:
        """Seconds until one more request would be accepted (at least 1)."""
        with self._lock:
            now = self.clock()
            self._trim(now)
            if len(self._times) < self.limit:
                return 1
            return max(1, math.ceil(self._times[0] + self.window - now))

    def reset_in(self) -> int:
        """Seconds until the window is fully clear (``ratelimit-reset``)."""
        with self._lock:
            now = self.clock()
            self._trim(now)
            if not self._times:
                return 0
            return max(0, math.ceil(self._times[-1] + self.window - now))
