"""Finding 7 of issue 13: ``check`` is a pre-flight. Every missing variable of every
connector and channel in one run, SMTP/Slack/Teams reached without sending (unless
``--send-test``), a DNS failure answered in one attempt, and a final verdict line."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from sla_connector.cli import main
from sla_connector.cli.common import ExitCode
from sla_connector.settings import parse_yaml
from tests.loopback import Hook, Sink, smtp_server, webhook_server

ROOT = Path(__file__).resolve().parents[2]
VARIABLES = (
    "H13_CW_PUBLIC", "H13_CW_PRIVATE", "H13_CW_CLIENT", "H13_ZD_EMAIL", "H13_ZD_TOKEN",
    "H13_SMTP_USER", "H13_SMTP_PASSWORD", "H13_SLACK", "H13_TEAMS",
)  # fmt: skip


def _config(tmp_path: Path, *, smtp_port: int = 25, slack: str = "", teams: str = "") -> Path:
    data = parse_yaml((ROOT / "examples" / "policy.yaml").read_text())
    data["connectors"] = {
        "sim": data["connectors"]["sim"],
        "cw": {
            "type": "connectwise",
            "base_url": "https://api-na.myconnectwise.net/v4_6_release/apis/3.0",
            "company_id": "msp",
            "public_key_env": "H13_CW_PUBLIC",
            "private_key_env": "H13_CW_PRIVATE",
            "client_id_env": "H13_CW_CLIENT",
        },
        "zd": {"type": "zendesk", "subdomain": "h13-nowhere", "email_env": "H13_ZD_EMAIL",
               "token_env": "H13_ZD_TOKEN"},
    }  # fmt: skip
    data["store"] = {"url": f"sqlite:///{tmp_path / 'state.db'}"}
    data["notify"] = {
        "smtp": {
            "host": "127.0.0.1",
            "port": smtp_port,
            "starttls": False,
            "username_env": "H13_SMTP_USER",
            "password_env": "H13_SMTP_PASSWORD",
            "sender": "sla@msp.example",
        },
        "slack": {"webhook_env": "H13_SLACK"},
    }
    data["reports"] = {
        "recipients": {
            "internal": {"email": ["desk@msp.example"], "teams_webhook_env": "H13_TEAMS"}
        }
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)


def test_finding_7_every_missing_variable_of_every_connector_and_channel_in_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "-c", str(_config(tmp_path))]) == ExitCode.FINDINGS
    out = capsys.readouterr().out
    for name in VARIABLES:
        assert f"environment variable {name} (or {name}_FILE) is not set" in out, name
    assert "ok   sim (simulator)" in out
    assert out.strip().splitlines()[-1] == (
        f"verdict: NOT READY: {len(VARIABLES)} problem(s) above to fix before `run`"
    )


def test_finding_7_channels_are_reached_without_sending_then_with_send_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("H13_SMTP_USER", "sla")
    monkeypatch.setenv("H13_SMTP_PASSWORD", "s3cret")
    sink, slack, teams = Sink(), Hook(statuses=[400]), Hook(ok=202)
    options = {"auth_require_tls": False, "authenticator": sink.authenticate}
    with (
        smtp_server(sink, **options) as port,
        webhook_server(slack) as slack_url,
        webhook_server(teams) as teams_url,
    ):
        monkeypatch.setenv("H13_SLACK", f"{slack_url}/services/T0/B0/slacksecret")
        monkeypatch.setenv("H13_TEAMS", f"{teams_url}/workflows/teamssecret")
        config = _config(tmp_path, smtp_port=port)
        for name in ("cw", "zd"):  # no PSA here: check the channels only
            text = config.read_text()
            data = yaml.safe_load(text)
            del data["connectors"][name]
            config.write_text(yaml.safe_dump(data, sort_keys=False))
        assert main(["check", "-c", str(config)]) == ExitCode.OK
        out = capsys.readouterr().out
        assert sink.envelopes == [] and sink.logins == [(b"sla", b"s3cret")]
        assert [body for _, _, body in slack.posts] == [{}]  # the empty probe: nothing posted
        assert teams.posts == []
        assert "ok   smtp (127.0.0.1:" in out and "nothing sent" in out
        assert "ok   slack (notify.slack): webhook live" in out
        assert "ok   teams (reports.recipients.internal): 127.0.0.1 reachable" in out
        assert out.strip().splitlines()[-1].startswith("verdict: ready")
        assert "slacksecret" not in out and "teamssecret" not in out and "s3cret" not in out

        assert main(["check", "-c", str(config), "--send-test"]) == ExitCode.OK
        out = capsys.readouterr().out
    assert len(sink.envelopes) == 1 and sink.envelopes[0].rcpt_tos == ["desk@msp.example"]
    assert "--send-test" in slack.posts[-1][2]["text"]
    assert teams.posts[-1][2]["type"] == "message"
    assert out.count("test message posted") == 2 and "test email sent to 1 address(es)" in out


def test_finding_7_a_host_that_does_not_resolve_fails_in_one_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("H13_ZD_EMAIL", "bot@msp.example")
    monkeypatch.setenv("H13_ZD_TOKEN", "t")
    lookups: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.endswith("h13-nowhere.zendesk.com"):
            lookups.append(name)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert main(["check", "-c", str(_config(tmp_path)), "--connector", "zd"]) == 1
    out = capsys.readouterr().out
    assert lookups == ["h13-nowhere.zendesk.com"]  # one attempt, no retries
    assert "FAIL zd (zendesk):" in out and "cannot resolve h13-nowhere.zendesk.com" in out
    assert out.strip().splitlines()[-1].startswith("verdict: NOT READY")
