"""Adherence maths (DESIGN section 7, SEMANTICS S21-S22)."""

from __future__ import annotations

from datetime import datetime

from sla_connector.core.adherence import AdherenceCounter, ticket_outcome
from sla_connector.core.calendars import to_us
from sla_connector.core.evaluate import evaluate
from sla_connector.core.policy import Rule
from tests.core.policies import make_policy, ticket

NOW = datetime.fromisoformat("2026-11-06T00:00:00Z")
P2_RULE = Rule.build("degraded", "P2", keywords=("slow",))
POLICY = make_policy(rules=(P2_RULE,))


def _rows(*tickets, start=None, end=NOW):  # type: ignore[no-untyped-def]
    counter = AdherenceCounter(start=None if start is None else to_us(start), end=to_us(end))
    for t in tickets:
        counter.add(evaluate(t, POLICY, NOW))
    return {(r.client, r.tier, r.kind): (r.met, r.breached, r.adherence) for r in counter.rows()}


MET = ticket(
    "2026-11-02T09:00:00Z",
    ("2026-11-02T09:10:00Z", "public_reply", "agent"),
    ("2026-11-02T11:00:00Z", "status", "solved"),
    id="met",
)
LATE_REPLY = ticket(
    "2026-11-02T09:00:00Z",
    ("2026-11-02T14:00:00Z", "public_reply", "agent"),
    ("2026-11-02T15:00:00Z", "status", "solved"),
    id="late",
)
OPEN = ticket("2026-11-05T17:00:00Z", id="open")


def test_s21_rows_per_client_and_tier_with_three_kinds() -> None:
    rows = _rows(MET, LATE_REPLY, OPEN)
    assert rows[("globex", "P3", "response")] == (1, 1, 0.5)
    assert rows[("globex", "P3", "resolution")] == (2, 0, 1.0)
    assert rows[("globex", "P3", "ticket")] == (1, 1, 0.5)


def test_s21_zero_rows_are_included_with_null_adherence() -> None:
    rows = _rows(ticket("2026-11-05T23:00:00Z", subject="CRM slow"))
    assert rows[("globex", "P2", "response")] == (0, 0, None)
    assert set(rows) == {("globex", "P2", kind) for kind in ("response", "resolution", "ticket")}


def test_s22_ticket_kind_breached_if_any_clock_breached_and_undecided_while_running() -> None:
    running_but_breached = ticket("2026-11-02T09:00:00Z", id="b")
    evaluation = evaluate(running_but_breached, POLICY, NOW)
    assert ticket_outcome(evaluation) == ("breached", evaluation.response.breached_at)
    assert ticket_outcome(evaluate(OPEN, POLICY, NOW)) is None


def test_s22_ticket_met_only_when_every_resolution_cycle_is_met() -> None:
    t = ticket(
        "2026-11-02T09:00:00Z",
        ("2026-11-02T09:10:00Z", "public_reply", "agent"),
        ("2026-11-02T10:00:00Z", "status", "solved"),
        ("2026-11-02T11:00:00Z", "status", "open"),
        ("2026-11-02T12:00:00Z", "status", "solved"),
    )
    evaluation = evaluate(t, make_policy(reopen="new_cycle"), NOW)
    assert ticket_outcome(evaluation) == (
        "met",
        to_us(datetime.fromisoformat("2026-11-02T12:00:00Z")),
    )


def test_outcomes_count_in_the_period_in_which_they_are_decided() -> None:
    # LATE_REPLY's response breached Monday 13:00; MET decided Monday too.
    tuesday = datetime.fromisoformat("2026-11-03T00:00:00Z")
    rows = _rows(MET, LATE_REPLY, start=tuesday, end=NOW)
    assert rows[("globex", "P3", "response")] == (0, 0, None)
    rows = _rows(MET, LATE_REPLY, end=tuesday)
    assert rows[("globex", "P3", "response")] == (1, 1, 0.5)
