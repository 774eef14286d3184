"""Escalation notices exactly once: a ledger of their own, retried, never lost (issue 10).

A step with ``notify`` among its actions hands its ``Notice`` to ``Notifications.submit``,
which records it in the store's notification ledger (``pending``, keyed by the step's key,
so settling a step twice, as a reconcile after a crash may, records one notice) and asks
for a delivery. ``deliver`` claims due notices (``claimed``, with a lease), posts each to
the channel (Slack, or the log), and records the outcome: ``sent``; or, when the channel
failed, ``pending`` again after a back-off that doubles with each attempt; or ``failed``
when the attempts are used up or the channel refused the notice for good (a 4xx, a
missing webhook variable). Failed notices show on the dashboard and in ``/metrics``.

What a kill costs: a notice recorded but not yet claimed, or claimed but not yet posted,
is sent once by the next process; a kill after the channel accepted the post but before
``sent`` was recorded repeats that one post (a webhook has no idempotency key to
deduplicate it). A claim left by a dead process is taken back at once by a restarted
SQLite daemon (one process per store), and on PostgreSQL by the connector's leader once
the claim's lease (wall clock) has run out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson

from sla_connector.core.calendars import from_us, to_us
from sla_connector.core.errors import SlaConnectorError
from sla_connector.core.ledger import (
    NOTIFY_FAILED,
    NOTIFY_PENDING,
    NOTIFY_SENT,
    NotificationRow,
)
from sla_connector.core.ports import Clock
from sla_connector.core.ticket import parse_ticket
from sla_connector.runtime.escalator import Notice, Notifier
from sla_connector.runtime.timeline import Timeline
from sla_connector.store import Store

__all__ = ["Notifications", "NotifyPolicy", "notice_from_payload", "notice_payload"]

log = logging.getLogger("sla_connector.notify")
_JOB = "notify"
_SWEEP = "notify-sweep"


@dataclass(frozen=True, slots=True)
class NotifyPolicy:
    """How hard a notice is tried: ``attempts`` posts, ``backoff`` (clock time) after the
    first failure, doubling up to ``max_backoff``; a claim's ``lease`` (wall seconds)
    bounds one post, after which another process may take the notice over."""

    attempts: int = 6
    backoff: timedelta = timedelta(seconds=10)
    max_backoff: timedelta = timedelta(minutes=10)
    lease: float = 30.0
    sweep: timedelta = timedelta(seconds=5)

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed post."""
        grown: timedelta = self.backoff * (2 ** max(attempts - 1, 0))
        return min(grown, self.max_backoff)


def notice_payload(notice: Notice) -> str:
    """The notice as the JSON text the ledger keeps (the canonical ticket included)."""
    return orjson.dumps(
        {
            "key": notice.key,
            "ticket": notice.ticket.to_json(),
            "step": notice.step,
            "tier": notice.tier,
            "recipient": notice.recipient,
            "reason": notice.reason,
            "lateness_us": notice.lateness_us,
            "late": notice.late,
            "note": notice.note,
        }
    ).decode()


def notice_from_payload(payload: str) -> Notice:
    """The ``Notice`` a ledger row holds (inverse of ``notice_payload``)."""
    data: dict[str, Any] = orjson.loads(payload)
    return Notice(
        key=str(data["key"]),
        ticket=parse_ticket(data["ticket"]),
        step=str(data["step"]),
        tier=str(data["tier"]),
        recipient=str(data["recipient"]),
        reason=str(data["reason"]),
        lateness_us=int(data["lateness_us"]),
        late=bool(data["late"]),
        note=data.get("note"),
    )


def _safe(exc: BaseException) -> str:
    """Our errors are written without secrets; a library's may hold a URL: type only."""
    if isinstance(exc, TimeoutError):
        return "the channel did not answer in time"
    return str(exc) if isinstance(exc, SlaConnectorError) else type(exc).__name__


def _permanent(exc: BaseException) -> bool:
    """A refusal trying again cannot fix (``DeliveryError(retriable=False)``)."""
    return getattr(exc, "retriable", True) is False


