"""The backfill's progress bar: an ETA from how far the read has come through the span.

The PSAs give no ticket total up front, so the bar reads ``Step.fraction`` (the newest
``created_at`` read, between ``since`` and the run's start) and the pace at which it moves.
The clock is injected so the sequences below give exact texts.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sla_connector.cli.backfill import _Bar, _duration
from sla_connector.runtime.backfill import Step

START = datetime(2026, 6, 1, tzinfo=UTC)
END = datetime(2026, 9, 9, tzinfo=UTC)  # a span of 100 days: a day is 1 %


def _day(n: int) -> datetime:
    return datetime.fromtimestamp(START.timestamp() + n * 86400, UTC)


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_fresh_read_gets_an_eta_from_its_pace_through_the_span() -> None:
    clock = FakeClock(1000.0)
    bar = _Bar(clock=clock, tty=True)
    clock.now = 1050.0  # a quarter of the span in 50 s: the rest takes 150 s
    assert bar.line(Step("zd", 100, 1, START, END, _day(25))) == (
        "zd: 100 tickets, 1 pages, 120 tickets/min [#####               ] 25% "
        "ETA 2m30s (through 2026-06-26)"
    )
    clock.now = 1100.0  # the next quarter in 50 s more: half left, 100 s
    assert bar.line(Step("zd", 200, 2, START, END, _day(50))).endswith(
        "[##########          ] 50% ETA 1m40s (through 2026-07-21)"
    )
    clock.now = 1150.0  # the next connector is paced from when the first one stopped
    assert bar.line(Step("cw", 50, 1, START, END, _day(75))) == (
        "cw: 50 tickets, 1 pages, 60 tickets/min [###############     ] 75% "
        "ETA 17s (through 2026-08-15)"
    )


def test_a_resumed_read_is_not_credited_with_the_earlier_runs_work() -> None:
    clock = FakeClock(0.0)
    bar = _Bar(clock=clock, tty=True)
    clock.now = 10.0  # resumed half-way: the first page alone cannot tell
    assert bar.line(Step("cw", 600, 1, START, END, _day(50))).endswith(
        "ETA 10s (through 2026-07-21)"
    )
    clock.now = 110.0  # 10 % in 100 s since that first page: 40 % left is 400 s
    assert bar.line(Step("cw", 700, 2, START, END, _day(60))).endswith(
        "60% ETA 6m40s (through 2026-07-31)"
    )


def test_the_end_of_the_span_and_a_read_with_no_ticket_yet() -> None:
    clock = FakeClock(0.0)
    bar = _Bar(clock=clock, tty=True)
    clock.now = 30.0
    assert bar.line(Step("jsm", 0, 1, START, END, None)) == "jsm: 0 tickets, 1 pages, 0 tickets/min"
    clock.now = 60.0
    assert bar.line(Step("jsm", 40, 2, START, END, END)).endswith(
        "[####################] 100% ETA 0s (through 2026-09-09)"
    )
    old = Step("jsm", 1, 1, START, END, datetime(2025, 1, 1, tzinfo=UTC))
    assert old.fraction == 0.0  # an open ticket older than the span: not before the start


def test_the_bar_prints_on_a_terminal_only(capsys: pytest.CaptureFixture[str]) -> None:
    step = Step("zd", 100, 1, START, END, _day(25))
    _Bar()(step)  # stderr is not a terminal under pytest
    _Bar(tty=False)(step)
    assert capsys.readouterr().err == ""
    clock = FakeClock(0.0)
    bar = _Bar(clock=clock, tty=True)
    clock.now = 50.0
    bar(step)
    assert capsys.readouterr().err == (
        "\rzd: 100 tickets, 1 pages, 120 tickets/min [#####               ] 25% "
        "ETA 2m30s (through 2026-06-26)"
    )


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.4, "0s"), (45, "45s"), (200, "3m20s"), (7500, "2h05m")]
)
def test_durations_read_at_a_glance(seconds: float, text: str) -> None:
    assert _duration(seconds) == text
