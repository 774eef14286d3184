"""Fire due ladder steps exactly once: claim, verify against the PSA, write, record.

A step is claimed in the ledger before anything is written (only one process can win
the claim), the ticket is re-read and re-evaluated just before the write (polling lags
the PSA), and the ledger row is finished with the PSA's answer. A row left ``firing`` by
a crash is reconciled by looking for the step's marker on the ticket, never written blindly
again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from sla_connector.core.calendars import to_us
from sla_connector.core.errors import (
    ConnectorError,
    FatalConnectorError,
    RetriableConnectorError,
    SlaConnectorError,
    StoreError,
    TicketGoneError,
    WriteConflictError,
)
from sla_connector.core.escalation import StepPlan
from sla_connector.core.evaluate import evaluate
from sla_connector.core.policy import Policy
from sla_connector.core.ports import Clock, Connector
from sla_connector.core.ticket import Ticket
from sla_connector.core.vocabulary import Vocabulary, withdrawn_detail
from sla_connector.runtime.planner import planned_step
from sla_connector.runtime.ticket_reads import TicketReads
from sla_connector.runtime.withdrawals import escalation_evidence, withdraw
from sla_connector.runtime.writeback import (
    capabilities,
    marker_tag,
    marker_written,
    plan_writes,
    write_actions,
    writes_to_psa,
)
from sla_connector.store import LedgerRow, Store

__all__ = ["Escalator", "FireResult", "Notice"]

log = logging.getLogger("sla_connector.runtime")


@dataclass(frozen=True, slots=True)
class Notice:
    """What a notification channel is told about a fired step."""

    key: str
    ticket: Ticket
    step: str
    tier: str
    recipient: str
    reason: str
    lateness_us: int
    late: bool
    note: str | None


Notifier = Callable[[Notice], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class FireResult:
    """How one attempt at a ledger row ended."""

    key: str
    state: str  # done | would_fire | cancelled | retry | failed | lost_claim | moved
    detail: str = ""
    lateness_us: int = 0


def _safe(exc: Exception) -> str:
    """An error as a log line may show it: our own errors are written without secrets; a
    library's message may carry a URL or a token, so only its type is named."""
    return str(exc) if isinstance(exc, SlaConnectorError) else type(exc).__name__


