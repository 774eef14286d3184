"""``backfill`` against the vendor twins (issue 13 item 1).

Each twin gets 500 tickets with history spread over weeks (agent replies, waits, solves);
``runtime.backfill.Backfill`` reads them through the shipped connector (its full read
with ``full_read_lookback`` set to the span, its history readers, its request budget on
the twin's clock), is interrupted after its first page and resumed from its checkpoint,
and writes canonical JSONL. ``audit`` over that file must agree (adherence rows and every
ticket's result) with ``audit`` over the twin's own data exported without the connectors
(``source_export``: the twin's tickets, audits, notes and changelogs mapped by the format
doc, not by the normalisers the backfill uses) and with ``audit`` over the same tickets
read one by one (``fetch_ticket``), and every ticket the twin holds must be there exactly
once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from sla_connector.cli import main
from sla_connector.core.ports import Connector
from sla_connector.core.ticket import parse_ticket
from sla_connector.runtime.backfill import Backfill, Step, parse_since
from sla_connector.schemas import ticket_schema_problem
from sla_connector.settings import load_config, parse_yaml
from sla_connector.store import Store
from tests.twins.clock import ManualClock
from tests.twins.connectors import (
    TwinTime,
    VirtualSleep,
    connectwise_connector,
    jira_connector,
    zendesk_connector,
)
from tests.twins.connectwise import ConnectWiseTwin
from tests.twins.jira_sm import JiraTwin
from tests.twins.source_export import export_connectwise, export_jira, export_zendesk
from tests.twins.zendesk import ZendeskTwin

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
TICKETS = 500
STEP = 240.0  # seconds of twin time between two tickets: 500 tickets span ~33 hours

POLICY_CONNECTORS: dict[str, dict[str, Any]] = {
    "zd": {
        "type": "zendesk",
        "subdomain": "twin",
        "paused_statuses": ["pending", "hold"],
        "resolved_statuses": ["solved", "closed"],
    },
    "cw": {
        "type": "connectwise",
        "responded_statuses": ["Acknowledged"],
        "paused_statuses": ["Waiting on Customer"],
        "resolved_statuses": ["Resolved", "Closed"],
    },
    "jsm": {
        "type": "jira_sm",
        "paused_statuses": ["Waiting for customer"],
        "resolved_statuses": ["Resolved", "Closed"],
    },
}


def _config_file(tmp_path: Path, name: str) -> Path:
    data = parse_yaml((ROOT / "examples" / "policy.yaml").read_text())
    data["connectors"] = {name: POLICY_CONNECTORS[name]}
    data["store"] = {"url": f"sqlite:///{tmp_path / 'state.db'}"}
    data.pop("reports", None)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _body(i: int) -> str:
    """The first message: for one ticket in 7 it holds the classification's keyword ("down":
    P1) the subject does not, so a reader that loses the description misclassifies them."""
    return "The printer on floor 3 is down for everyone" if i % 7 == 0 else ""


def _zendesk(twin: ZendeskTwin, clock: ManualClock) -> list[str]:
    ids = []
    for i in range(TICKETS):
        ticket = twin.create_ticket(f"Printer {i} offline", _body(i), priority="high")
        clock.advance(STEP / 4)
        if i % 5:
            twin.agent_comment(ticket, "Looking into it")
        if i % 3 == 0:
            twin.set_status(ticket, "pending")
            clock.advance(STEP / 4)
        if i % 2 == 0:
            twin.set_status(ticket, "solved")
        clock.advance(STEP / 2)
        ids.append(str(ticket))
    return ids


def _connectwise(twin: ConnectWiseTwin, clock: ManualClock) -> list[str]:
    ids = []
    for i in range(TICKETS):
        ticket = twin.create_ticket(f"Printer {i} offline", description=_body(i))
        clock.advance(STEP / 4)
        if i % 5:
            twin.member_reply(ticket, "Looking into it")
        if i % 3 == 0:
            twin.set_status(ticket, "Waiting on Customer")
            clock.advance(STEP / 4)
        if i % 2 == 0:
            twin.set_status(ticket, "Resolved")
        clock.advance(STEP / 2)
        ids.append(str(ticket))
    return ids


def _jira(twin: JiraTwin, clock: ManualClock) -> list[str]:
    ids = []
    for i in range(TICKETS):
        key = twin.create_issue(f"Printer {i} offline", priority="High")
        clock.advance(STEP / 4)
        if i % 5:
            twin.agent_comment(key, "Looking into it")
        if i % 3 == 0:
            twin.transition(key, "Waiting for customer")
            clock.advance(STEP / 4)
        if i % 2 == 0:
            twin.transition(key, "Resolved")
        clock.advance(STEP / 2)
        ids.append(key)
    return ids


class TwinBackfill(Backfill):
    """The backfill with the connector built by the twin builders: the same class and
    settings through the registry, with ``full_read_lookback`` set as ``build`` sets it,
    and its waits (request budget, Retry-After) moving the twin's clock."""

    make: Callable[[str], Connector]

    def build(self, name: str) -> Connector:
        return self.make(f"{self.since.days}d")


async def _audit(config: Path, tickets: Path, now: str, capsys: Any) -> dict[str, Any]:
    capsys.readouterr()
    code = main(
        ["audit", "-c", str(config), "--tickets", str(tickets), "--now", now, "--jobs", "1"]
    )
    out = capsys.readouterr().out
    assert code in (0, 1), out
    result: dict[str, Any] = json.loads(out)
    return result


