"""The demo's history: 12 weeks of simulated tickets written straight into the store.

``sla-connector demo`` tells the case study: weeks of tickets before the product was
switched on (no escalation fired, so the engineers never sped up), then the live days in
virtual time with enforcement on. The history is the same simulator's stream for the
weeks before the demo's start, generated day by day (``life.generate_day``), each ticket
rendered as it stood at the start, evaluated once with the core and stored as the daemon
would have stored it, in one transaction: no polling and no virtual time, so start-up
stays quick. Tickets still open at the start stay in the simulated PSA
(``SimulatedPsa.take_history``) and reach the daemon at its first poll, like a real
queue on the day the product is switched on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import orjson

from sla_connector.core.calendars import to_us
from sla_connector.core.evaluate import TicketEvaluation, evaluate
from sla_connector.core.policy import Policy
from sla_connector.core.ports import Connector
from sla_connector.runtime.planner import ticket_row
from sla_connector.store import Store, TicketRow

__all__ = ["HISTORY_WEEKS", "seed_history"]

HISTORY_WEEKS = 12


def seed_history(
    policy: Policy,
    connectors: Mapping[str, Connector],
    store: Store,
    start: datetime,
    *,
    connector: str = "sim",
    weeks: int = HISTORY_WEEKS,
    remember: Callable[[TicketEvaluation], None] | None = None,
) -> int:
    """Store the ``weeks`` before ``start`` of the embedded simulator ``connector``'s
    tickets resolved by ``start`` (the open ones it keeps, live); how many were stored.
    Call it before the daemon first polls; ``remember`` gets each evaluation (the
    dashboard's cache, so its first page does not evaluate them all again)."""
    if weeks <= 0:
        return 0
    # Imported here: building the CLI's parser (which imports the demo) loads no connector.
    from sla_connector_psa.simulator.state import SimulatedPsa  # noqa: PLC0415

    simulator = connectors[connector]
    psa = getattr(simulator, "psa", None)
    if not isinstance(psa, SimulatedPsa):
        raise TypeError(f"connector {connector} is not the embedded simulator")
    rows: list[TicketRow] = []
    for ticket in psa.take_history(start - timedelta(weeks=weeks)):
        evaluation = evaluate(ticket, policy, start)
        if remember is not None:
            remember(evaluation)
        last = max((event.at for event in ticket.events), default=ticket.created_at)
        row = ticket_row(evaluation, orjson.dumps(ticket.to_json()).decode())
        rows.append(dataclasses.replace(row, updated_at=to_us(last)))
    store.upsert_tickets(rows)
    return len(rows)