class Escalator:
    """Fires the due steps of the connectors this process leads."""

    def __init__(
        self,
        policy: Policy,
        store: Store,
        connectors: Mapping[str, Connector],
        clock: Clock,
        *,
        owner: str,
        dry_run: bool = False,
        notifier: Notifier | None = None,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self.policy = policy
        self.store = store
        self.connectors = connectors
        # The optional capabilities of each connector, checked once (core.ports).
        self.capabilities = {name: capabilities(c) for name, c in connectors.items()}
        self.clock = clock
        self.owner = owner
        self.dry_run = dry_run
        self.notifier = notifier
        self.vocabulary = vocabulary or Vocabulary()
        # Steps of one ticket verified together share the read (runtime.ticket_reads).
        self.reads = TicketReads(clock)
        self.stopping = False

    def _now(self) -> int:
        return to_us(self.clock.now())

    async def fire_due(self, source: str) -> list[FireResult]:
        """Fire every step of ``source`` due by now, oldest first; stop when the PSA is down."""
        results: list[FireResult] = []
        for row in self.store.due(self._now(), source):
            if self.stopping:
                break  # shutting down: the next start fires the rest
            result = await self.fire(row)
            results.append(result)
            await asyncio.sleep(0)  # a burst of due steps lets the dashboard answer between
            if result.state == "retry":
                break  # the PSA is unreachable: later rows would fail the same way
        return results

    async def fire(self, row: LedgerRow) -> FireResult:
        now = self._now()
        if not self.store.claim(row.key, at=now, owner=self.owner):
            return FireResult(row.key, "lost_claim")
        return await self._verify_and_write(row, reconciling=False)

    async def reconcile(self, source: str) -> list[FireResult]:
        """Settle rows a crashed process left ``firing``: marker found -> done, else write again."""
        results = []
        for row in self.store.firing(source):
            results.append(await self._verify_and_write(row, reconciling=True))
        return results

    async def reconcile_row(self, row: LedgerRow) -> FireResult:
        """Settle one row a crashed process left ``firing`` (see ``reconcile``)."""
        return await self._verify_and_write(row, reconciling=True)

    async def _verify_and_write(
        self, row: LedgerRow, *, reconciling: bool, conflict: str | None = None
    ) -> FireResult:
        """``_attempt``, and a row that an unexpected error interrupts is finished ``failed``
        with the reason rather than left ``firing`` for ever (the store's own errors
        propagate: nothing could be recorded then)."""
        try:
            return await self._attempt(row, reconciling=reconciling, conflict=conflict)
        except (StoreError, asyncio.CancelledError):
            raise
        except Exception as exc:  # a job boundary for one step
            detail = f"internal error: {_safe(exc)}"
            log.error("escalation %s failed unexpectedly: %s", row.key, detail)
            return self._finish(row, "failed", detail, 0, final=True)

    async def _attempt(
        self, row: LedgerRow, *, reconciling: bool, conflict: str | None = None
    ) -> FireResult:
        """Re-read the ticket, look for the step's marker, re-evaluate, then write.

        ``conflict`` is the PSA's 409 to the first write of this attempt: the ticket changed
        meanwhile, so it is re-read and the step re-verified before the one more write.
        """
        if not writes_to_psa(row.actions) and self.store.notification(row.key) is not None:
            # A notify-only step whose notice was recorded before a crash has fired.
            lateness = max(0, self._now() - row.due_at)
            return self._finish(row, "done", "reconciled: its notice is recorded", lateness)
        connector = self.connectors[row.source]
        ticket = await self._reread(connector, row)
        if isinstance(ticket, FireResult):
            return ticket
        lateness = max(0, self._now() - row.due_at)
        can = self.capabilities[row.source]
        # A notify-only step leaves no marker on the ticket (it writes nothing there).
        if writes_to_psa(row.actions) and await marker_written(
            connector, ticket, row.key, marker_tag(row.step, row.cycle), can=can
        ):
            detail = (
                "reconciled: the step's marker is on the ticket"
                if reconciling
                else "already on the ticket"
            )
            if "notify" in row.actions:  # written before a crash; its notice may not be
                plan = self._current_plan(ticket, row)
                await self._notify(row, ticket, plan, lateness, None)
            return self._finish(row, "done", detail, lateness)
        plan = self._current_plan(ticket, row)
        if plan is None:
            return self._park(row)
        settled = self._settled_before_writing(row, ticket, plan)
        if settled is not None:
            return settled
        return await self._write(connector, row, ticket, plan, conflict=conflict)

    async def _reread(self, connector: Connector, row: LedgerRow) -> Ticket | FireResult:
        """The ticket as the PSA has it now (polling lags), or how the attempt ended."""
        try:
            many = self.capabilities[row.source].batch_reader
            return await self.reads.read(
                row.source,
                row.ticket_id,
                connector.fetch_ticket,
                None if many is None else many.fetch_tickets,
            )
        except TicketGoneError as exc:
            # Gone (S39): out of the open set, its other steps cancelled, this one too.
            withdraw(self.store, row.source, row.ticket_id, exc.reason, exc.detail, at=self._now())
            return self._finish(row, "cancelled", withdrawn_detail(exc.reason, exc.detail), 0)
        except RetriableConnectorError as exc:
            self.store.release(row.key, error=f"re-read failed: {exc}")
            return FireResult(row.key, "retry", str(exc))
        except ConnectorError as exc:
            return self._finish(row, "failed", f"cannot re-read ticket: {exc}", 0)

    def _park(self, row: LedgerRow) -> FireResult:
        """Not triggered now (a reply landed, a pause began); a later trigger revives it."""
        detail = "verified before firing: not triggered"
        now = self._now()
        self.store.finish(row.key, state="dormant", at=now, lateness_us=0, detail=detail)
        self._evidence(row, "dormant", detail, 0, now)
        return FireResult(row.key, "dormant", "not triggered")

    def _settled_before_writing(
        self, row: LedgerRow, ticket: Ticket, plan: StepPlan
    ) -> FireResult | None:
        """A step the re-evaluation says not to write now (cancelled, or due later): how
        the attempt ended; None when it is to be written."""
        if plan.state == "cancelled":
            detail = "verified before firing: the ticket was resolved before the step was due"
            return self._finish(row, "cancelled", detail, 0)
        if plan.due_at > self._now():
            self.store.release(row.key, error="verified before firing: due later now")
            self.store.plan([planned_step(plan, ticket)])
            return FireResult(row.key, "moved", "due later after re-evaluation")
        return None

    async def _write(
        self,
        connector: Connector,
        row: LedgerRow,
        ticket: Ticket,
        plan: StepPlan,
        *,
        conflict: str | None = None,
    ) -> FireResult:
        """Write the step (or, in shadow mode, say what would be written), then notify.

        A 409 (``WriteConflictError``: a person changed the ticket since it was read) is
        answered by re-reading, re-verifying and writing once more; a second 409 fails the
        step with both answers, so a person's change is never overwritten blindly.
        """
        lateness = max(0, self._now() - plan.due_at)
        writes = plan_writes(plan, ticket, lateness, self.vocabulary)
        if self.dry_run:
            detail = f"shadow mode: would write {len(writes.actions)} change(s)"
            if writes.problem:
                return self._finish(
                    row, "failed", f"{writes.problem}; {detail}", lateness, final=True
                )
            return self._finish(row, "would_fire", detail, lateness)
        if not writes.actions:
            # Notify-only: nothing goes to the PSA; the ledger row is the step's record.
            if writes.notify:
                await self._notify(row, ticket, plan, lateness, writes.note)
            return self._finish(row, "done", "notified; nothing written to the PSA", lateness)
        # From here the ticket changes (or may have, if the answer is lost): the steps after
        # this one, and this one's re-read after a 409, read it afresh.
        self.reads.forget(row.source, row.ticket_id)
        try:
            results = await write_actions(
                connector, ticket, writes.actions, can=self.capabilities[row.source]
            )
        except WriteConflictError as exc:
            if conflict is None:
                log.info(
                    "write conflict: re-reading and re-verifying",
                    extra={"event": "write_conflict", "key": row.key, "detail": str(exc)},
                )
                return await self._verify_and_write(row, reconciling=False, conflict=str(exc))
            detail = f"write conflict twice (the ticket kept changing): {conflict}; then {exc}"
            return self._finish(row, "failed", detail, lateness, final=True)
        except RetriableConnectorError as exc:
            # Possibly partly written: the retry looks for the marker before writing again.
            self.store.release(row.key, error=f"write failed: {exc}")
            return FireResult(row.key, "retry", str(exc), lateness)
        except FatalConnectorError as exc:
            return self._finish(row, "failed", f"write refused: {exc}", lateness)
        failed = [r.detail for r in results if not r.ok]
        if failed:
            return self._finish(row, "failed", "; ".join(failed), lateness)
        if writes.notify:
            await self._notify(row, ticket, plan, lateness, writes.note)
        detail = "; ".join(r.detail for r in results if r.detail) or "written"
        if writes.problem:
            # Written with the default note, but the step as configured did not run; a
            # retry would render the same template (and find its marker): final.
            return self._finish(row, "failed", f"{writes.problem}; {detail}", lateness, final=True)
        return self._finish(row, "done", detail, lateness)

    async def _notify(
        self,
        row: LedgerRow,
        ticket: Ticket,
        plan: StepPlan | None,
        lateness: int,
        note: str | None,
    ) -> None:
        """Hand the notice to the notifier: the daemon's notification ledger
        (``runtime.notifications``) records it once per key and sends it, retrying; the
        PSA write stands whatever happens to the notice."""
        if self.notifier is None:
            return
        notice = Notice(
            row.key,
            ticket,
            row.step if plan is None else plan.step.name,
            row.tier if plan is None else plan.tier,
            row.recipient if plan is None else plan.to,
            f"step {row.step} fell due" if plan is None else plan.reason,
            lateness,
            self.vocabulary.is_late(lateness),
            note,
        )
        try:
            await self.notifier(notice)
        except Exception as exc:  # a job boundary for the notice only
            log.error("notification for %s could not be recorded: %s", row.key, _safe(exc))

    def _current_plan(self, ticket: Ticket, row: LedgerRow) -> StepPlan | None:
        evaluation = evaluate(ticket, self.policy, self.clock.now())
        for plan in evaluation.steps:
            if plan.key == row.key:
                return plan
        return None

    def _finish(
        self, row: LedgerRow, state: str, detail: str, lateness: int, *, final: bool = False
    ) -> FireResult:
        now = self._now()
        self.store.finish(
            row.key, state=state, at=now, lateness_us=lateness, detail=detail, final=final
        )
        self._evidence(row, state, detail, lateness, now)
        log.info(
            "escalation %s",
            state,
            extra={
                "event": "escalation",
                "key": row.key,
                "state": state,
                "lateness_us": lateness,
                "detail": detail,
            },
        )
        return FireResult(row.key, state, detail, lateness)

    def _evidence(self, row: LedgerRow, state: str, detail: str, lateness: int, now: int) -> None:
        """Every outcome of an attempt at a step goes into the evidence log."""
        self.store.append_evidence(
            "escalation", escalation_evidence(row, state, detail, lateness), at=now
        )