@pytest.mark.parametrize("vendor", ["zd", "cw", "jsm"])
async def test_backfill_of_500_tickets_resumes_and_audits_like_the_twins_own_data(
    vendor: str,
    request: pytest.FixtureRequest,
    clock: ManualClock,
    env: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    twin: Any = request.getfixturevalue(
        {"zd": "zendesk", "cw": "connectwise", "jsm": "jira"}[vendor]
    )
    twin.faults.stall_seconds = 0.0
    script = {"zd": _zendesk, "cw": _connectwise, "jsm": _jira}[vendor]
    builder = {"zd": zendesk_connector, "cw": connectwise_connector, "jsm": jira_connector}[vendor]
    ids = script(twin, clock)
    clock.advance(7 * 86400)  # read a week after the last change
    sleep = VirtualSleep(clock)
    options: dict[str, Any] = {"auth": "site_token"} if vendor == "jsm" else {}

    built: list[Connector] = []

    def make(lookback: str) -> Connector:
        built.append(
            builder(
                twin,
                TwinTime(clock),
                environ=env,
                sleep=sleep,
                full_read_lookback=lookback,
                **options,
            )
        )
        return built[-1]

    config_path = _config_file(tmp_path, vendor)
    config = load_config(config_path)
    out = tmp_path / "backfill.jsonl"
    job = TwinBackfill(
        config, parse_since("4mo"), TwinTime(clock), out=out, only=vendor, page_limit=1
    )
    job.make = make
    began = clock()
    with pytest.raises(InterruptedError):
        await job.run()
    assert job.checkpoint.exists() and not out.exists()  # interrupted after one page
    steps: list[Step] = []
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")  # --out and --store together
    resumed = TwinBackfill(
        config,
        parse_since("4mo"),
        TwinTime(clock),
        out=out,
        store=store,
        only=vendor,
        progress=steps.append,
    )
    resumed.make = make
    try:
        await resumed.run()
        stored = [row.ticket().to_json() for row in store.iter_tickets()]
        loads = [e.payload for e in store.evidence() if e.kind == "backfill"]
        planned = store.ledger()
    finally:
        store.close()
    assert len(stored) == TICKETS and loads == [{"tickets": TICKETS, "since_days": 120}]
    assert planned == []  # loading plans no escalation
    assert not resumed.checkpoint.exists() and not resumed.partial.exists()
    # The pace stays within the connector's request budget: only its waits move the clock.
    minutes = max(clock() - began, 1.0) / 60
    requests = sum(c.health().counters["requests"] for c in built)  # type: ignore[attr-defined]
    budget = built[-1].settings.requests_per_minute  # type: ignore[attr-defined]
    assert requests <= budget * (minutes + len(built)) or sleep.slept == 0  # per 60 s window
    with capsys.disabled():
        print(
            f"backfill {vendor}: {TICKETS} tickets, {requests} requests, budget {budget}/min, "
            f"{TICKETS / minutes:.0f} tickets/min at the budget ({clock() - began:.0f} s twin time)"
        )

    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert sorted(t["id"] for t in lines) == sorted(ids)  # every ticket, exactly once
    changed = {i for i in range(TICKETS) if i % 5 or i % 3 == 0 or i % 2 == 0}
    with_history = {int(t["subject"].split()[1]) for t in lines if t["events"]}
    assert changed <= with_history  # every ticket the script changed, with its history
    # The progress bar's position: through the span, never backwards, ending at the newest
    # ticket (the checkpoint carried it across the interruption).
    fractions = [s.fraction for s in steps]
    assert fractions and all(f is not None for f in fractions)
    assert fractions == sorted(fractions, key=lambda f: f or 0.0)
    assert steps[-1].reached == max(parse_ticket(t).created_at for t in lines)

    # The twin's own data, exported without the connectors (tests/twins/source_export.py).
    source = tmp_path / "source.jsonl"
    exporter = {"zd": export_zendesk, "cw": export_connectwise, "jsm": export_jira}[vendor]
    with source.open("wb") as sink:
        for ticket in exporter(twin, vendor, POLICY_CONNECTORS[vendor]):
            assert ticket_schema_problem(ticket) is None, ticket  # the shipped schema
            sink.write(orjson.dumps(ticket) + b"\n")
    now = TwinTime(clock).now().isoformat()
    backfilled = await _audit(config_path, out, now, capsys)
    exported = await _audit(config_path, source, now, capsys)
    assert backfilled["adherence"] == exported["adherence"]
    assert sorted(backfilled["tickets"], key=lambda t: t["id"]) == sorted(
        exported["tickets"], key=lambda t: t["id"]
    )
    # The store holds what the file holds: the reports read the same months.
    from_store = tmp_path / "from-store.jsonl"
    from_store.write_bytes(b"".join(orjson.dumps(t) + b"\n" for t in stored))
    assert await _audit(config_path, from_store, now, capsys) == backfilled
    # And the per-ticket reader (``fetch_ticket``, which re-reads a ticket before a step
    # fires) agrees with the bulk read: a few seconds for ConnectWise's 1,500 requests.
    connector = make("120d")
    one_by_one = tmp_path / "one-by-one.jsonl"
    try:
        with one_by_one.open("wb") as sink:
            for ticket_id in ids:
                ticket = await connector.fetch_ticket(ticket_id)
                sink.write(orjson.dumps(ticket.to_json()) + b"\n")
    finally:
        await connector.aclose()
    direct = await _audit(config_path, one_by_one, now, capsys)
    assert direct["adherence"] == backfilled["adherence"]
    assert sorted(direct["tickets"], key=lambda t: t["id"]) == sorted(
        backfilled["tickets"], key=lambda t: t["id"]
    )
    decided = sum(row["met"] + row["breached"] for row in backfilled["adherence"])
    assert decided > TICKETS  # the history was read: replies and solves decided clocks
