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

from sla_connector.core.ports import ObjectFailure, PollPage, Withdrawal
from sla_connector.core.ticket import Ticket
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
class Batch:
    """What one page (or the retry pass) found."""

    tickets: list[Ticket] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    withdrawn: list[Withdrawal] = field(default_factory=list)
    failures: list[ObjectFailure] = field(default_factory=list)
    retry: set[int] = field(default_factory=set)
    done: set[int] = field(default_factory=set)

    def withdraw(self, gone: Withdrawal) -> None:
        if all(w.ticket_id != gone.ticket_id for w in self.withdrawn):
            self.withdrawn.append(gone)

    def merge(self, other: Batch) -> None:
        self.tickets += other.tickets
        self.rejected += other.rejected
        for gone in other.withdrawn:
            self.withdraw(gone)
        self.failures += other.failures
        self.retry |= other.retry

    def page(self, cursor: str) -> PollPage:
        return PollPage(
            tickets=tuple(self.tickets),
            cursor=cursor,
            rejected=tuple(self.rejected),
            withdrawn=tuple(self.withdrawn),
            failures=tuple(self.failures),
        )
