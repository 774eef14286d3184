"""Reading the histories of a page's tickets from their audits, a few at a time.

One at a time, a page of twenty tickets whose histories a restart no longer holds takes
twenty round trips, each a retry away from a few seconds when the PSA answers badly; a
daemon restarted every few seconds then never finished its first page, so the tickets on
it were never planned (issue 10, the 50-kill soak). ``HistoryReads`` reads them
``HISTORY_READS`` at a time (``of_page``; urgently and handed over one by one as they
arrive for the tickets the store has never seen: ``as_read``), and notes in the page's
``Batch`` what went away, was unreadable or failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from sla_connector.core.errors import RetriableConnectorError, TicketError
from sla_connector.core.ports import Withdrawal, urgent
from sla_connector_psa.health import HealthBook
from sla_connector_psa.http import NotFoundError
from sla_connector_psa.zendesk.batch import Batch
from sla_connector_psa.zendesk.history import HistoryCache
from sla_connector_psa.zendesk.normalize import Audit

__all__ = ["HISTORY_READS", "HistoryReads"]

log = logging.getLogger("sla_connector_psa.zendesk")

HISTORY_READS = 4  # audits reads in flight at once while a page is normalised


class HistoryReads:
    """A connector's reads of ticket histories into its ``HistoryCache``."""

    def __init__(
        self,
        name: str,
        history: HistoryCache,
        book: HealthBook,
        read_audits: Callable[[int], Awaitable[list[Audit]]],
    ) -> None:
        self.name = name
        self.history = history
        self.book = book
        self.read_audits = read_audits

    async def of_page(
        self,
        latest: Mapping[int, Mapping[str, Any]],
        batch: Batch,
    ) -> dict[int, tuple[Audit, ...]]:
        """The histories of a page's tickets, ``HISTORY_READS`` audits reads at a time; the
        first error ends the page."""
        gate = asyncio.Semaphore(HISTORY_READS)

        async def one(tid: int, raw: Mapping[str, Any]) -> tuple[Audit, ...] | None:
            async with gate:
                return await self.of_ticket(tid, raw, batch)

        tasks = [asyncio.ensure_future(one(tid, raw)) for tid, raw in latest.items()]
        try:
            found = await asyncio.gather(*tasks)
        except BaseException:  # the first error ends the page as it did one at a time
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        pairs = zip(latest, found, strict=True)
        return {tid: history for tid, history in pairs if history is not None}

    async def as_read(
        self, latest: Mapping[int, Mapping[str, Any]]
    ) -> AsyncIterator[tuple[dict[int, tuple[Audit, ...]], Batch, bool]]:
        """The histories of these tickets, read urgently ``HISTORY_READS`` at a time and
        handed over as they arrive (with what the reads noted: withdrawals, rejections,
        failures, and whether these are the last), not when the slowest of them is done.

        For the tickets the store has never seen: nothing of theirs can fire until they are
        read, and one whose read is done must not wait for a neighbour's retries (issue 10,
        the 50-kill soak: a never-seen ticket read in one life waited in its part for reads
        that the account budget held back, the life was killed, and the next lives read it
        again while its step fell due). At the due steps' priority, not an at-risk step's:
        capped like a warning (``budget.RequestBudget._limit``), such reads waited through
        lives too short to make them, and their tickets' steps were planned half a minute
        late (the same soak). The first error ends the reads, as in ``of_page``.
        """
        gate = asyncio.Semaphore(HISTORY_READS)

        Read = tuple[int, tuple[Audit, ...] | None, Batch]

        async def one(tid: int, raw: Mapping[str, Any]) -> Read:
            notes = Batch()
            async with gate:
                with urgent():
                    return tid, await self.of_ticket(tid, raw, notes), notes

        order = {tid: place for place, tid in enumerate(latest)}
        pending: set[asyncio.Future[Read]] = {
            asyncio.ensure_future(one(tid, raw)) for tid, raw in latest.items()
        }
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                read: dict[int, tuple[Audit, ...]] = {}
                notes = Batch()
                for tid, history, noted in sorted(
                    (task.result() for task in done), key=lambda found: order[found[0]]
                ):
                    notes.merge(noted)
                    if history is not None:
                        read[tid] = history
                yield read, notes, not pending
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def of_ticket(
        self, tid: int, raw: Mapping[str, Any], batch: Batch
    ) -> tuple[Audit, ...] | None:
        """The ticket's history (its audits read when the cache lacks them); None when the
        ticket went away, is unreadable or failed (each noted in ``batch``)."""
        history = self.history.history(tid)
        if history is not None and not self.history.lags(tid, raw):
            self.book.quarantine.succeeded("ticket", str(tid))
            return history
        try:
            self.history.set_full(tid, await self.read_audits(tid))
        except NotFoundError:  # deleted while this poll read it
            self.history.forget(tid)
            batch.withdraw(Withdrawal(str(tid), "deleted", "404 while its audits were read"))
            return None
        except TicketError as exc:
            batch.rejected.append((str(tid), str(exc)))
            return None
        except RetriableConnectorError as exc:
            failure = self.book.quarantine.failed("ticket", str(tid), f"audits not read: {exc}")
            log.warning("connector %s: ticket %s failed (%s); retried later", self.name, tid, exc)
            batch.failures.append(failure)
            batch.retry.add(tid)
            return None
        self.book.quarantine.succeeded("ticket", str(tid))
        return self.history.history(tid) or ()
