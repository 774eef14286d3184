"""The notification ledger (issue 10 item 5): recorded once, retried, failed when it must be.

The channel is the real Slack notifier (``runtime.notify.slack_notifier`` through the
reports' ``Deliverer``) with the webhook mocked by respx; the ledger is a SQLite file; time
is a ``ManualClock`` driven by a ``VirtualTimeline``, so back-offs pass without waiting.
The real-process version (a daemon SIGKILLed with a notice claimed) is
``test_notifications_kill.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from sla_connector.core.calendars import to_us
from sla_connector.core.ticket import parse_ticket
from sla_connector.runtime.clocks import ManualClock
from sla_connector.runtime.escalator import Escalator, Notice
from sla_connector.runtime.notifications import (
    Notifications,
    NotifyPolicy,
    notice_from_payload,
    notice_payload,
)
from sla_connector.runtime.notify import slack_notifier
from sla_connector.runtime.timeline import VirtualTimeline
from sla_connector.store import PlannedStep, Store
from sla_connector.web.data import StaticSource
from tests.web.dataset import POLICY
from tests.web.helpers import app_for, client_for

pytestmark = pytest.mark.anyio

HOOK = "https://hooks.slack.test/services/T1/B2/SECRET3"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _notice(key: str = "sim:7:p1-director:c1") -> Notice:
    ticket = parse_ticket(
        {"id": "7", "source": "sim", "client": "acme", "subject": "mail down",
         "created_at": "2026-11-02T08:00:00Z", "events": [], "tags": ["vip"]}
    )  # fmt: skip
    return Notice(key, ticket, "p1-director", "P1", "dana", "response breached", 5, False, None)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        yield opened
    finally:
        opened.close()


def _ledger(
    store: Store, clock: ManualClock, *, owner: str = "a", wall: float = 1_000.0
) -> tuple[Notifications, VirtualTimeline]:
    timeline = VirtualTimeline(clock)
    ledger = Notifications(
        store,
        slack_notifier("HOOK", environ={"HOOK": HOOK}),
        clock,
        timeline,
        owner=owner,
        channel_name="slack",
        leading=lambda: ["sim"],
        policy=NotifyPolicy(attempts=4, backoff=timedelta(seconds=10)),
        wall=lambda: wall,
    )
    return ledger, timeline


def test_a_notice_survives_its_json_round_trip() -> None:
    notice = _notice()
    assert notice_from_payload(notice_payload(notice)) == notice


async def test_a_channel_that_fails_twice_then_answers_sends_the_notice_once(
    store: Store,
) -> None:
    clock = ManualClock(START)
    ledger, timeline = _ledger(store, clock)
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(HOOK).mock(
            side_effect=[httpx.Response(500), httpx.Response(503), httpx.Response(200, text="ok")]
        )
        ledger.start()
        await ledger.submit(_notice())
        await ledger.submit(_notice())  # the same step settled twice (a reconcile): one notice
        await timeline.run_until(START + timedelta(minutes=5))
    assert route.call_count == 3
    (row,) = store.notifications()
    assert (row.state, row.attempts) == ("sent", 3)
    assert row.sent_at is not None
    # The back-off doubled: 10 s after the first failure, then 20 s after the second.
    assert row.sent_at - row.created_at == 30_000_000
    assert "SECRET3" not in row.detail + row.payload


async def test_a_channel_that_always_fails_ends_failed_on_the_dashboard_and_in_metrics(
    store: Store,
) -> None:
    clock = ManualClock(START)
    ledger, timeline = _ledger(store, clock)
    with respx.mock() as mock:
        route = mock.post(HOOK).mock(return_value=httpx.Response(500, text="boom"))
        ledger.start()
        await ledger.submit(_notice())
        await timeline.run_until(START + timedelta(hours=2))
    assert route.call_count == 4, "bounded: the policy's four attempts, then given up"
    (row,) = store.notifications()
    assert row.state == "failed"
    assert row.detail == "slack failed 4 times: slack webhook answered HTTP 500: boom"
    source = StaticSource(POLICY, clock.now, notices=store.notifications())
    async with client_for(app_for(source)) as http:
        page = (await http.get("/")).text
        api = (await http.get("/api/overview")).json()
        metrics = (await http.get("/metrics")).text
    assert "table-failed-notifications" in page and "p1-director" in page
    assert api["failed_notifications"][0]["detail"] == row.detail
    assert 'sla_notifications{state="failed"} 1.0' in metrics
    assert 'sla_notifications{state="sent"} 0.0' in metrics
    assert "SECRET3" not in page + metrics


async def test_a_refusal_is_failed_at_once_and_a_missing_webhook_variable_too(
    store: Store,
) -> None:
    clock = ManualClock(START)
    ledger, timeline = _ledger(store, clock)
    with respx.mock() as mock:
        route = mock.post(HOOK).mock(return_value=httpx.Response(404, text="no_service"))
        ledger.start()
        await ledger.submit(_notice("sim:7:a:c1"))
        await timeline.run_until(START + timedelta(minutes=30))
        ledger.channel = slack_notifier("UNSET_HOOK", environ={})
        await ledger.submit(_notice("sim:7:b:c1"))
        await timeline.run_until(START + timedelta(hours=1))
    rows = {row.key: row for row in store.notifications()}
    assert route.call_count == 1
    assert {key: (r.state, r.attempts) for key, r in rows.items()} == {
        "sim:7:a:c1": ("failed", 1),
        "sim:7:b:c1": ("failed", 1),
    }
    assert "environment variable UNSET_HOOK is not set" in rows["sim:7:b:c1"].detail


async def test_a_claim_left_by_a_killed_process_is_sent_once_by_the_next(store: Store) -> None:
    clock = ManualClock(START)
    first, _ = _ledger(store, clock, owner="first")
    await first.submit(_notice())
    # The first process claims the notice and dies before posting it.
    claimed = store.claim_notifications(
        now=10**18, wall=1_000_000_000, lease_until=1_030_000_000, owner="first", sources=["sim"]
    )
    assert [row.state for row in claimed] == ["claimed"]
    second, timeline = _ledger(store, clock, owner="second")
    with respx.mock() as mock:
        route = mock.post(HOOK).mock(return_value=httpx.Response(200, text="ok"))
        second.start()  # SQLite: one process per store, so every claim is a dead one's
        await timeline.run_until(START + timedelta(minutes=1))
    assert route.call_count == 1
    (row,) = store.notifications()
    assert (row.state, row.attempts, row.owner) == ("sent", 2, "second")


async def test_another_replicas_claim_is_left_alone_until_its_lease_runs_out(
    store: Store,
) -> None:
    clock = ManualClock(START)
    first, _ = _ledger(store, clock, owner="first", wall=1_000.0)
    await first.submit(_notice())
    assert store.claim_notifications(
        now=10**18, wall=1_000_000_000, lease_until=1_030_000_000, owner="first", sources=["sim"]
    )
    with respx.mock() as mock:
        route = mock.post(HOOK).mock(return_value=httpx.Response(200, text="ok"))
        within, _ = _ledger(store, clock, owner="second", wall=1_020.0)
        assert await within.deliver() == []  # the lease runs until 1,030 s
        after, _ = _ledger(store, clock, owner="second", wall=1_031.0)
        assert await after.deliver() == [("sim:7:p1-director:c1", "sent")]
    assert route.call_count == 1
    # The first process, back from a long pause, cannot overwrite what the second recorded.
    assert not store.settle_notification(
        "sim:7:p1-director:c1", owner="first", state="failed", at=0, detail="late"
    )
    assert store.notifications()[0].state == "sent"


async def test_only_the_connectors_led_here_are_delivered(store: Store) -> None:
    clock = ManualClock(START)
    ledger, _ = _ledger(store, clock)
    ledger.leading = list
    await ledger.submit(_notice())
    assert await ledger.deliver() == []
    assert store.notifications()[0].state == "pending"


class _Unreachable:
    """A connector the escalator must not call."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"the PSA was asked for {name}")


async def test_a_notify_only_step_whose_notice_was_recorded_is_settled_without_the_psa(
    store: Store,
) -> None:
    clock = ManualClock(START)
    key = "sim:7:p1-at-risk:c1"
    due = to_us(START)
    store.plan([PlannedStep(key, "sim", "7", "acme", "P1", "p1-at-risk", 1, due, "terry",
                            ("notify",))])  # fmt: skip
    assert store.claim(key, at=due, owner="killed")
    ledger, _ = _ledger(store, clock)
    await ledger.submit(_notice(key))  # recorded, then the process was killed
    connector: Any = _Unreachable()
    escalator = Escalator(POLICY, store, {"sim": connector}, clock, owner="next")
    (result,) = await escalator.reconcile("sim")
    assert (result.state, result.detail) == ("done", "reconciled: its notice is recorded")
    assert [n.key for n in store.notifications()] == [key]
