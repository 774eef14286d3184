"""Reading the histories of a page's tickets from their audits, a few at a time.

One at a time, a page of twenty tickets whose histories a restart no longer holds takes
twenty round trips, each a retry away from a few seconds when the PSA answers badly; a
daemon restarted every few seconds then never finished its first page, so the tickets on
it were never planned (issue 10, the 50-kill soak). ``HistoryReads`` reads them
``HISTORY_READS`` at a time, urgently for the tickets the caller says are pressing, and
notes in the page's ``Batch`` what went away, was unreadable or failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
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
        pressing: Collection[int] = (),
    ) -> dict[int, tuple[Audit, ...]]:
        """The histories of a page's tickets, ``HISTORY_READS`` audits reads at a time
        (those of ``pressing`` tickets as urgent requests); the first error ends the page."""
        gate = asyncio.Semaphore(HISTORY_READS)

        async def one(tid: int, raw: Mapping[str, Any]) -> tuple[Audit, ...] | None:
            async with gate:
                with urgent() if tid in pressing else contextlib.nullcontext():
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
