"""Verify reads shared by the steps of one ticket that fall due together.

Every step is verified against the ticket as the PSA has it just before it is written
(polling lags the PSA). When several steps of one ticket are due at once (after a restart,
a breach and the at-risk notice before it, two recipients of one breach), each verify read
costs the same requests (on Zendesk the ticket and its audits) for the same answer, and
those requests come out of the one account budget every due step shares (issue 10: a
restart with 200 overdue tickets needs every request it can save).

A read is shared while it is in flight or fresh (answered at most ``FRESH_FOR`` ago), and
only until a write to the ticket begins: a write changes the ticket (its ``updated_at``,
which a safe update is checked against, included). Two steps verifying at the same moment
share the one request in flight. A read that failed is not kept: the next step asks again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sla_connector.core.ports import Clock
from sla_connector.core.ticket import Ticket

__all__ = ["FRESH_FOR", "TicketReads"]

# As fresh as a read of one's own: a request's round trip is about as long.
FRESH_FOR = timedelta(seconds=1)


@dataclass(slots=True)
class _Read:
    answer: asyncio.Future[Ticket]
    answered: datetime | None = None


class TicketReads:
    """The latest verify read of each ticket, shared while it is fresh."""

    def __init__(self, clock: Clock, fresh_for: timedelta = FRESH_FOR) -> None:
        self.clock = clock
        self.fresh_for = fresh_for
        self._reads: dict[tuple[str, str], _Read] = {}
        self.shared = 0  # reads answered from another step's request (a health counter)

    async def read(
        self, source: str, ticket_id: str, fetch: Callable[[str], Awaitable[Ticket]]
    ) -> Ticket:
        """The ticket from a fresh read if there is one, else from ``fetch`` (whose error
        reaches every step waiting on it, and is not kept)."""
        key = (source, ticket_id)
        now = self.clock.now()
        self._expire(now)
        known = self._reads.get(key)
        if known is not None:
            try:
                ticket = await asyncio.shield(known.answer)
            except asyncio.CancelledError:
                if not known.answer.cancelled():
                    raise  # this step itself is being cancelled
                # The step that was reading was cancelled (a shutdown): read for oneself.
            else:
                self.shared += 1
                return ticket
        answer: asyncio.Future[Ticket] = asyncio.get_running_loop().create_future()
        entry = _Read(answer)
        self._reads[key] = entry
        try:
            ticket = await fetch(ticket_id)
        except asyncio.CancelledError:
            self._drop(key, entry)
            answer.cancel()
            raise
        except Exception as exc:
            self._drop(key, entry)
            answer.set_exception(exc)
            answer.exception()  # retrieved: a read nobody else waited on is not an error
            raise
        answer.set_result(ticket)
        entry.answered = self.clock.now()
        return ticket

    def _drop(self, key: tuple[str, str], entry: _Read) -> None:
        if self._reads.get(key) is entry:
            del self._reads[key]

    def forget(self, source: str, ticket_id: str) -> None:
        """A write to the ticket begins: later steps read it again."""
        self._reads.pop((source, ticket_id), None)

    def _expire(self, now: datetime) -> None:
        stale = [
            key
            for key, read in self._reads.items()
            if read.answered is not None and now - read.answered > self.fresh_for
        ]
        for key in stale:
            del self._reads[key]
