"""The daemon's report job on every channel that logs delivery errors: no secret leaks.

Slack and Teams webhooks on loopback answer 404, then 500 (echoing the request path in
their error bodies); the SMTP server refuses the password. The job (``ReportJob``, as the
daemon runs it, secrets read from the environment it is given) records and logs each
failure: no log line, no recorded run and no dashboard page may hold the webhook paths or
the SMTP password.
"""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from sla_connector.runtime.clocks import ManualClock
from sla_connector.runtime.report_jobs import ReportJob
from sla_connector.runtime.source import StoreSource
from sla_connector.settings import config_from_mapping
from sla_connector.store import Store
from sla_connector.web.app import create_app
from tests.loopback import Hook, Sink, smtp_server, webhook_server
from tests.reporting.dataset import POLICY
from tests.runtime.conftest import assert_absent

pytestmark = pytest.mark.anyio

SLACK_PATH = "/services/T0SLACKSECRET/B0SLACKSECRET/SLACKTOKEN123"
TEAMS_PATH = "/workflows/TEAMSSECRET42/triggers/manual/paths/invoke"
PASSWORD = "pw-SMTPSECRET-9"
SECRETS = ("T0SLACKSECRET", "B0SLACKSECRET", "SLACKTOKEN123", "TEAMSSECRET42", "SMTPSECRET")
MONDAY = datetime(2026, 10, 19, 7, 0, tzinfo=UTC)  # 08:00 in London: the weekly report


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


async def test_failed_report_deliveries_never_show_a_webhook_path_or_the_smtp_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, json_log: io.StringIO
) -> None:
    caplog.set_level(logging.DEBUG)
    slack, teams = Hook(statuses=[404], echo_path=True), Hook(statuses=[500, 500], echo_path=True)
    sink = Sink()
    options = {"authenticator": sink.authenticate, "auth_require_tls": False}
    with (
        webhook_server(slack) as slack_base,
        webhook_server(teams) as teams_base,
        smtp_server(sink, **options) as port,
    ):
        config = config_from_mapping(
            {
                **POLICY,
                "store": {"url": f"sqlite:///{tmp_path / 'sla.db'}"},
                "reports": {
                    "timezone": "Europe/London",
                    "recipients": {
                        "acme": {"slack_webhook_env": "ACME_SLACK", "email": ["it@acme.example"]},
                        "internal": {"teams_webhook_env": "MSP_TEAMS"},
                    },
                },
                "notify": {
                    "smtp": {"host": "127.0.0.1", "port": port, "starttls": False,
                             "sender": "sla@msp.example", "username_env": "SMTP_USER",
                             "password_env": "SMTP_PASSWORD"},
                },
            }
        )  # fmt: skip
        environ = {
            "ACME_SLACK": slack_base + SLACK_PATH,
            "MSP_TEAMS": teams_base + TEAMS_PATH,
            "SMTP_USER": "reports",
            "SMTP_PASSWORD": PASSWORD,
        }
        sleeps = Sleeps()
        with Store.open(config.store.url) as store:
            job = ReportJob(
                config.reports,
                config.notify,
                config.policy,
                store,
                ManualClock(MONDAY),
                started=MONDAY - timedelta(minutes=1),
                environ=environ,
                delivery={"sleep": sleeps, "attempts": 2},
            )
            await job()
            runs = {run.recipient: run for run in store.report_runs("weekly")}
            source = StoreSource(config.policy, store, ManualClock(MONDAY), {})
            transport = httpx.ASGITransport(app=create_app(source, token=None, cache_seconds=0))
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
                dashboard = (await http.get("/api/overview")).text + (await http.get("/")).text
    assert {key: run.state for key, run in runs.items()} == {
        "acme:email": "failed",
        "acme:slack": "failed",
        "internal:teams": "failed",
    }
    assert [path for path, _, _ in slack.posts] == [SLACK_PATH]  # a 404 is not retried
    assert [path for path, _, _ in teams.posts] == [TEAMS_PATH] * 2  # a 500 is, once here
    # aiosmtplib tries each mechanism the server offers (PLAIN, LOGIN) before giving up.
    assert set(sink.logins) == {(b"reports", PASSWORD.encode())} and sink.envelopes == []
    assert "HTTP 404: invalid_payload for [redacted]" in runs["acme:slack"].detail
    assert "HTTP 500" in runs["internal:teams"].detail and "535" in runs["acme:email"].detail
    assert "acme:slack" in dashboard and "internal:teams" in dashboard  # failures are shown
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("sla_"))
    assert "retrying" in ours and "failed" in ours
    assert_absent(SECRETS, ours, "the log records")
    assert_absent(SECRETS, json_log.getvalue(), "the JSON log lines")
    assert_absent(SECRETS, "\n".join(run.detail for run in runs.values()), "the recorded runs")
    assert_absent(SECRETS, dashboard, "the dashboard")
