"""Scheduling in virtual time: every report once, at its local time, missed ones sent late."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sla_connector.core.calendars import from_us
from sla_connector.reporting import (
    Rendered,
    ReportSchedule,
    Target,
    due_runs,
    run_due_reports,
)
from sla_connector.reporting.schedule import fire_before, last_fire
from sla_connector.runtime.report_jobs import (
    monthly_trigger,
    quarterly_trigger,
    report_schedule,
    weekly_trigger,
)
from sla_connector.settings.services import ReportsConfig
from sla_connector.store import Store
from tests.reporting.conftest import make_config

LONDON = ZoneInfo("Europe/London")
RECIPIENTS = {
    "acme": {"email": ["it@acme.example"], "slack_webhook_env": "ACME_SLACK"},
    "internal": {"email": ["desk@msp.example"], "teams_webhook_env": "MSP_TEAMS"},
}
RUN_KEYS = ("acme:email", "acme:slack", "internal:email", "internal:teams")
# Nine Mondays (5 Oct .. 30 Nov) and two 1sts (1 Oct, 1 Nov); BST ends on 25 Oct 2026.
SPAN = (datetime(2026, 9, 29, tzinfo=LONDON), datetime(2026, 11, 30, 12, 0, tzinfo=LONDON))


class Recorder:
    """A ``Deliver`` that records what it was asked to send, and when (virtual time)."""

    def __init__(self, fail: set[str] | None = None) -> None:
        self.now = SPAN[0]
        self.sent: list[tuple[str, datetime, str, datetime]] = []
        self.fail = fail or set()

    async def __call__(self, rendered: Rendered, target: Target) -> str:
        if target.run_key in self.fail:
            self.fail.discard(target.run_key)
            raise RuntimeError("webhook down")
        report = rendered.report
        self.sent.append((report.kind, report.period.start, target.run_key, self.now))
        return "ok"


def fire_times(trigger: Any, start: datetime, end: datetime) -> Iterator[datetime]:
    previous = None
    now = start
    while True:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None or fire > end:
            return
        yield fire
        previous, now = fire, fire + timedelta(seconds=1)


def ticks(config: ReportSchedule, start: datetime, end: datetime) -> list[datetime]:
    """What the daemon does: run at each trigger firing, plus a sweep every 6 hours."""
    fires = [*fire_times(weekly_trigger(config), start, end),
             *fire_times(monthly_trigger(config), start, end)]  # fmt: skip
    sweeps = [
        start + timedelta(hours=6 * n) for n in range(int((end - start) / timedelta(hours=6)))
    ]
    return sorted(set(fires + sweeps))


async def simulate(
    store: Store,
    config: Any,
    recorder: Recorder,
    instants: list[datetime],
    started: datetime = SPAN[0],
) -> None:
    """Run the daemon's report job at each instant; ``started`` is when the process started."""
    for now in instants:
        recorder.now = now
        await run_due_reports(store, config.policy, config.schedule, now, recorder,
                              not_before=started)  # fmt: skip


@pytest.fixture
def config(tmp_path: Path) -> Any:
    app = make_config(tmp_path, reports={"timezone": "Europe/London", "recipients": RECIPIENTS})
    # The schedule the runtime resolves from ``reports`` (the recorder posts nowhere).
    return SimpleNamespace(
        policy=app.policy, store=app.store, schedule=report_schedule(app.reports, environ={})
    )


