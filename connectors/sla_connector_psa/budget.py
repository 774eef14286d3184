"""A connector's request budget: at most ``requests_per_minute`` in any minute, urgent first.

Kept apart from the requests themselves (``http.PsaHttp`` draws on it before each one) so
the rule has one home: waiting requests form one queue in priority order (the verify and
write of a due step, ``core.ports.urgent``, before polls and full reads), background
requests leave a quarter of the general budget to due steps and the verify reads of due
at-risk steps (``WARNING``) leave its last 15 % to the other due steps (``_limit``), and with a
``core.ports.RequestLog`` (the store) every request is counted before it is sent, so a
restarted daemon starts from the last minute's count instead of a fresh budget.

The window is 61 s: the vendor's minute and a second for the time between being counted
here and being counted by the vendor (and for clock skew).

A *paced* budget (Zendesk's incremental export: 10 requests a minute, psa-apis.md 3.6)
also spaces the first request of each poll (made inside ``pacing()``; its first attempt)
``PACE_SHARE`` x 61 s / the budget after the one before (15.25 s at 8 a minute), so polls
take at most half the budget and leave the rest to what a poll may need besides (its
event-stream page, further pages, retries), which the budget alone holds. Polls every few
seconds otherwise spent the minute in its first 20 s and then read nothing for 40 s while
new tickets became visible, or left no slot for the event-stream page that a poll with new
tickets needs (issue 10, the 50-kill soak). A restarted process's first poll is held by
the budget alone, not by the pace: the log says neither which request began a poll nor
whether a counted request was ever sent, and paced from the latest of them, lives shorter
than the pace (a crash loop) polled once in 46 s while new tickets' steps fell due (the
same soak). The daemon keeps a restart from polling sooner than a poll interval after the
last stored cursor (``runtime.daemon``), and the budget keeps the vendor's limit.
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

from sla_connector.core.ports import (
    BACKGROUND,
    PRIORITIES,
    WARNING,
    Clock,
    RequestLog,
    is_urgent,
    request_priority,
)

__all__ = ["PACE_SHARE", "WINDOW", "RequestBudget", "log_warning_once", "pacing"]

log = logging.getLogger("sla_connector_psa.http")

WINDOW = timedelta(seconds=61)
PACE_SHARE = 2  # a paced budget's polls are this many budget shares (61 s / budget) apart
# The share of the general budget a priority leaves to the more pressing ones (``_limit``);
# due steps' own requests (``URGENT``) may fill it.
_LEFT_TO_OTHERS = {WARNING: (3, 20), BACKGROUND: (1, 4)}

_pacing: ContextVar[bool] = ContextVar("sla_connector_psa_pacing", default=False)


@contextmanager
def pacing() -> Iterator[None]:
    """Mark the request made inside as a poll's first, which a paced budget spaces out
    (its first attempt only: the budget clears the mark once it has counted it)."""
    token = _pacing.set(True)
    try:
        yield
    finally:
        _pacing.reset(token)


def _us(instant: datetime) -> int:
    return int(instant.timestamp() * 1_000_000)


def _from_us(at: int) -> datetime:
    return datetime.fromtimestamp(at / 1_000_000, UTC)


def log_warning_once(http: RequestBudget, message: str) -> None:
    """One warning per layer about its request log (a store that is down says so once)."""
    if not getattr(http, "_warned", False):
        http._warned = True  # type: ignore[attr-defined]
        log.warning("connector %s: %s", http.name, message)


class RequestBudget:
    """The budget half of a ``PsaHttp``: its window, its queue and its request log.

    ``family`` is the layer and its siblings (one PSA account); the first of the family
    holds the general budget, where verifies and writes go.
    """

    name: str
    clock: Clock
    requests_per_minute: int
    bucket: str
    request_log: RequestLog | None
    family: list[RequestBudget]
    paced: bool
    _sleep: Callable[[float], Awaitable[None]]

    def _init_budget(self, name: str, requests_per_minute: int) -> None:
        self._window: deque[datetime] = deque()
        self._queue: list[tuple[int, int, asyncio.Event]] = []  # (priority, order, turn)
        self._order = itertools.count()
        self.request_log = None
        self.bucket = f"{name}/0/{requests_per_minute}"
        self.paced = False
        self._last_paced: datetime | None = None  # a paced budget's last poll-first request

    def keep_budgets(self, log: RequestLog) -> None:
        """Keep this layer's budget and its siblings' in ``log`` (``core.ports.BudgetKeeper``)."""
        for member in self.family:
            member.keep_budget(log)

    def keep_budget(self, log: RequestLog) -> None:
        """Count this budget's requests in ``log``, starting from those of the last minute."""
        self.request_log = log
        now = self.clock.now()
        since = now - WINDOW
        try:
            earlier = log.recent_requests(self.bucket, since=_us(since))
        except Exception as exc:  # the store is down: the budget starts from memory
            log_warning_once(self, f"cannot read the request budget: {exc}")
            return
        if self._window:  # this layer's own requests are already in the log
            earlier = [at for at in earlier if at < _us(self._window[0])]
        seen = sorted([*(_from_us(at) for at in earlier), *self._window])
        self._window = deque(at for at in seen if at > since)

    async def _throttle(self) -> datetime:
        """Keep at most ``requests_per_minute`` requests in any ``WINDOW`` (61 s), in
        priority order (``core.ports.PRIORITIES``: due steps, due at-risk steps, the rest);
        the instant the request was counted at.

        Waiting requests form one queue in priority order and only its head waits for a
        slot; a more urgent request that arrives meanwhile takes the head (the one it
        displaced goes back to waiting its turn), so an urgent request never waits behind
        a background one.
        """
        priority = request_priority.get()
        urgent = is_urgent(priority)
        turn = asyncio.Event()
        entry = (PRIORITIES.index(priority), next(self._order), turn)
        head = self._queue[0] if self._queue else None
        heapq.heappush(self._queue, entry)
        if head is not None and self._queue[0] is entry:
            head[2].set()  # displaced: let it see it is no longer first
        try:
            while True:
                while self._queue[0] is not entry:
                    turn.clear()
                    await turn.wait()
                now, start = self._slot(priority)
                if start is None:
                    break
                turn.clear()
                if await self._wait_or_yield((start - now).total_seconds(), turn):
                    self._expire_before(start, self._limit(priority))
                    now = max(self.clock.now(), start)  # a virtual clock may not have moved
                    break
            self._count(now)
            if self.paced and _pacing.get() and not urgent:
                self._last_paced = now
                _pacing.set(False)  # the attempt's retries are the rest of the poll
            return now
        finally:
            self._queue.remove(entry)
            heapq.heapify(self._queue)
            if self._queue:
                self._queue[0][2].set()

    def free_now(self) -> bool:
        """Whether a background request would be counted now, without waiting: nobody is
        queued and the window has a slot. For a read that is worth it only when it costs no
        wait (Zendesk's event-stream page: in a crash loop the export budget is full, and
        a page that waited for it held up every ticket of the poll)."""
        return not self._queue and self._slot(BACKGROUND)[1] is None

    def _limit(self, priority: str) -> int:
        """How full the window may be for a request of this priority to go now. In the
        general budget (the first of the family, where verifies and writes go) background
        requests leave a quarter to due steps, and due at-risk steps (``WARNING``: their
        notices write nothing, or less than a breach) leave the last 15 % to the others. A
        due step that finds the window full waits until its oldest request is a minute old,
        which can be many seconds when the minute before was busy and then quiet: in the
        50-kill soak, at-risk steps' verify reads (more than half of the verify reads at
        the peak) helped fill the window a breach's verify needed, and it waited 8 s for a
        slot (issue 10)."""
        limit = self.requests_per_minute
        if priority not in _LEFT_TO_OTHERS or self.family[0] is not self or limit < 4:
            return limit
        share, of = _LEFT_TO_OTHERS[priority]
        return limit - limit * share // of

    def _slot(self, priority: str) -> tuple[datetime, datetime | None]:
        """Now, and None when a slot is free now, else when one will be."""
        now = self.clock.now()
        window = WINDOW
        while self._window and self._window[0] <= now - window:
            self._window.popleft()
        limit = self._limit(priority)
        start = (
            self._window[len(self._window) - limit] + window if len(self._window) >= limit else now
        )
        paced = self.paced and _pacing.get() and not is_urgent(priority)
        if paced and self._last_paced is not None:
            start = max(start, self._last_paced + window * PACE_SHARE / self.requests_per_minute)
        return now, (start if start > now else None)

    def _expire_before(self, start: datetime, limit: int) -> None:
        while len(self._window) >= limit and self._window[0] < start:
            self._window.popleft()

    async def _wait_or_yield(self, seconds: float, turn: asyncio.Event) -> bool:
        """Sleep ``seconds``; False when a more urgent request took the head meanwhile."""
        if seconds <= 0:
            return True
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        displaced = asyncio.ensure_future(turn.wait())
        try:
            await asyncio.wait({sleeper, displaced}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, displaced):
                if not task.done():
                    task.cancel()
        return sleeper.done() and not sleeper.cancelled() and not displaced.done()

    def _count(self, now: datetime) -> None:
        self._window.append(now)
        if self.request_log is not None:
            try:
                self.request_log.record_request(self.bucket, at=_us(now))
            except Exception as exc:  # the store is down: the budget goes on in memory
                log_warning_once(self, f"cannot record a request in the budget: {exc}")

    def _settle(self, stamp: datetime) -> None:
        """The request was counted before it left (a connection from the pool may have
        kept it waiting); the vendor counted it by now at the latest, so its place in the
        window moves to now (the conservative end) once it is answered or has failed."""
        now = self.clock.now()
        if now <= stamp:
            return
        try:
            self._window.remove(stamp)
        except ValueError:
            return  # already out of the window
        bisect.insort(self._window, now)
