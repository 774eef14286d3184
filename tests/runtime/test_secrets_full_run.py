"""Issue 11 finding 7 / item 7: a full daemon run with every kind of secret configured logs
none of them.

The service ``run`` builds, on the simulator in virtual time, from 00:00 to 10:00 on a
Monday (so the weekly report goes out at 08:00 London), with:

- the dashboard token (``dashboard.token_env``);
- the store URL in ``store.url_env``, with a password when PostgreSQL is available;
- a second PSA connector whose ``base_url`` carries ``user:password@`` and whose host
  refuses connections (so every poll fails and logs the URL it tried);
- escalation notices to a Slack webhook and reports to Slack and Teams webhooks, all
  answering 404 with the request path echoed in the body;
- reports by email through an SMTP server that refuses the password.

Every line of the production JSON log at DEBUG, the dashboard pages and ``check``'s output
for the same configuration are scanned for each secret value.
"""

from __future__ import annotations

import asyncio
import copy
import io
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml

from sla_connector.cli import main
from sla_connector.settings import config_from_mapping, parse_yaml
from sla_connector.store.engine import parse_store_url
from tests.loopback import Hook, Sink, free_port, smtp_server, webhook_server
from tests.runtime.conftest import assert_absent
from tests.runtime.harness import ROOT, START, Harness

pytestmark = pytest.mark.anyio

TOKEN = "dash-T0KEN-f9c2a1"
DB_PASSWORD = "db-PASSW0RD-77e1"
BASE_URL_PASSWORD = "psa-BASEURL-PW-3b8d"
SLACK_NOTIFY = "/services/TNOTIFY01/BNOTIFY02/NOTIFYTOKEN03"
SLACK_REPORT = "/services/TREPORT01/BREPORT02/REPORTTOKEN03"
TEAMS_REPORT = "/workflows/TEAMSREPORT42/triggers/manual/paths/invoke"
SMTP_PASSWORD = "smtp-PASSW0RD-51aa"
SECRETS = [
    TOKEN,
    BASE_URL_PASSWORD,
    *(part for path in (SLACK_NOTIFY, SLACK_REPORT) for part in path.split("/")[2:]),
    "TEAMSREPORT42",
    SMTP_PASSWORD,
]


@pytest.fixture
def store_with_password(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A store URL and the secrets in it: a private PostgreSQL schema reached with a
    password (trust auth ignores it) when SLA_TEST_POSTGRES_URL is set, else SQLite."""
    base_text = os.environ.get("SLA_TEST_POSTGRES_URL", "").strip()
    if not base_text:
        yield f"sqlite:///{tmp_path / 'state.db'}", []
        return
    base = parse_store_url(base_text)
    schema = f"sla_test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = base.set(password=DB_PASSWORD).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False), [DB_PASSWORD]
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _sections(hook_base: str, smtp_port: int, sim: dict[str, Any]) -> dict[str, Any]:
    closed_port = free_port()  # bound and released: nothing listens there
    broken = {
        **sim,
        "type": "simulator_http",
        "base_url": f"http://sla-api:{BASE_URL_PASSWORD}@127.0.0.1:{closed_port}",
        "max_attempts": 1,
        "timeout": 2,
        "connect_timeout": 2,
    }
    for key in ("seed", "clients", "client_map"):
        broken.pop(key, None)
    return {
        "connectors": {"sim": sim, "psa": broken},
        "store": {"url_env": "SLA_STORE_URL"},
        "dashboard": {"bind": "127.0.0.1", "token_env": "SLA_DASHBOARD_TOKEN"},
        "notify": {
            "slack": {"webhook_env": "SLA_SLACK_NOTIFY"},
            "smtp": {
                "host": "127.0.0.1",
                "port": smtp_port,
                "starttls": False,
                "sender": "sla@msp.example",
                "username_env": "SLA_SMTP_USER",
                "password_env": "SLA_SMTP_PASSWORD",
            },
        },
        "reports": {
            "timezone": "Europe/London",
            "recipients": {
                "acme": {"slack_webhook_env": "SLA_SLACK_REPORT", "email": ["it@acme.example"]},
                "internal": {"teams_webhook_env": "SLA_TEAMS_REPORT"},
            },
        },
    }


async def test_finding_7_a_full_daemon_run_logs_no_configured_secret(
    tmp_path: Path,
    json_log: io.StringIO,
    store_with_password: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store_url, store_secrets = store_with_password
    secrets = [*SECRETS, *store_secrets]
    hook, sink = Hook(ok=404, echo_path=True), Sink()
    smtp_options = {"authenticator": sink.authenticate, "auth_require_tls": False}
    with webhook_server(hook) as hook_base, smtp_server(sink, **smtp_options) as smtp_port:
        data = _document(tmp_path)
        data.update(_sections(hook_base, smtp_port, data["connectors"]["sim"]))
        config = config_from_mapping(copy.deepcopy(data))
        environ = {
            "SLA_DASHBOARD_TOKEN": TOKEN,
            "SLA_STORE_URL": store_url,
            "SLA_SLACK_NOTIFY": hook_base + SLACK_NOTIFY,
            "SLA_SLACK_REPORT": hook_base + SLACK_REPORT,
            "SLA_TEAMS_REPORT": hook_base + TEAMS_REPORT,
            "SLA_SMTP_USER": "reports",
            "SLA_SMTP_PASSWORD": SMTP_PASSWORD,
        }
        harness = await Harness.start(config, environ=environ)
        try:
            await harness.run_for(timedelta(hours=10))
            transport = httpx.ASGITransport(app=harness.service.dashboard)
            headers = {"Authorization": f"Bearer {TOKEN}"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1", headers=headers
            ) as http:
                pages = [
                    (await http.get(path)).text
                    for path in ("/", "/api/overview", "/metrics", "/readyz", "/clients/acme")
                ]
            status = harness.daemon.status["psa"]
            runs = harness.store.report_runs("weekly")
        finally:
            await harness.close()
        # `check` on the same configuration, its secrets in the environment.
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        code = await asyncio.to_thread(main, ["check", "-c", str(path)])  # it runs its own loop
        checked = capsys.readouterr()

    # The run did meet every secret: notices and reports were attempted, polls failed.
    assert {p for p, _, _ in hook.posts} >= {SLACK_NOTIFY, SLACK_REPORT, TEAMS_REPORT}
    assert sink.logins and sink.envelopes == []
    assert status.poll_errors >= 1 and status.last_error is not None
    assert "127.0.0.1" in status.last_error
    assert {run.state for run in runs} == {"failed"}
    assert code == 1 and "FAIL psa" in checked.out
    log = json_log.getvalue()
    assert '"poll failed"' in log and "slack webhook answered HTTP 404" in log
    assert_absent(secrets, log, "the JSON log")
    assert_absent(secrets, "\n".join(pages), "the dashboard")
    assert_absent(secrets, status.last_error, "the connector status")
    assert_absent(secrets, checked.out + checked.err, "check's output")
    assert_absent(secrets, "\n".join(run.detail or "" for run in runs), "the report runs")


def _document(tmp_path: Path) -> dict[str, Any]:
    """The example policy with the simulator as ``sim_config`` sets it up, as a mapping."""
    data = parse_yaml((ROOT / "examples" / "policy.yaml").read_text())
    sim = data["connectors"]["sim"]
    sim.update(
        {
            "poll_interval": "15m",
            "reconcile_interval": "24h",
            "start": START.isoformat(),
            "tickets_per_day": 400,
        }
    )
    data.pop("reports", None)
    data.pop("notify", None)
    data["runtime"] = {"owner": "test"}
    return data
