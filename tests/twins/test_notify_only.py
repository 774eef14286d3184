"""A notify-only step never writes to the PSA, on every connector (issue 10 item 1).

A step writes to the PSA only the actions it lists: ``actions: [notify]`` tells the
notification channel and records the step in the store's ledger, and sends the PSA nothing
(no marker tag, no note), since an update the MSP did not ask for fires the PSA's own
triggers and automations. Each test runs the real escalator with the shipped connector
against a vendor's twin on loopback (Zendesk, ConnectWise, Jira SM) or the simulator, and
reads what the PSA recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sla_connector_psa.simulator import SimulatorConnector

from sla_connector.core.policy import Policy
from sla_connector.core.ports import Clock, Connector
from sla_connector.runtime.escalator import Escalator, Notice
from sla_connector.runtime.planner import Planner
from sla_connector.settings import config_from_mapping
from sla_connector.store import Store
from tests.connectors.simulator.sim_support import START, VirtualClock, make
from tests.twins.clock import ManualClock
from tests.twins.connectors import (
    TwinTime,
    connectwise_connector,
    jira_connector,
    zendesk_connector,
)
from tests.twins.connectwise import ConnectWiseTwin
from tests.twins.jira_sm import JiraTwin
from tests.twins.soak_scenario import PolicySpec, policy_mapping
from tests.twins.soak_vendors import PRIORITIES, ConnectWiseSoak, JiraSoak, ZendeskSoak
from tests.twins.zendesk import ZendeskTwin

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


def soak_policy(vendor: str) -> Policy:
    """The soak's policy: ``p1-at-risk`` (notify-only) 30 s after a P1 ticket is created."""
    mapping = policy_mapping(PolicySpec(), p1_priority=PRIORITIES[vendor]["P1"])
    return config_from_mapping(mapping).policy


async def fire_at_risk(
    tmp_path: Path,
    connector: Connector,
    clock: Clock,
    policy: Policy,
    ticket_ids: list[str],
    advance: Callable[[timedelta], None],
) -> tuple[list[Notice], Store, list[Any]]:
    """Plan the tickets' steps, move time past the first notify-only step, fire what is due."""
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    notices: list[Notice] = []

    async def notifier(notice: Notice) -> None:
        notices.append(notice)

    planner = Planner(policy, store, clock, horizon=timedelta(days=2), not_before=0)
    tickets = [await connector.fetch_ticket(ticket_id) for ticket_id in ticket_ids]
    planner.ingest(tickets)
    notify_only = [
        row for row in store.ledger() if row.actions == ("notify",) and row.state == "planned"
    ]
    assert notify_only, "the policy plans a notify-only step for these tickets"
    first = min(row.due_at for row in notify_only)
    now_us = int(clock.now().timestamp() * 1_000_000)
    advance(timedelta(microseconds=max(0, first - now_us) + 1_000_000))
    escalator = Escalator(policy, store, {connector_name(tickets): connector}, clock, owner="t")
    escalator.notifier = notifier
    results = await escalator.fire_due(connector_name(tickets))
    return notices, store, results


def connector_name(tickets: list[Any]) -> str:
    [source] = {ticket.source for ticket in tickets}
    return str(source)


def assert_notified_and_recorded(notices: list[Notice], store: Store, results: list[Any]) -> None:
    fired = [r for r in results if r.state == "done"]
    assert fired, results
    assert {n.key for n in notices} == {r.key for r in fired}
    for result in fired:
        [row] = [row for row in store.ledger() if row.key == result.key]
        assert row.actions == ("notify",) and row.state == "done"
        assert "nothing written to the PSA" in row.detail


def twin_advance(clock: ManualClock) -> Callable[[timedelta], None]:
    return lambda delta: clock.advance(delta.total_seconds())


