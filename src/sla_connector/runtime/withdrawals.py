"""Tickets that went away (SEMANTICS S39): out of the open set, steps cancelled, recorded.

A connector says a ticket went away in two ways: a poll's ``PollPage.withdrawn`` (deleted,
merged, spam, moved out of scope) and ``TicketGoneError`` from the re-read before a write.
Both end here: ``withdraw`` records the withdrawal in the store (one transaction: the
record, the snapshot closed, its planned and dormant steps cancelled with the reason), then
an evidence entry for the withdrawal and one per cancelled step, and one log line.
"""

from __future__ import annotations

import logging

from sla_connector.core.ledger import LedgerRow, WithdrawnTicket
from sla_connector.core.vocabulary import CANCELLED, withdrawn_detail
from sla_connector.store import Store

__all__ = ["escalation_evidence", "restore", "withdraw"]

log = logging.getLogger("sla_connector.runtime")


def escalation_evidence(
    row: LedgerRow, state: str, detail: str, lateness_us: int
) -> dict[str, object]:
    """The evidence payload of one ledger outcome (the escalator's and a withdrawal's)."""
    return {
        "key": row.key,
        "source": row.source,
        "ticket": row.ticket_id,
        "client": row.client,
        "step": row.step,
        "cycle": row.cycle,
        "due_at": row.due_at,
        "state": state,
        "lateness_us": lateness_us,
        "detail": detail,
    }


def withdraw(
    store: Store, source: str, ticket_id: str, reason: str, detail: str, *, at: int
) -> WithdrawnTicket | None:
    """Withdraw one ticket; None when it was never stored or is withdrawn already."""
    because = withdrawn_detail(reason, detail)
    done = store.withdraw(
        source, ticket_id, reason=reason, detail=detail, cancel_reason=because, at=at
    )
    if done is None:
        return None
    record, cancelled = done
    store.append_evidence(
        "withdrawal",
        {
            "source": source,
            "ticket": ticket_id,
            "client": record.client,
            "reason": reason,
            "detail": detail,
            "cancelled": [row.key for row in cancelled],
        },
        at=at,
    )
    for row in cancelled:
        store.append_evidence("escalation", escalation_evidence(row, CANCELLED, because, 0), at=at)
    log.info(
        "ticket withdrawn",
        extra={
            "event": "withdrawn",
            "connector": source,
            "ticket": ticket_id,
            "reason": reason,
            "detail": detail,
            "cancelled": len(cancelled),
        },
    )
    return record


def restore(store: Store, source: str, ticket_ids: list[str], *, at: int) -> list[str]:
    """Tickets a poll delivered again after their withdrawal: back in the open set."""
    back = store.restore_withdrawn(source, ticket_ids)
    for ticket_id in back:
        store.append_evidence("withdrawal_undone", {"source": source, "ticket": ticket_id}, at=at)
        log.info(
            "withdrawn ticket is back",
            extra={"event": "withdrawn", "connector": source, "ticket": ticket_id},
        )
    return back
