"""Escalation notices go through the reports' delivery code; the webhook URL never leaks.

The daemon (the service ``run`` builds) runs on the simulator in virtual time with
``notify.slack`` pointed at a loopback webhook that answers 404, then 500 (echoing the
request path in its error bodies, as some proxies do), then 200. Every log line, in the
production JSON format at DEBUG and as our own records, the ledger, the evidence log and
the dashboard must hold no part of the webhook URL's path.
"""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from sla_connector.core.ticket import parse_ticket
from sla_connector.runtime.escalator import Notice
from sla_connector.runtime.notify import notice_message, notice_text
from tests.loopback import Hook, webhook_server
from tests.runtime.conftest import assert_absent
from tests.runtime.harness import Harness, sim_config

pytestmark = pytest.mark.anyio

SECRET_PATH = "/services/T0SECRET1/B0SECRET2/XSECRETTOKEN3"
SECRET_PARTS = ("T0SECRET1", "B0SECRET2", "XSECRETTOKEN3", "/services/")


async def test_notices_reach_the_webhook_and_no_log_line_holds_its_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, json_log: io.StringIO
) -> None:
    hook = Hook(statuses=[404, 500], echo_path=True)
    caplog.set_level(logging.DEBUG)
    with webhook_server(hook) as base:
        config = sim_config(
            tmp_path, sections={"notify": {"slack": {"webhook_env": "SLA_TEST_SLACK"}}}
        )
        harness = await Harness.start(config, environ={"SLA_TEST_SLACK": base + SECRET_PATH})
        try:
            await harness.run_for(timedelta(days=2))
            transport = httpx.ASGITransport(app=harness.service.dashboard)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
                dashboard = (await http.get("/api/overview")).text + (await http.get("/")).text
            ledger = harness.store.ledger()
            evidence = [json.dumps(entry.payload) for entry in harness.store.evidence()]
        finally:
            await harness.close()
    notified = [row for row in ledger if row.state == "done" and "notify" in row.actions]
    assert len(hook.posts) == len(notified) >= 3, "every notify step posts once"
    assert {path for path, _, _ in hook.posts} == {SECRET_PATH}
    assert all("SLA escalation" in body["text"] for _, _, body in hook.posts)
    ours = "\n".join(
        record.getMessage() for record in caplog.records if record.name.startswith("sla_")
    )
    assert "slack webhook answered HTTP 404: invalid_payload" in ours
    assert "slack webhook answered HTTP 500" in ours
    assert_absent(SECRET_PARTS, ours, "the daemon's log records")
    assert "HTTP Request: POST" in json_log.getvalue()  # httpx's own line, at DEBUG, scrubbed
    assert_absent(SECRET_PARTS, json_log.getvalue(), "the JSON log lines")
    assert_absent(SECRET_PARTS, "\n".join(row.detail for row in ledger), "the ledger")
    assert_absent(SECRET_PARTS, "\n".join(evidence), "the evidence log")
    assert_absent(SECRET_PARTS, dashboard, "the dashboard")
    failed = [row for row in notified if "failed" in row.detail]
    assert not failed, "a failed notice never fails the PSA write"


def test_a_notice_says_late_by_only_when_the_vocabulary_calls_it_late() -> None:
    ticket = parse_ticket(
        {"id": "7", "source": "sim", "client": "acme", "subject": "down",
         "created_at": "2026-11-02T09:00:00Z", "events": []}
    )  # fmt: skip
    base = Notice("k", ticket, "senior-engineer", "P2", "sam", "response breached", 0, False, None)
    assert "late by" not in notice_text(base)
    late = Notice("k", ticket, "senior-engineer", "P2", "sam", "response breached",
                  3_900_000_000, True, None)  # fmt: skip
    assert notice_text(late).endswith("Escalated to sam (late by 1h 05m).")


def test_finding_6_a_hostile_subject_cannot_ping_the_channel_or_hide_a_link() -> None:
    hostile = "<!channel> <https://evil.example|invoice.pdf> & <@U123>\n*bold*" + "<" * 400
    ticket = parse_ticket(
        {"id": "<!here>", "source": "sim", "client": "acme <!everyone>", "subject": hostile,
         "created_at": "2026-11-02T09:00:00Z", "events": []}
    )  # fmt: skip
    notice = Notice(
        "k", ticket, "senior-engineer", "P2", "<!subteam^S1>", "breached", 0, False, None
    )
    message = notice_message(notice)
    shown = json.dumps(message)
    for live in ("<!channel>", "<!here>", "<!everyone>", "<https://", "<@U123>", "<!subteam"):
        assert live not in shown, live
    context = message["blocks"][1]["elements"][0]["text"]
    assert context.startswith("&lt;!channel&gt; &lt;https://evil.example|invoice.pdf&gt; &amp;")
    assert len(context) <= 300 and context.endswith("&lt;…")
    assert "\n" not in context
