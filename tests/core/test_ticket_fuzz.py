"""Any JSON a file, a PSA or the store can hold is a ticket or one ``TicketError`` (S24).

Issue 11, finding 3: an event ``"type": ["status"]`` or a ``created_at`` in year 9999 at a
negative offset used to escape as a ``TypeError`` / ``OverflowError`` and abort a whole
audit. Generated from the canonical shape, these properties keep every field honest.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla_connector.core.errors import TicketError
from sla_connector.core.evaluate import evaluate
from sla_connector.core.ticket import EVENT_TYPES, Ticket, parse_ticket
from tests.core.policies import make_policy

NOW = datetime.fromisoformat("2026-11-20T12:00:00Z")
POLICY = make_policy()

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
instants = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(
        ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00", "2026-11-02T09:00:00", "soon"]
    ),
    json_values,
)
events = st.fixed_dictionaries(
    {"at": instants, "type": st.one_of(st.sampled_from(sorted(EVENT_TYPES)), json_values)},
    optional={"to": json_values | st.text(max_size=10), "by": json_values},
)
tickets = st.fixed_dictionaries(
    {"id": st.one_of(st.text(min_size=1, max_size=8), json_values), "source": st.just("zd")},
    optional={
        "created_at": instants,
        "client": json_values,
        "subject": json_values,
        "status": json_values,
        "events": st.one_of(st.lists(events, max_size=5), json_values),
        "tags": json_values,
        "notes": json_values,
        "extra": json_values,
    },
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(tickets)
def test_any_object_parses_or_is_rejected_with_a_reason(data: dict[str, Any]) -> None:
    try:
        ticket = parse_ticket(data)
    except TicketError as exc:
        assert str(exc)
        return
    assert isinstance(ticket, Ticket)
    assert parse_ticket(ticket.to_json()) == ticket


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(tickets)
def test_a_ticket_that_parses_can_be_evaluated(data: dict[str, Any]) -> None:
    try:
        ticket = parse_ticket(data)
    except TicketError:
        return
    with contextlib.suppress(TicketError):  # a reason (e.g. an unknown tier), not a crash
        evaluate(ticket, POLICY, NOW)
