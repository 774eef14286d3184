"""The product's words, defined once: the boundaries of "late", "at risk" and "fired"."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sla_connector.core.evaluate import evaluate
from sla_connector.core.policy import Rule
from sla_connector.core.vocabulary import (
    ATTEMPTED_STATES,
    FIRED_STATES,
    LEDGER_STATES,
    NOT_FIRING_STATES,
    Vocabulary,
    is_fired,
)
from tests.core.policies import make_policy, ticket

SECOND_US = 1_000_000


def test_late_is_strictly_more_than_late_after() -> None:
    terms = Vocabulary()
    assert terms.late_after == timedelta(seconds=60)
    assert not terms.is_late(None) and not terms.is_late(0)
    assert not terms.is_late(60 * SECOND_US)
    assert terms.is_late(60 * SECOND_US + 1)
    five = Vocabulary(late_after=timedelta(minutes=5))
    assert not five.is_late(299 * SECOND_US) and five.is_late(301 * SECOND_US)
    assert five.count_late([None, 0, 400 * SECOND_US, 300 * SECOND_US]) == 1


def test_at_risk_starts_at_the_share_of_the_target_and_ends_at_the_breach() -> None:
    # P1: 15 min response on an always-open calendar
    policy = make_policy(rules=(Rule.build("outage", "P1", keywords=("down",)),))
    created = "2026-03-18T12:00:00+00:00"
    item = ticket(created, subject="Server down")
    start = datetime.fromisoformat(created)

    def risky(minutes: float, share: float = 0.75) -> bool:
        evaluation = evaluate(item, policy, start + timedelta(minutes=minutes))
        return bool(Vocabulary(at_risk=share).at_risk_clocks(evaluation))

    assert not risky(11)  # 73% of 15 min
    assert risky(11.25)  # exactly 75%
    assert risky(14.9)
    assert not risky(16)  # breached: no longer "at risk"
    assert risky(8, share=0.5) and not risky(7, share=0.5)


@pytest.mark.parametrize("share", [0.0, 1.5, -0.1])
def test_an_at_risk_share_outside_0_1_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="at_risk"):
        Vocabulary(at_risk=share)


def test_fired_means_done_would_fire_or_failed() -> None:
    assert {state for state in LEDGER_STATES if is_fired(state)} == {"done", "would_fire", "failed"}
    assert FIRED_STATES < ATTEMPTED_STATES == FIRED_STATES | {"firing"}
    assert {"cancelled", "dormant"} == NOT_FIRING_STATES
    assert not FIRED_STATES & NOT_FIRING_STATES
