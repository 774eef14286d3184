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

While the source's last such request still waits for the PSA's rate budget, a new one
keeps gathering: it goes once that one has left (``core.ports.request_sent``), with every
read begun meanwhile. When the budget is spent, steps fall due one after another while the
first read waits, and each read of its own then waited for a slot of its own (in the soak
39 of the peak minute's 100 requests were verify reads, nearly all of one ticket). A read
more pressing than the waiting request (a breach's behind an at-risk step's) does not
wait for it. A connector whose requests never report leaving (no HTTP budget) makes the
next request wait until the last one is answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sla_connector.core.errors import RetriableConnectorError
from sla_connector.core.ports import PRIORITIES, Clock, request_priority, request_sent
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


@dataclass(slots=True)
class _Unsent:
    """A gathered request that has not left yet (it waits for the PSA's budget)."""

    priority: str
    moved: asyncio.Event  # set when it leaves, or when the next batch's priority rises
    left: bool = False

    def sent(self) -> None:
        self.left = True
        self.moved.set()


class TicketReads:
    """The latest verify read of each ticket, shared while it is fresh."""

    def __init__(self, clock: Clock, fresh_for: timedelta = FRESH_FOR) -> None:
        self.clock = clock
        self.fresh_for = fresh_for
        self._reads: dict[tuple[str, str], _Read] = {}
        # Per source, the reads waiting to go in the request a first read is gathering.
        self._gathering: dict[str, dict[str, asyncio.Future[Ticket] | None]] = {}
        self._priority: dict[str, str] = {}  # the most pressing of them (``core.ports``)
        self._unsent: dict[str, list[_Unsent]] = {}  # per source, requests not left yet
        self._moved: dict[str, asyncio.Event] = {}  # per source: an unsent one left
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
            before = self._priority[source]
            self._priority[source] = min(before, request_priority.get(), key=PRIORITIES.index)
            if self._priority[source] != before:
                self._moved_event(source).set()  # it may no longer wait for the unsent one
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
                await self._behind_unsent(source)
            finally:
                del self._gathering[source]
            # The request goes at the most pressing priority of the reads in it: a breach
            # that joined an at-risk step's read must not wait behind the warning's.
            priority = self._priority.pop(source)
            unsent = _Unsent(priority, self._moved_event(source))
            self._unsent.setdefault(source, []).append(unsent)
            token = request_priority.set(priority)
            hook = request_sent.set(unsent.sent)
            try:
                found = await many(list(waiting))
            finally:
                request_sent.reset(hook)
                request_priority.reset(token)
                unsent.sent()  # answered or failed: nothing waits for it any more
                self._unsent[source].remove(unsent)
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

    def _moved_event(self, source: str) -> asyncio.Event:
        return self._moved.setdefault(source, asyncio.Event())

    async def _behind_unsent(self, source: str) -> None:
        """Keep gathering while one of the source's requests at least as pressing as the
        one being gathered has not left yet (``core.ports.request_sent``)."""
        moved = self._moved_event(source)
        while True:
            mine = PRIORITIES.index(self._priority[source])
            if not any(
                not unsent.left and PRIORITIES.index(unsent.priority) <= mine
                for unsent in self._unsent.get(source, ())
            ):
                return
            moved.clear()
            await moved.wait()

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
