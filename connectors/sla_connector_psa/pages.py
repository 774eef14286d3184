"""What one page of a connector's feed found, gathered into one ``PollPage``.

Every built-in connector reads a page of rows and, row by row, ends up with a ticket, a
rejection (unreadable row), a withdrawal (the ticket went away) or a failure (the ticket's
history could not be read this time, retried later). ``PageBatch`` collects them in order,
keeps one withdrawal per ticket, and becomes the page the runtime stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sla_connector.core.ports import ObjectFailure, PollPage, Withdrawal
from sla_connector.core.ticket import Ticket

__all__ = ["PageBatch"]


@dataclass
class PageBatch:
    """Tickets, rejections, withdrawals and failures of one page."""

    tickets: list[Ticket] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    withdrawn: list[Withdrawal] = field(default_factory=list)
    failures: list[ObjectFailure] = field(default_factory=list)

    def withdraw(self, gone: Withdrawal) -> None:
        """Record a withdrawal once per ticket (the first reason found stands)."""
        if all(w.ticket_id != gone.ticket_id for w in self.withdrawn):
            self.withdrawn.append(gone)

    def merge(self, other: PageBatch) -> None:
        self.tickets += other.tickets
        self.rejected += other.rejected
        for gone in other.withdrawn:
            self.withdraw(gone)
        self.failures += other.failures

    def page(self, cursor: str | None) -> PollPage:
        return PollPage(
            tickets=tuple(self.tickets),
            cursor=cursor,
            rejected=tuple(self.rejected),
            withdrawn=tuple(self.withdrawn),
            failures=tuple(self.failures),
        )
