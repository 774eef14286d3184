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

Reads of different tickets that begin together (the due steps of a restart, of a burst)
go in one request where the connector can read several tickets at once
(``core.ports.TicketBatchReader``): the first waits ``GATHER_TURNS`` turns of the event
loop (no time) for the others to join, then reads them all. In the 50-kill soak a life
started with up to eight due steps, each a request of its own against a budget that was
full for minutes (issue 10).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sla_connector.core.errors import RetriableConnectorError
from sla_connector.core.ports import PRIORITIES, Clock, request_priority
from sla_connector.core.ticket import Ticket

__all__ = ["FRESH_FOR", "GATHER_TURNS", "ReadMany", "TicketReads"]

# As fresh as a read of one's own: a request's round trip is about as long.
FRESH_FOR = timedelta(seconds=1)
# Event-loop turns a first read waits for the reads begun with it: the due steps a fire job
# dispatches reach their verify read within a turn or two (claims are synchronous).
GATHER_TURNS = 3

ReadMany = Callable[[Sequence[str]], Awaitable[Mapping[str, Ticket | Exception]]]


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
        # Per source, the reads waiting to go in the request a first read is gathering.
        self._gathering: dict[str, dict[str, asyncio.Future[Ticket] | None]] = {}
        self._priority: dict[str, str] = {}  # the most pressing of them (``core.ports``)
        self.shared = 0  # reads answered from another step's request (a health counter)
        self.batched = 0  # reads that went in another read's request (a health counter)

    async def read(
        self,
        source: str,
        ticket_id: str,
        fetch: Callable[[str], Awaitable[Ticket]],
        many: ReadMany | None = None,
    ) -> Ticket:
        """The ticket from a fresh read if there is one, else from ``fetch`` (or, with
        ``many``, from a request for the tickets whose reads begin with this one); the
        read's error reaches every step waiting on it, and is not kept."""
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
            if many is None:
                ticket = await fetch(ticket_id)
            else:
                ticket = await self._gathered(source, ticket_id, many)
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

    async def _gathered(self, source: str, ticket_id: str, many: ReadMany) -> Ticket:
        """The ticket from the request being gathered for ``source``, or from one this read
        gathers: it yields a few turns for other reads to join, then asks for them all."""
        waiting = self._gathering.get(source)
        if waiting is not None:
            mine: asyncio.Future[Ticket] = asyncio.get_running_loop().create_future()
            waiting[ticket_id] = mine
            self._priority[source] = min(
                self._priority[source], request_priority.get(), key=PRIORITIES.index
            )
            self.batched += 1
            try:
                return await mine
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # this step itself is being cancelled
                # The read that gathered was cancelled (its step shut down): read anew.
                return await self._gathered(source, ticket_id, many)
        waiting = self._gathering[source] = {ticket_id: None}
        self._priority[source] = request_priority.get()
        try:
            try:
                for _ in range(GATHER_TURNS):
                    await asyncio.sleep(0)
            finally:
                del self._gathering[source]
            # The request goes at the most pressing priority of the reads in it: a breach
            # that joined an at-risk step's read must not wait behind the warning's.
            token = request_priority.set(self._priority.pop(source))
            try:
                found = await many(list(waiting))
            finally:
                request_priority.reset(token)
        except BaseException as exc:
            for joined in waiting.values():
                _settle(joined, exc)
            raise
        for tid, joined in waiting.items():
            _settle(joined, found.get(tid, _left_out(tid)))
        own = found.get(ticket_id, _left_out(ticket_id))
        if isinstance(own, Exception):
            raise own
        return own

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


def _left_out(ticket_id: str) -> Exception:
    return RetriableConnectorError(f"ticket {ticket_id} was not in the answer to its read")


def _settle(joined: asyncio.Future[Ticket] | None, outcome: Ticket | BaseException) -> None:
    """Hand a joined read its ticket or error (a cancelled gatherer cancels it)."""
    if joined is None or joined.done():
        return
    if isinstance(outcome, asyncio.CancelledError):
        joined.cancel()
    elif isinstance(outcome, BaseException):
        joined.set_exception(outcome)
    else:
        joined.set_result(outcome)