async def test_zendesk_notify_only_step_sends_the_psa_nothing(
    zendesk: ZendeskTwin, clock: ManualClock, env: Any, tmp_path: Path
) -> None:
    soak = ZendeskSoak(zendesk)
    ticket, _ = soak.create("P1: email down", "P1", 0)
    connector = zendesk_connector(zendesk, TwinTime(clock), environ=env)
    try:
        notices, store, results = await fire_at_risk(
            tmp_path,
            connector,
            TwinTime(clock),
            soak_policy("zendesk"),
            [ticket],
            twin_advance(clock),
        )
    finally:
        await connector.aclose()
    assert_notified_and_recorded(notices, store, results)
    assert [w for w in zendesk.journal.api_writes() if w.principal == soak.integration] == []
    assert not any(r.method != "GET" for r in zendesk.journal.requests())
    assert not any(tag.startswith("sla-") for tag in zendesk.state.tickets[int(ticket)].tags)


async def test_connectwise_notify_only_step_sends_the_psa_nothing(
    connectwise: ConnectWiseTwin, clock: ManualClock, env: Any, tmp_path: Path
) -> None:
    soak = ConnectWiseSoak(connectwise)
    ticket, _ = soak.create("P1: email down", "P1", 0)
    connector = connectwise_connector(
        connectwise, TwinTime(clock), environ=env, priority_map=PRIORITIES["connectwise"]
    )
    try:
        notices, store, results = await fire_at_risk(
            tmp_path,
            connector,
            TwinTime(clock),
            soak_policy("connectwise"),
            [ticket],
            twin_advance(clock),
        )
    finally:
        await connector.aclose()
    assert_notified_and_recorded(notices, store, results)
    assert [w for w in connectwise.journal.api_writes() if w.principal == soak.integration] == []
    assert not any(r.method != "GET" for r in connectwise.journal.requests())


async def test_jira_notify_only_step_sends_the_psa_nothing(
    jira: JiraTwin, clock: ManualClock, env: Any, tmp_path: Path
) -> None:
    soak = JiraSoak(jira)
    ticket, _ = soak.create("P1: email down", "P1", 0)
    connector = jira_connector(jira, TwinTime(clock), environ=env)
    try:
        notices, store, results = await fire_at_risk(
            tmp_path,
            connector,
            TwinTime(clock),
            soak_policy("jira_sm"),
            [ticket],
            twin_advance(clock),
        )
    finally:
        await connector.aclose()
    assert_notified_and_recorded(notices, store, results)
    assert [w for w in jira.journal.api_writes() if w.principal == soak.integration] == []
    # The OAuth token request is a POST to the token endpoint, not a write to the PSA.
    writes = [r for r in jira.journal.requests() if r.method != "GET" and "token" not in r.path]
    assert writes == []


def simulator_policy() -> Policy:
    """The example policy with a notify-only heads-up step first on every tier's ladder."""
    data = yaml.safe_load((ROOT / "examples" / "policy.yaml").read_text())
    for tier in data["escalations"]:
        data["escalations"][tier].insert(
            0,
            {
                "name": f"heads-up-{tier.lower()}",
                "on": "resolution_at_risk",
                "at": "5%",
                "to": "team_lead",
                "actions": ["notify"],
            },
        )
    return config_from_mapping(data).policy


async def test_simulator_notify_only_step_sends_the_psa_nothing(tmp_path: Path) -> None:
    clock = VirtualClock(START + timedelta(hours=10))
    connector: SimulatorConnector = make(clock)
    psa = connector.psa
    open_ids = [t.id for t in psa.tickets(clock.now())][-40:]
    before = len(psa.writes)

    def advance(delta: timedelta) -> None:
        clock.advance(delta)

    notices, store, results = await fire_at_risk(
        tmp_path, connector, clock, simulator_policy(), open_ids, advance
    )
    assert_notified_and_recorded(notices, store, results)
    assert len(psa.writes) == before


def test_the_policy_fixture_has_notify_only_steps() -> None:
    for vendor in PRIORITIES:
        ladder = soak_policy(vendor).escalations["P1"]
        assert any(step.actions == ("notify",) for step in ladder)