@pytest.mark.anyio
async def test_nine_weeks_give_nine_weekly_and_two_monthly_runs_per_recipient_at_local_time(
    config: Any,
) -> None:
    store = Store.open(config.store.url)
    recorder = Recorder()
    try:
        await simulate(store, config, recorder, ticks(config.schedule, *SPAN))
        runs = store.report_runs()
    finally:
        store.close()
    per = Counter((r.kind, r.recipient) for r in runs)
    for key in RUN_KEYS:
        assert per[("weekly", key)] == 9, key
        assert per[("monthly", key)] == 2, key
    # Q3 2026's pack, on the first Monday after the quarter (5 Oct), to the client's email only.
    assert [k for k in per if k[0] == "quarterly"] == [("quarterly", "acme:email")]
    assert per[("quarterly", "acme:email")] == 1
    assert all(r.state == "sent" for r in runs)
    assert len(recorder.sent) == len(runs) == 4 * 11 + 1  # delivered once each, never twice
    for run in runs:
        local = from_us(run.claimed_at).astimezone(LONDON)
        assert (local.hour, local.minute) == (8, 0)
        assert local.weekday() == 0 if run.kind != "monthly" else local.day == 1
        if run.kind == "quarterly":
            assert local.date().isoformat() == "2026-10-05"
    weekly_utc_hours = {from_us(r.claimed_at).hour for r in runs if r.kind == "weekly"}
    assert weekly_utc_hours == {7, 8}  # 08:00 BST before 25 Oct, 08:00 GMT after
    starts = sorted({start for kind, start, _, _ in recorder.sent if kind == "weekly"})
    assert starts[0] == datetime(2026, 9, 28, tzinfo=LONDON)
    assert all(b - a == timedelta(days=7) for a, b in itertools.pairwise(starts))
    months = sorted({start for kind, start, _, _ in recorder.sent if kind == "monthly"})
    assert months == [datetime(2026, 9, 1, tzinfo=LONDON), datetime(2026, 10, 1, tzinfo=LONDON)]


@pytest.mark.anyio
async def test_three_day_outage_over_a_monday_sends_exactly_one_late_weekly_report(
    config: Any,
) -> None:
    down, back = datetime(2026, 11, 7, 12, tzinfo=LONDON), datetime(2026, 11, 10, 12, tzinfo=LONDON)
    before = [t for t in ticks(config.schedule, *SPAN) if t < down]
    after = [back, back, *(t for t in ticks(config.schedule, *SPAN) if t > back)]
    store = Store.open(config.store.url)
    recorder = Recorder()
    try:
        await simulate(store, config, recorder, before)
        # The restarted process only knows its own start; the recorded runs say what is owed.
        # Its start-up run happens twice here: the report still goes out once.
        await simulate(store, config, recorder, after, started=back)
        runs = store.report_runs("weekly")
    finally:
        store.close()
    missed_week = int(datetime(2026, 11, 2, tzinfo=LONDON).timestamp() * 1e6)
    late = [r for r in runs if r.period_start == missed_week]
    assert sorted(r.recipient for r in late) == sorted(RUN_KEYS)
    assert all(from_us(r.claimed_at) == back for r in late)
    assert Counter(r.recipient for r in runs) == dict.fromkeys(RUN_KEYS, 9)
    on_time = [r for r in runs if r.period_start != missed_week]
    assert all(from_us(r.claimed_at).astimezone(LONDON).hour == 8 for r in on_time)


@pytest.mark.anyio
async def test_a_failed_delivery_is_recorded_and_retried_without_resending_other_channels(
    config: Any,
) -> None:
    store = Store.open(config.store.url)
    recorder = Recorder(fail={"acme:slack"})
    monday = datetime(2026, 10, 5, 8, tzinfo=LONDON)
    try:
        recorder.now = monday
        first = await run_due_reports(store, config.policy, config.schedule, monday, recorder,
                                      not_before=monday)  # fmt: skip
        states = {(o.kind, o.recipient): o.state for o in first}
        assert states[("weekly", "acme:slack")] == "failed"
        assert states[("weekly", "acme:email")] == "sent"
        later = monday + timedelta(hours=6)
        recorder.now = later
        second = await run_due_reports(store, config.policy, config.schedule, later, recorder,
                                       not_before=monday)  # fmt: skip
    finally:
        store.close()
    assert [(o.kind, o.recipient, o.state) for o in second] == [("weekly", "acme:slack", "sent")]
    sends = Counter((kind, key) for kind, _, key, _ in recorder.sent)
    assert sends[("weekly", "acme:email")] == 1 and sends[("weekly", "acme:slack")] == 1


