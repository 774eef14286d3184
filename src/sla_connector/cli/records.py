"""The JSON records of DESIGN section 8, shared by ``audit`` and the reports.

Numbers follow SEMANTICS S25: seconds are integers when whole; times are RFC 3339 UTC
with ``Z``.
"""

from __future__ import annotations

from typing import Any

from sla_connector.core.adherence import AdherenceRow
from sla_connector.core.calendars import from_us
from sla_connector.core.evaluate import ClockResult, TicketEvaluation

__all__ = ["adherence_record", "clock_record", "instant", "seconds", "ticket_record"]


def seconds(micros: int) -> int | float:
    """Microseconds as JSON seconds: an integer when whole (S25)."""
    whole, rest = divmod(micros, 1_000_000)
    return whole if rest == 0 else micros / 1_000_000


def instant(micros: int | None) -> str | None:
    """RFC 3339 UTC with ``Z``, or None."""
    if micros is None:
        return None
    return from_us(micros).isoformat().replace("+00:00", "Z")


def clock_record(clock: ClockResult) -> dict[str, Any]:
    return {
        "target_seconds": seconds(clock.target_us),
        "due_at": instant(clock.due_at),
        "stopped_at": instant(clock.stopped_at),
        "breached_at": instant(clock.breached_at),
        "elapsed_seconds": seconds(clock.elapsed_us),
        "state": clock.state,
        "cycle": clock.cycle,
    }


def ticket_record(evaluation: TicketEvaluation) -> dict[str, Any]:
    """One ticket of ``audit --format json``."""
    ticket = evaluation.ticket
    return {
        "id": ticket.id,
        "source": ticket.source,
        "client": ticket.client,
        "tier": evaluation.tier,
        "rule": evaluation.rule,
        "response": clock_record(evaluation.response),
        "resolution": clock_record(evaluation.resolution),
        "escalations": [
            {
                "step": plan.step.name,
                "due_at": instant(plan.due_at),
                "to": plan.to,
                "state": plan.state,
                "cycle": plan.cycle,
            }
            for plan in evaluation.steps
            if plan.state != "cancelled"
        ],
    }


def adherence_record(row: AdherenceRow) -> dict[str, Any]:
    return {
        "client": row.client,
        "tier": row.tier,
        "kind": row.kind,
        "met": row.met,
        "breached": row.breached,
        "adherence": row.adherence,
    }
