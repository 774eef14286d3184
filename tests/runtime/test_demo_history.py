"""The demo's 12 weeks of history (issue 15 item 6): resolved tickets go straight into the
store, the ones still open at the start stay in the simulated PSA, none lost or twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sla_connector_psa.simulator.settings import SimulatorConfig
from sla_connector_psa.simulator.state import SimulatedPsa

from sla_connector.core.calendars import to_us
from sla_connector.runtime.clocks import ManualClock
from sla_connector.runtime.demo import DEMO_START, DemoOptions, demo_config
from sla_connector.runtime.demo_history import seed_history
from sla_connector.runtime.service import Service, connector_settings, portal_link, psa_links
from sla_connector.web.portal import sign_link

WEEKS = 2
WEEKS_DELTA = timedelta(weeks=WEEKS)


def test_history_is_stored_resolved_and_the_open_rest_reaches_the_first_poll(
    tmp_path: Path,
) -> None:
    config = demo_config(DemoOptions(out=tmp_path, start=DEMO_START))
    service = Service.build(config, clock=ManualClock(DEMO_START))
    try:
        primed: list[str] = []
        stored = seed_history(
            config.policy,
            service.connectors,
            service.store,
            DEMO_START,
            weeks=WEEKS,
            remember=lambda evaluation: primed.append(evaluation.ticket.id),
        )
        rows = list(service.store.iter_tickets())
        assert stored == len(rows) == len(primed) > 100 * WEEKS
        first = to_us(DEMO_START - timedelta(weeks=WEEKS))
        for row in rows:
            assert not row.is_open
            assert first <= row.created_at < to_us(DEMO_START)
            ticket = row.ticket()
            assert row.updated_at == to_us(max(e.at for e in ticket.events))
            assert all(event.at <= DEMO_START for event in ticket.events)
        # the open ones are the simulator's: visible at the first read, not in the store
        connector = service.connectors["sim"]
        carried = {
            t.id
            for t in connector.psa.tickets(DEMO_START)
            if t.created_at < DEMO_START  # type: ignore[attr-defined]
        }
        assert carried and not carried & {row.id for row in rows}
        # together they are every ticket the simulator made in those weeks
        whole = SimulatedPsa(
            SimulatorConfig.from_settings(
                "sim",
                {
                    **connector_settings(config, "sim"),
                    "start": (DEMO_START - WEEKS_DELTA).isoformat(),
                },
                default_start=DEMO_START,
            )
        )
        made = {t.id for t in whole.tickets(DEMO_START - timedelta(seconds=1))}
        assert made == carried | {row.id for row in rows}
    finally:
        asyncio.run(service.stop())


def test_portal_links_for_the_report_email_and_psa_link_templates(tmp_path: Path) -> None:
    config = demo_config(DemoOptions(out=tmp_path))
    assert portal_link(config, "acme", "https://sla.msp.example", DEMO_START) is None
    data = config.model_dump(mode="python")
    data["dashboard"]["portal_link_key_env"] = "PORTAL_KEY"
    linked = type(config).model_validate(data)
    url = portal_link(
        linked, "acme", "https://sla.msp.example/", DEMO_START, environ={"PORTAL_KEY": "k3y"}
    )
    expires = int((DEMO_START + timedelta(days=30)).timestamp())
    assert url == (
        f"https://sla.msp.example/portal/acme/?link={expires}.{sign_link('k3y', 'acme', expires)}"
    )

    class Zendeskish:
        ticket_url = "https://msp.zendesk.com/agent/tickets/{id}"

    class Plain:
        pass

    links = psa_links({"zd": Zendeskish(), "sim": Plain()})  # type: ignore[dict-item]
    assert links == {"zd": "https://msp.zendesk.com/agent/tickets/{id}"}
