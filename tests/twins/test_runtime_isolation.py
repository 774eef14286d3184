"""One bad object never stops the rest, end to end (issue 12 item 4, runtime side).

The daemon polls the shipped Jira SM connector against the Jira twin, which refuses one
project (an archived project makes the whole search 400, as Jira Cloud does). The other
project's issues are planned on every poll; the refused project is recorded against itself
in the daemon's status (logged once per back-off step, not at every poll), in ``/metrics``
and in the dashboard's health view; it is retried with back-off, and logged as recovered
once it answers again.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sla_connector.core.vocabulary import Vocabulary
from sla_connector.runtime.clocks import ManualClock as RuntimeClock
from sla_connector.runtime.daemon import Daemon, DaemonSettings
from sla_connector.runtime.source import StoreSource
from sla_connector.runtime.timeline import VirtualTimeline
from sla_connector.settings import load_config
from sla_connector.store import Store
from sla_connector.web.app import create_app
from sla_connector.web.views import build_overview
from tests.twins.clock import ManualClock
from tests.twins.connectors import TwinTime, jira_connector
from tests.twins.jira_sm import JiraTwin
from tests.web.helpers import client_for

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


def _failures_logged(caplog: pytest.LogCaptureFixture) -> list[tuple[Any, ...]]:
    return [
        (r.kind, r.object, r.attempts)  # type: ignore[attr-defined]
        for r in caplog.records
        if getattr(r, "event", None) == "object_failure"
    ]


async def test_a_refused_jira_project_is_recorded_against_itself_while_the_rest_is_polled(
    jira: JiraTwin, clock: ManualClock, env: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sla_connector.runtime")
    first = jira.create_issue("Laptop")
    jira.create_issue("Backup", project="OPS")
    jira.archive_project("OPS")
    connector = jira_connector(
        jira, TwinTime(clock), auth="site_token", environ=env, projects=["ITSD", "OPS"]
    )
    time = TwinTime(clock)
    config = load_config(ROOT / "examples" / "policy.yaml")
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    daemon = Daemon(
        policy=config.policy,
        store=store,
        connectors={"jsm": connector},
        clock=time,
        timeline=VirtualTimeline(RuntimeClock(time.now())),  # arms only; polls are called
        settings=DaemonSettings(
            poll_intervals={"jsm": timedelta(seconds=20)},
            reconcile_intervals={"jsm": timedelta(hours=24)},
            owner="test",
            dry_run=True,
        ),
    )
    await daemon.start()
    try:
        # Six polls 20 s apart: the project's back-off (1, 2, 4 ... minutes) allows two tries.
        for _ in range(6):
            await daemon.poll("jsm")
            clock.advance(20)
        second = jira.create_issue("Printer")
        await daemon.poll("jsm")
        status = daemon.status["jsm"]
        assert status.last_poll_ok is True  # the poll went on
        assert {first, second} <= {row.id for row in store.iter_tickets(source="jsm")}
        assert [line.split(":")[0] for line in status.failing] == ["project OPS"]
        assert status.failing_by_kind == {"project": 1}
        logged = _failures_logged(caplog)
        assert logged and len(logged) < 7  # once per back-off step, not once per poll
        assert [a for _, _, a in logged] == list(range(1, len(logged) + 1))
        assert {(k, o) for k, o, _ in logged} == {("project", "OPS")}
        assert status.object_errors == {"project": len(logged)}

        # The dashboard's health view and /metrics show it against the project.
        source = StoreSource(config.policy, store, time, daemon.status)
        [line] = build_overview(source, Vocabulary()).connectors
        assert line.failing and line.failing[0].startswith("project OPS: ")
        app = create_app(source, token=None, vocabulary=Vocabulary())
        async with client_for(app) as web:
            page = (await web.get("/")).text
            metrics = (await web.get("/metrics")).text
        assert "project OPS: " in page
        assert 'sla_connector_objects_failing{connector="jsm",kind="project"} 1.0' in metrics
        errors = (
            f'sla_connector_object_errors_total{{connector="jsm",kind="project"}} {len(logged)}'
        )
        assert errors in metrics

        # ``check`` names the project too (and the failing objects the connector holds).
        verdict = await connector.check()
        assert not verdict.ok and "projects OPS" in verdict.summary
        assert [f.split(":")[0] for f in verdict.details["health"]["failing"]] == ["project OPS"]

        # The project comes back: once its back-off passes it is read and logged recovered.
        jira.state.projects["OPS"]["archived"] = False
        clock.advance(3600)
        await daemon.poll("jsm")
        assert status.failing == ()
        assert any(getattr(r, "event", None) == "object_recovered" for r in caplog.records)
        assert len(_failures_logged(caplog)) == len(logged)
    finally:
        await daemon.stop()
        store.close()
