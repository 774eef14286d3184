"""Whether the store takes writes, and backing off while it does not (issue 11, item 9).

A full disk, a read-only file system or a lost database makes every store write fail with
a ``StoreError``. Without care each poll, timer and leadership tick would then log a
traceback as fast as the timers fire. ``StoreHealth`` is told of each failure and each job
that went through: while failing, jobs wait out an exponential back-off (5 s doubling to 5
minutes, on the daemon's clock), ``/readyz`` answers 503 naming the problem, and the
failure is logged at most once per minute of that clock, as one line with the count of
failures since the last line and no traceback. The first job that goes through after it
(the daemon then proves a write with a heartbeat) logs once that the store is writable
again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sla_connector.core.errors import StoreError
from sla_connector.core.ports import Clock

__all__ = ["LOG_EVERY", "StoreHealth"]

log = logging.getLogger("sla_connector.runtime")
LOG_EVERY = timedelta(minutes=1)
_FIRST_BACKOFF = timedelta(seconds=5)
_MAX_BACKOFF = timedelta(minutes=5)


@dataclass
class StoreHealth:
    """The store's writability as the daemon's jobs meet it."""

    clock: Clock
    problem: str | None = None
    since: datetime | None = None
    retry_at: datetime | None = None
    failures: int = 0
    _logged_at: datetime | None = None
    _unlogged: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None

    def backing_off(self) -> bool:
        """Whether a job should wait (the store failed and its back-off has not passed)."""
        return self.retry_at is not None and self.clock.now() < self.retry_at

    def failed(self, exc: StoreError, job: str) -> None:
        """A job met ``exc``: back off, and log it unless a line went out under a minute ago."""
        now = self.clock.now()
        self.failures += 1
        self._unlogged += 1
        if self.problem is None:
            self.since = now
        self.problem = str(exc)
        backoff = min(_FIRST_BACKOFF * 2 ** min(self.failures - 1, 16), _MAX_BACKOFF)
        self.retry_at = now + backoff
        if self._logged_at is None or now - self._logged_at >= LOG_EVERY:
            log.error(
                "store unwritable; backing off",
                extra={
                    "event": "store",
                    "job": job,
                    "error": self.problem,
                    "failures": self._unlogged,
                    "retry_in_seconds": backoff.total_seconds(),
                },
            )
            self._logged_at = now
            self._unlogged = 0

    def succeeded(self) -> None:
        """A job went through: the store is healthy (again)."""
        if self.problem is None:
            return
        log.info(
            "store writable again",
            extra={"event": "store", "failures": self.failures, "since": self.since},
        )
        # ``_logged_at`` stays: a store that flaps still gets one line a minute at most.
        self.problem = self.since = self.retry_at = None
        self.failures = self._unlogged = 0

    def report(self) -> dict[str, Any]:
        """What ``/readyz`` shows about the store."""
        return {
            "ok": self.ok,
            "problem": self.problem,
            "since": None if self.since is None else self.since.isoformat(),
            "retry_at": None if self.retry_at is None else self.retry_at.isoformat(),
        }
