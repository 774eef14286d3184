"""One bad object never stops the rest: the runtime's record of per-object failures.

A connector reports an object it could not read this time (a Jira project, a ConnectWise
board, one ticket's history, a page) in ``PollPage.failures`` and keeps it in its
``health()`` until a retry succeeds; it backs the object off itself (``Quarantine``) while
the rest of the poll goes on. The runtime records each failure against its object in the
connector's ``ConnectorStatus``: one log line per object and attempt (each attempt is one
back-off step, so a project failing for an hour is logged a handful of times, not at every
poll), a count per kind for ``/metrics``, and the objects failing now for the dashboard's
health view and ``/metrics``; an object that recovers is logged once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from sla_connector.core.ports import Connector, HealthReporter, ObjectFailure

__all__ = ["ObjectFailures", "describe"]

log = logging.getLogger("sla_connector.runtime")


def describe(failure: ObjectFailure) -> str:
    """One line for an operator: which object, what failed, when it is tried again."""
    retry = "" if failure.retry_at is None else f"; retried after {failure.retry_at:%H:%M:%S}Z"
    act = "" if failure.retriable else "; needs an operator"
    return (
        f"{failure.kind} {failure.object_id}: {failure.error} "
        f"(attempt {failure.attempts}{retry}{act})"
    )


@dataclass(slots=True)
class ObjectFailures:
    """A connector's per-object failures as the runtime saw them."""

    failing: tuple[ObjectFailure, ...] = ()
    errors: dict[str, int] = field(default_factory=dict)  # kind -> attempts that failed
    warnings: tuple[str, ...] = ()
    _logged: dict[tuple[str, str], int] = field(default_factory=dict)

    def record(self, connector: str, failures: Iterable[ObjectFailure]) -> None:
        """Count and log each failure once per object and attempt."""
        for failure in failures:
            key = (failure.kind, failure.object_id)
            if self._logged.get(key) == failure.attempts:
                continue  # already told: the same back-off step reported again
            self._logged[key] = failure.attempts
            self.errors[failure.kind] = self.errors.get(failure.kind, 0) + 1
            log.warning(
                "object failing: %s",
                describe(failure),
                extra={
                    "event": "object_failure",
                    "connector": connector,
                    "kind": failure.kind,
                    "object": failure.object_id,
                    "attempts": failure.attempts,
                    "retry_at": None if failure.retry_at is None else failure.retry_at.isoformat(),
                    "error": failure.error,
                },
            )

    def refresh(self, connector: str, adapter: Connector, seen: Iterable[ObjectFailure]) -> None:
        """After a poll: what is failing now (the connector's health, else this poll's
        failures); objects no longer failing are logged as recovered."""
        if isinstance(adapter, HealthReporter):
            health = adapter.health()
            now_failing, self.warnings = tuple(health.failures), tuple(health.warnings)
            self.record(connector, now_failing)
        else:
            now_failing = tuple(seen)
        current = {(f.kind, f.object_id) for f in now_failing}
        for kind, object_id in [k for k in self._logged if k not in current]:
            del self._logged[(kind, object_id)]
            log.info(
                "object recovered: %s %s",
                kind,
                object_id,
                extra={
                    "event": "object_recovered",
                    "connector": connector,
                    "kind": kind,
                    "object": object_id,
                },
            )
        self.failing = now_failing

    @property
    def lines(self) -> tuple[str, ...]:
        """The failing objects, one line each (dashboard, ``check``)."""
        return tuple(describe(f) for f in self.failing)
