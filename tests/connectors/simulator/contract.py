"""The simulator connectors under the contract suite: embedded, and over loopback HTTP.

``simulator`` reads the in-memory PSA directly; ``simulator_http`` talks to the same PSA
served by ``simulator.server``'s ASGI app in-process (``httpx.ASGITransport``), wrapped in
``FailingTransport`` so it can be made to fail like any PSA. A write-back is a change in
both (the cursor counts writes), so ``touch`` tags the ticket.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from sla_connector_psa.simulator import (
    SimulatedPsa,
    SimulatorConfig,
    SimulatorHttpConnector,
    SimulatorHttpSettings,
)
from sla_connector_psa.simulator.server import SimulatorServer, build_app

from tests.connectors.contract import Case, FailingTransport

from .sim_support import START, VirtualClock, make

MIDDAY = START + timedelta(hours=12)  # Monday noon: a few dozen tickets so far


def case() -> Case:
    clock = VirtualClock(MIDDAY)
    connector = make(clock, page_size=10)
    psa = connector.psa
    return Case(
        kind="simulator",
        connector=connector,
        ticket_ids=frozenset(t.id for t in psa.tickets(clock.now())),
        unknown_id="1",
        person="dana@msp.example",
        tier="P1",
        touch=lambda ticket_id: psa.add_tag(ticket_id, "touched", clock.now()),
        shows_notes=True,
        withdraw=lambda ticket_id: psa.withdraw(ticket_id, "deleted", clock.now()),
    )


def http_case() -> Case:
    clock = VirtualClock(MIDDAY)
    settings = {"seed": 7, "tickets_per_day": 400, "start": START.isoformat()}
    psa = SimulatedPsa(SimulatorConfig.from_settings("sim", settings, default_start=START))
    server = SimulatorServer(psa, clock)
    transport = FailingTransport(httpx.ASGITransport(app=build_app(server)))
    client = httpx.AsyncClient(transport=transport)

    async def no_wait(_: float) -> None:
        return None

    connector = SimulatorHttpConnector(
        SimulatorHttpSettings(
            name="sim", base_url="http://127.0.0.1:9", page_size=10, max_attempts=2
        ),
        clock,
        client=client,
        sleep=no_wait,
    )
    return Case(
        kind="simulator_http",
        connector=connector,
        ticket_ids=frozenset(t.id for t in psa.tickets(clock.now())),
        unknown_id="1",
        person="dana@msp.example",
        tier="P1",
        touch=lambda ticket_id: server.write(ticket_id, "add_tag", "touched"),
        shows_notes=True,
        transport=transport,
        client=client,
        withdraw=lambda ticket_id: server.withdraw(ticket_id, "deleted"),
    )
