"""Fault injection for twins: per request (a queue of rules) or at a rate (seeded).

Kinds, and where each acts relative to the vendor's handler:

- ``RATE_LIMIT`` (429 with ``Retry-After``), ``SERVER_ERROR`` (500), ``UNAVAILABLE`` (503
  with ``Retry-After``), ``CONFLICT`` (409, as a vendor answers a write that lost a race
  with a person's edit): answered instead of the handler; nothing is applied.
- ``STALL``: the answer is held for ``stall_seconds`` (longer than the client's timeout),
  then the connection is dropped; nothing is applied.
- ``RESET``: the connection is reset (TCP RST) before any answer; nothing is applied.
- ``TRUNCATED``: the handler runs (a write lands) and its 200 answer is sent cut in half,
  as a complete HTTP message whose JSON does not parse.
- ``STALL_AFTER_WRITE``: for writes only (PUT, POST, PATCH, DELETE): the handler runs and
  the write lands, then the answer is held for ``stall_seconds`` and the connection
  dropped: the client never learns that its write landed.

Every pick is bounded: a rule fires a fixed number of times, a rate draws from a seeded
random generator.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["DEFAULT_MIX", "WRITE_METHODS", "FaultKind", "FaultPlan"]

WRITE_METHODS = frozenset({"PUT", "POST", "PATCH", "DELETE"})


class FaultKind(StrEnum):
    RATE_LIMIT = "429"
    SERVER_ERROR = "500"
    UNAVAILABLE = "503"
    STALL = "stall"
    TRUNCATED = "truncated"
    RESET = "reset"
    STALL_AFTER_WRITE = "stall_after_write"
    CONFLICT = "409"


# The soak's default mix at a rate: mostly cheap, transient faults; few stalls, since each
# one costs the client its whole timeout.
DEFAULT_MIX: Mapping[FaultKind, float] = {
    FaultKind.RATE_LIMIT: 0.22,
    FaultKind.SERVER_ERROR: 0.18,
    FaultKind.UNAVAILABLE: 0.15,
    FaultKind.TRUNCATED: 0.18,
    FaultKind.RESET: 0.17,
    FaultKind.STALL: 0.04,
    FaultKind.STALL_AFTER_WRITE: 0.06,
}


@dataclass
class _Rule:
    kind: FaultKind
    method: str | None
    path: re.Pattern[str] | None
    remaining: int

    def matches(self, method: str, path: str) -> bool:
        if self.kind is FaultKind.STALL_AFTER_WRITE and method not in WRITE_METHODS:
            return False
        if self.method is not None and method != self.method:
            return False
        return self.path is None or bool(self.path.search(path))


@dataclass
class FaultPlan:
    """Which requests get which fault; thread-safe, shared by the server and the test."""

    seed: int = 0
    stall_seconds: float = 31.0
    retry_after: int = 2
    _rules: list[_Rule] = field(default_factory=list)
    _rate: float = 0.0
    _mix: dict[FaultKind, float] = field(default_factory=dict)
    _rate_path: re.Pattern[str] | None = None
    _random: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _held: threading.Condition = field(init=False)
    held_count: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    released: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._held = threading.Condition(self._lock)

    def inject(
        self,
        kind: FaultKind,
        *,
        method: str | None = None,
        path: str | None = None,
        times: int = 1,
    ) -> None:
        """Give the next ``times`` matching requests this fault (``path`` is a regex)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        pattern = re.compile(path) if path else None
        with self._lock:
            self._rules.append(_Rule(kind, method, pattern, times))

    def set_rate(
        self,
        rate: float,
        mix: Mapping[FaultKind, float] | None = None,
        *,
        path: str | None = r"^/api/",
    ) -> None:
        """Fault a share ``rate`` of requests matching ``path``, kinds drawn from ``mix``."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate is a share between 0 and 1")
        with self._lock:
            self._rate = rate
            self._mix = dict(mix or DEFAULT_MIX)
            self._rate_path = re.compile(path) if path else None

    def cancel(self, kind: FaultKind) -> None:
        """Drop the pending per-request rules of one kind."""
        with self._lock:
            self._rules = [r for r in self._rules if r.kind is not kind]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._rate = 0.0

    def pick(self, method: str, path: str) -> FaultKind | None:
        """The fault for this request, if any (consumes a matching rule first)."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                    self.injected[rule.kind] += 1
                    return rule.kind
            if self._rate <= 0.0 or (self._rate_path and not self._rate_path.search(path)):
                return None
            if self._random.random() >= self._rate:
                return None
            kinds: list[FaultKind] = list(self._mix)
            if method not in WRITE_METHODS:
                kinds = [k for k in kinds if k is not FaultKind.STALL_AFTER_WRITE]
            weights = [self._mix[k] for k in kinds]
            kind = self._random.choices(kinds, weights)[0]
            self.injected[kind] += 1
            return kind

    def release_held(self) -> None:
        """End every stall now (the server is stopping); new stalls end at once too."""
        self.released.set()

    def note_held(self) -> None:
        """Called by the server when a write has landed and its answer is being held."""
        with self._held:
            self.held_count += 1
            self._held.notify_all()

    def wait_held(self, seen: int, timeout: float) -> bool:
        """Wait until more than ``seen`` writes have been held (for a kill mid-write)."""
        with self._held:
            return self._held.wait_for(lambda: self.held_count > seen, timeout)