@pytest.mark.anyio
async def test_two_daemons_at_the_same_instant_send_each_report_once(config: Any) -> None:
    first, second = Store.open(config.store.url), Store.open(config.store.url)
    recorder = Recorder()
    monday = datetime(2026, 10, 5, 8, tzinfo=LONDON)
    try:
        results = await asyncio.gather(
            *(run_due_reports(s, config.policy, config.schedule, monday, recorder,
                              not_before=monday) for s in (first, second))
        )  # fmt: skip
    finally:
        first.close()
        second.close()
    sent = [o for outcomes in results for o in outcomes if o.state == "sent"]
    # The weekly report, once each, and Q3's pack (first Monday after it) to acme's email.
    assert len(sent) == len(recorder.sent) == len(RUN_KEYS) + 1
    assert len({(o.kind, o.recipient) for o in sent}) == len(sent)


def test_a_fresh_target_gets_only_the_latest_period_and_a_known_one_catches_up(
    config: Any,
) -> None:
    now = datetime(2026, 11, 25, 9, tzinfo=LONDON)
    fresh = due_runs(config.schedule, now, [])
    assert {(d.kind, d.period.start.date().isoformat()) for d in fresh} == {
        ("weekly", "2026-11-16"),
        ("monthly", "2026-10-01"),
        ("quarterly", "2026-07-01"),
    }

    class Run:
        kind, recipient, state, claimed_at = "weekly", "acme:email", "sent", 0
        period_start = int(datetime(2026, 10, 26, tzinfo=LONDON).timestamp() * 1e6)

    owed = [d for d in due_runs(config.schedule, now, [Run()]) if d.target.run_key == "acme:email"]
    weekly = [d.period.start.date().isoformat() for d in owed if d.kind == "weekly"]
    assert weekly == ["2026-11-02", "2026-11-09", "2026-11-16"]
    since = datetime(2026, 11, 5, tzinfo=LONDON)  # first served on 5 Nov: owed from then on
    served = due_runs(config.schedule, now, [], not_before=since)
    mine = [(d.kind, d.period.start.date().isoformat()) for d in served
            if d.target.run_key == "internal:teams"]  # fmt: skip
    assert mine == [("weekly", "2026-11-02"), ("weekly", "2026-11-09"), ("weekly", "2026-11-16")]


@pytest.mark.parametrize(
    ("zone", "weekly", "monthly"),
    [
        ("Europe/London", {"day": "mon", "at": "08:00"}, {"day": 1, "at": "08:00"}),
        ("America/New_York", {"day": "wed", "at": "07:30"}, {"day": 15, "at": "23:45"}),
    ],
)
def test_fire_instants_agree_with_the_apscheduler_triggers_for_a_year(
    zone: str, weekly: dict[str, Any], monthly: dict[str, Any]
) -> None:
    config = report_schedule(
        ReportsConfig.model_validate({"timezone": zone, "weekly": weekly, "monthly": monthly})
    )
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    triggers = (("weekly", weekly_trigger(config)), ("monthly", monthly_trigger(config)),
                ("quarterly", quarterly_trigger(config)))  # fmt: skip
    for kind, trigger in triggers:
        from_cron = list(fire_times(trigger, start, end))
        walked = []
        fire = last_fire(kind, config, end)  # type: ignore[arg-type]
        while fire > start:
            walked.append(fire)
            fire = fire_before(kind, config, fire)  # type: ignore[arg-type]
        assert [f.astimezone(UTC) for f in reversed(walked)] == [
            f.astimezone(UTC) for f in from_cron
        ]
        assert len(from_cron) in {"weekly": (52, 53), "monthly": (12,), "quarterly": (4,)}[kind]