class Notifications:
    """The notification ledger of one process: records notices, posts them, retries."""

    def __init__(
        self,
        store: Store,
        channel: Notifier,
        clock: Clock,
        timeline: Timeline,
        *,
        owner: str,
        channel_name: str,
        leading: Callable[[], Collection[str]],
        policy: NotifyPolicy | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.channel = channel
        self.clock = clock
        self.timeline = timeline
        self.owner = owner
        self.channel_name = channel_name
        self.leading = leading
        self.policy = policy or NotifyPolicy()
        self.wall = wall
        self.stopping = False
        self._lock = asyncio.Lock()
        self._again = False
        self._busy: set[asyncio.Task[Any]] = set()

    def _now(self) -> int:
        return to_us(self.clock.now())

    def _wall(self) -> int:
        return int(self.wall() * 1_000_000)

    async def submit(self, notice: Notice) -> None:
        """Record the notice (once per step) and have it delivered: the escalator's notifier."""
        ticket = notice.ticket
        now = self._now()
        row = NotificationRow(
            key=notice.key,
            source=ticket.source,
            ticket_id=ticket.id,
            client=ticket.client,
            step=notice.step,
            channel=self.channel_name,
            state=NOTIFY_PENDING,
            payload=notice_payload(notice),
            created_at=now,
            next_at=now,
        )
        if await asyncio.to_thread(self.store.enqueue_notification, row):
            log.info(
                "notice recorded",
                extra={"event": "notify", "key": notice.key, "channel": self.channel_name},
            )
        self.arm(soon=True)

    def start(self) -> None:
        """Take back what a previous life left claimed, then deliver what is due.

        On SQLite one process owns the store, so every claim is a dead process's; on
        PostgreSQL only this owner's own (a restarted replica keeping its name), the
        others' run out with their lease.
        """
        single = self.store.dialect == "sqlite"
        taken = self.store.recover_notifications(
            owner=None if single else self.owner,
            detail="claimed by a process that stopped before recording the post",
        )
        if taken:
            log.warning(
                "notices left claimed by a stopped process are sent again",
                extra={"event": "notify", "count": taken},
            )
        self.timeline.every(_SWEEP, self.policy.sweep, self._run)
        self.arm(soon=True)

    def halt(self) -> set[asyncio.Task[Any]]:
        """No new deliveries; the passes in flight, for the caller to let finish (a post
        and its record)."""
        self.stopping = True
        self.timeline.cancel(_JOB)
        self.timeline.cancel(_SWEEP)
        return set(self._busy)

    def arm(self, *, soon: bool = False) -> None:
        """Point the delivery timer at the next pending notice of the connectors led here."""
        if self.stopping:
            return
        if self._lock.locked():
            self._again = True  # a pass is running: it looks again before it ends
            return
        when = self.clock.now() if soon else None
        if when is None:
            following = self.store.next_notification_at(self.leading())
            when = None if following is None else from_us(following)
        self.timeline.at(_JOB, when, self._run)

    async def _run(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._busy.add(task)
        try:
            await self.deliver()
        finally:
            if task is not None:
                self._busy.discard(task)

    async def deliver(self) -> list[tuple[str, str]]:
        """Post every due notice of the connectors led here; (key, state) for each."""
        if self.stopping:
            return []
        async with self._lock:  # one delivery pass at a time in this process
            outcomes: list[tuple[str, str]] = []
            while not self.stopping:
                self._again = False
                wall = self._wall()
                claimed = await asyncio.to_thread(
                    self.store.claim_notifications,
                    now=self._now(),
                    wall=wall,
                    lease_until=wall + int(self.policy.lease * 1_000_000),
                    owner=self.owner,
                    sources=self.leading(),
                    limit=1,  # one at a time: a claim's lease covers its own post only
                )
                if not claimed and not self._again:
                    break
                for row in claimed:
                    outcomes.append((row.key, await self._post(row)))
        self.arm()
        return outcomes

    async def _post(self, row: NotificationRow) -> str:
        """One post of a claimed notice and its record."""
        try:
            notice = notice_from_payload(row.payload)
            # Within the lease, so no other process takes the notice over while it posts.
            async with asyncio.timeout(self.policy.lease / 2):
                await self.channel(notice)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a job boundary: one notice's failure is recorded
            return self._failed(row, exc)
        self._settle(row, NOTIFY_SENT, f"sent on attempt {row.attempts}")
        log.info(
            "notice sent",
            extra={"event": "notify", "key": row.key, "attempts": row.attempts},
        )
        return NOTIFY_SENT

    def _failed(self, row: NotificationRow, exc: BaseException) -> str:
        error = _safe(exc)
        if _permanent(exc) or row.attempts >= self.policy.attempts:
            why = "refused" if _permanent(exc) else f"failed {row.attempts} times"
            detail = f"{self.channel_name} {why}: {error}"
            self._settle(row, NOTIFY_FAILED, detail)
            log.error(
                "notice %s failed: %s",
                row.key,
                detail,
                extra={"event": "notify", "key": row.key, "attempts": row.attempts},
            )
            return NOTIFY_FAILED
        retry = self.clock.now() + self.policy.delay(row.attempts)
        detail = f"attempt {row.attempts} of {self.policy.attempts} failed: {error}"
        self._settle(row, NOTIFY_PENDING, detail, retry_at=to_us(retry))
        log.warning(
            "notice %s not sent, tried again at %s: %s",
            row.key,
            retry.isoformat(),
            detail,
            extra={"event": "notify", "key": row.key, "attempts": row.attempts},
        )
        return NOTIFY_PENDING

    def _settle(
        self, row: NotificationRow, state: str, detail: str, *, retry_at: int | None = None
    ) -> None:
        now = self._now()
        if not self.store.settle_notification(
            row.key, owner=self.owner, state=state, at=now, detail=detail, retry_at=retry_at
        ):
            log.warning(
                "notice was taken over by another process",
                extra={"event": "notify", "key": row.key},
            )
            return
        if state != NOTIFY_PENDING:
            self.store.append_evidence(
                "notification",
                {
                    "key": row.key,
                    "source": row.source,
                    "ticket": row.ticket_id,
                    "client": row.client,
                    "step": row.step,
                    "channel": row.channel,
                    "state": state,
                    "attempts": row.attempts,
                    "detail": detail,
                },
                at=now,
            )
