"""What one page of the Zendesk feed yields, and which tickets left the open set.

``gone`` says whether a ticket object (from the export or a read) was withdrawn and why:
``deleted`` (the export shows ``status: "deleted"``: developer.zendesk.com incremental exports
page, "Excluding deleted tickets"), ``spam`` (deleted, and its requester suspended: marking
a ticket as spam does both, support.zendesk.com article 4408842999066) or ``merged`` (closed
with the ``closed_by_merge`` tag a merge adds: spec ``MergeTicketsIntoTargetTicket``, the tag
as seen in exported data [verify]). ``Batch`` gathers a page's tickets, rejections,
withdrawals and per-ticket failures into one ``PollPage``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sla_connector.core.errors import RetriableConnectorError, TicketError, TicketGoneError
from sla_connector.core.ports import Withdrawal
from sla_connector.core.ticket import Ticket
from sla_connector_psa.pages import PageBatch
from sla_connector_psa.values import optional_int
from sla_connector_psa.zendesk.normalize import ticket_id_of

__all__ = ["MERGED_TAG", "Batch", "gone"]

MERGED_TAG = "closed_by_merge"


def gone(raw: Mapping[str, Any], suspended: set[int]) -> Withdrawal | None:
    """Whether a ticket object left the open set, and why (None: it is a ticket to show)."""
    tid = ticket_id_of(raw)
    status = raw.get("status")
    if status == "deleted":
        requester = optional_int(raw.get("requester_id"))
        spam = requester is not None and requester in suspended
        return Withdrawal(tid, "spam" if spam else "deleted")
    tags = raw.get("tags")
    if status == "closed" and isinstance(tags, list) and MERGED_TAG in tags:
        return Withdrawal(tid, "merged", f"closed with the {MERGED_TAG} tag")
    return None


@dataclass
class Batch(PageBatch):
    """What one page (or the retry pass) found, and which tickets to read again."""

    retry: set[int] = field(default_factory=set)
    done: set[int] = field(default_factory=set)

    def outcome(self, ticket_id: str) -> Ticket | Exception:
        """What the batch says of one ticket it was built from: the ticket, or the error a
        read of it alone raises (gone, failed for now, rejected)."""
        for ticket in self.tickets:
            if ticket.id == ticket_id:
                return ticket
        for away in self.withdrawn:
            if away.ticket_id == ticket_id:
                return TicketGoneError(ticket_id, away.reason, away.detail)
        for failure in self.failures:
            if failure.object_id == ticket_id:
                return RetriableConnectorError(failure.error)
        reasons = [reason for rejected, reason in self.rejected if rejected == ticket_id]
        return TicketError(reasons[0] if reasons else f"ticket {ticket_id}")

    def merge(self, other: PageBatch) -> None:
        super().merge(other)
        if isinstance(other, Batch):
            self.retry |= other.retry
