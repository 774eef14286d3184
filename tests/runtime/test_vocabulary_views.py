"""One "late" and one "at risk", as configured, in every view the service builds.

With ``runtime.late_after: 5m`` a step written 2 minutes after its due instant is on time
and one written 7 minutes after is late: on the dashboard and its JSON API, in
``/metrics``, in the report, in the PSA note and in the Slack notice alike.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sla_connector.core.calendars import to_us
from sla_connector.core.evaluate import evaluate
from sla_connector.core.ticket import Ticket, parse_ticket
from sla_connector.core.vocabulary import Vocabulary
from sla_connector.reporting import build_report, render_text
from sla_connector.reporting.periods import period_containing
from sla_connector.runtime.clocks import ManualClock
from sla_connector.runtime.escalator import Notice
from sla_connector.runtime.notify import notice_text
from sla_connector.runtime.planner import planned_step
from sla_connector.runtime.service import Service, vocabulary_of
from sla_connector.runtime.writeback import plan_writes
from tests.runtime.harness import START, sim_config

pytestmark = pytest.mark.anyio
MINUTE_US = 60_000_000
SECTIONS = {
    "adherence": {"at_risk": "50%"},
    "reports": {"timezone": "Europe/London", "recipients": {"internal": {"email": ["a@b.c"]}}},
}


def _ticket(ident: str) -> Ticket:
    """An unanswered P2 ticket ("slow"): its senior-engineer step fires on the first day."""
    return parse_ticket(
        {"id": ident, "source": "sim", "client": "globex", "subject": "VPN slow",
         "created_at": START.isoformat(), "events": []}
    )  # fmt: skip


async def _get(service: Service, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=service.dashboard)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        return await http.get(path)


async def test_late_after_and_at_risk_from_the_config_reach_every_view(tmp_path: Path) -> None:
    config = sim_config(tmp_path, sections=SECTIONS, late_after="5m")
    vocabulary = Vocabulary(late_after=timedelta(minutes=5), at_risk=0.5)
    assert vocabulary_of(config) == vocabulary
    now = START + timedelta(days=1)
    service = Service.build(config, clock=ManualClock(now))
    try:
        assert service.daemon.escalator.vocabulary == vocabulary
        assert service.reports is not None and service.reports.vocabulary == vocabulary
        ticket = _ticket("9")
        for ident, minutes in (("9", 2), ("10", 7)):
            (plan,) = evaluate(_ticket(ident), config.policy, now).steps
            assert plan.state == "fired" and to_us(now) > plan.due_at
            service.store.plan([planned_step(plan, _ticket(ident))])
            fired = plan.due_at + minutes * MINUTE_US
            assert service.store.claim(plan.key, at=fired, owner="test")
            service.store.finish(plan.key, state="done", at=fired, lateness_us=minutes * MINUTE_US)
        overview = (await _get(service, "/api/overview")).json()
        metrics = (await _get(service, "/metrics")).text
    finally:
        await service.stop()
    late = {row["lateness_seconds"]: row["late"] for row in overview["escalations"]}
    assert late == {120.0: False, 420.0: True}
    assert overview["at_risk_fraction"] == 0.5
    samples = {
        (s.name, s.labels.get("outcome"), s.labels.get("timing")): s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
    }
    assert samples[("sla_escalations_total", "done", "late")] == 1
    assert samples[("sla_escalations_total", "done", "on_time")] == 1

    with service.store.__class__.open(config.store.url) as store:
        period = period_containing("weekly", START.astimezone(ZoneInfo("Europe/London")))
        report = build_report(store, config.policy, period, now, vocabulary=vocabulary)
    assert sorted(line.late for line in report.escalations) == [False, True]
    assert report.late_escalations == 1
    assert "on time" in render_text(report) and "late by 7m" in render_text(report)

    for minutes, said in ((2, False), (7, True)):
        writes = plan_writes(plan, ticket, minutes * MINUTE_US, vocabulary)
        assert ("Fired late by" in (writes.note or "")) is said
        notice = Notice("k", ticket, "s", "P2", "sam", "r", minutes * MINUTE_US,
                        vocabulary.is_late(minutes * MINUTE_US), None)  # fmt: skip
        assert ("late by" in notice_text(notice)) is said
