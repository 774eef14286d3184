"""One bad object never stops the rest: per-object failures, back-off and health counters.

A connector reads many objects in one poll (projects, boards, tickets, pages). When one of
them fails after the HTTP layer's own retries (a Jira 400 for an archived project, a ticket
whose audit trail keeps answering 500), ``Quarantine.failed`` records it against that object
with its error and a retry instant (exponential back-off on the injected clock: 1, 2, 4 ...
minutes up to an hour), and the poll goes on. ``due`` says whether the object should be
tried again now; ``succeeded`` clears it. ``HealthBook`` adds the counters and warnings a
connector reports through ``core.ports.HealthReporter`` (``check``, /metrics, dashboard).
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta

from sla_connector.core.ports import Clock, ConnectorHealth, ObjectFailure

__all__ = ["BACKOFF_BASE", "BACKOFF_CAP", "HealthBook", "Quarantine"]

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
MAX_WARNINGS = 20


class Quarantine:
    """The objects failing now, each with its attempts and next retry instant."""

    def __init__(
        self, clock: Clock, base: timedelta = BACKOFF_BASE, cap: timedelta = BACKOFF_CAP
    ) -> None:
        self.clock = clock
        self.base = base
        self.cap = cap
        self._failing: dict[tuple[str, str], ObjectFailure] = {}

    def failed(
        self, kind: str, object_id: str, error: str, *, retriable: bool = True
    ) -> ObjectFailure:
        """Record one more failure of an object; returns the record (with its retry time)."""
        previous = self._failing.get((kind, object_id))
        attempts = 1 if previous is None else previous.attempts + 1
        delay = min(self.cap, self.base * (2 ** min(attempts - 1, 16)))
        record = ObjectFailure(
            kind=kind,
            object_id=object_id,
            error=error,
            attempts=attempts,
            retry_at=self.clock.now() + delay,
            retriable=retriable,
        )
        self._failing[(kind, object_id)] = record
        return record

    def succeeded(self, kind: str, object_id: str) -> bool:
        """Forget an object's failures; True when it had been failing."""
        return self._failing.pop((kind, object_id), None) is not None

    def due(self, kind: str, object_id: str, now: datetime | None = None) -> bool:
        """Whether to try the object now (never failed, or its back-off has passed)."""
        record = self._failing.get((kind, object_id))
        if record is None or record.retry_at is None:
            return True
        return (now or self.clock.now()) >= record.retry_at

    def failing(self, kind: str | None = None) -> list[ObjectFailure]:
        """The failing objects (of one kind), oldest retry first."""
        found = [f for (k, _), f in self._failing.items() if kind is None or k == kind]
        return sorted(found, key=lambda f: (f.retry_at or self.clock.now(), f.object_id))

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._failing


class HealthBook:
    """A connector's failures, counters and warnings, read as one ``ConnectorHealth``."""

    def __init__(self, clock: Clock) -> None:
        self.quarantine = Quarantine(clock)
        self.counters: Counter[str] = Counter()
        self._warnings: dict[str, str] = {}
        self._lock = threading.Lock()

    def count(self, name: str, by: int = 1) -> None:
        with self._lock:
            self.counters[name] += by

    def warn(self, key: str, sentence: str) -> bool:
        """Keep a warning under ``key`` (the newest wording wins); True the first time."""
        with self._lock:
            first = key not in self._warnings
            if first and len(self._warnings) >= MAX_WARNINGS:
                return False
            self._warnings[key] = sentence
            return first

    def clear_warning(self, key: str) -> None:
        with self._lock:
            self._warnings.pop(key, None)

    def snapshot(self, extra: dict[str, int] | None = None) -> ConnectorHealth:
        with self._lock:
            counters = dict(self.counters)
            warnings = tuple(self._warnings.values())
        counters.update(extra or {})
        return ConnectorHealth(
            failures=tuple(self.quarantine.failing()), counters=counters, warnings=warnings
        )
