"""``sla-connector check``: configuration verdict, then one verdict per connector."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sla_connector.cli import main
from sla_connector.settings import load_config
from sla_connector.settings.secret_env import named_secrets
from tests.twins.zendesk import ZendeskTwin

ROOT = Path(__file__).resolve().parents[2]


class _Rejecting(BaseHTTPRequestHandler):
    """A PSA that refuses every credential, as Zendesk does with a bad token."""

    def do_GET(self) -> None:
        body = b'{"error": "Couldn\'t authenticate you"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def rejecting_psa() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Rejecting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _config(tmp_path: Path, zendesk_url: str) -> Path:
    text = (ROOT / "examples" / "policy.yaml").read_text()
    text = re.sub(r"(?m)^    subdomain: mspco$", f"    base_url: {zendesk_url}", text)
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_no_connect_validates_the_example_config_and_its_secrets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    example = ROOT / "config.example.yaml"
    secrets = named_secrets(load_config(example))
    for secret in secrets:
        monkeypatch.delenv(secret.variable, raising=False)
        monkeypatch.delenv(f"{secret.variable}_FILE", raising=False)
    assert main(["check", "-c", str(example), "--no-connect"]) == 1
    out = capsys.readouterr().out
    assert "configuration OK" in out
    assert all(secret.path in out for secret in secrets if not secret.optional)
    for secret in secrets:
        monkeypatch.setenv(secret.variable, "x")
    assert main(["check", "-c", str(example), "--no-connect"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("verdict: ready")


def test_simulator_passes_and_rejected_credentials_fail_with_exit_1(
    tmp_path: Path,
    rejecting_psa: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZENDESK_EMAIL", "agent@msp.example")
    monkeypatch.setenv("ZENDESK_API_TOKEN", "wrong")
    assert main(["check", "-c", str(_config(tmp_path, rejecting_psa))]) == 1
    out = capsys.readouterr().out
    assert re.search(r"(?m)^ok   sim \(simulator\)", out)
    line = next(line for line in out.splitlines() if line.startswith("FAIL zd"))
    assert "credential" in line.lower() or "rejected" in line.lower()
    assert "wrong" not in out  # the token never appears


def test_missing_secret_is_a_failed_verdict_naming_the_variable(
    tmp_path: Path,
    rejecting_psa: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ZENDESK_EMAIL", raising=False)
    monkeypatch.delenv("ZENDESK_API_TOKEN", raising=False)
    assert main(["check", "-c", str(_config(tmp_path, rejecting_psa)), "--connector", "zd"]) == 1
    out = capsys.readouterr().out
    assert "FAIL secret connectors.zd.email_env: environment variable ZENDESK_EMAIL" in out
    assert "FAIL secret connectors.zd.token_env: environment variable ZENDESK_API_TOKEN" in out
    assert "skip zd (zendesk): not tried" in out


def test_unknown_connector_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "-c", str(ROOT / "examples" / "policy.yaml"), "--connector", "nope"])
    assert code == 2
    assert "no connector named 'nope'" in capsys.readouterr().err


def test_check_names_the_credentials_their_expiry_and_the_api_token_warning(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 12: which method is in use, until when, and the 2027-04-30 retirement."""
    twin = ZendeskTwin()
    with twin.serve():
        monkeypatch.setenv("ZENDESK_EMAIL", twin.account.api_email)
        monkeypatch.setenv("ZENDESK_API_TOKEN", twin.account.api_token)
        assert (
            main(["check", "-c", str(_config(tmp_path, twin.base_url)), "--connector", "zd"]) == 0
        )
    out = capsys.readouterr().out
    assert "auth: Zendesk API token (legacy) of sla-bot@msp.example" in out
    assert "expires: 2027-04-30T00:00:00+00:00" in out
    assert "warning: Zendesk API tokens stop working on 2027-04-30" in out
    assert twin.account.api_token not in out


def test_check_of_an_oauth_client_names_expiry_and_missing_scopes(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    twin = ZendeskTwin()
    secret = twin.auth.add_oauth_client("sla_connector", user_id=twin.account.api_user)
    monkeypatch.setenv("ZD_CLIENT", "sla_connector")
    monkeypatch.setenv("ZD_SECRET", secret)
    with twin.serve():
        text = _config(tmp_path, twin.base_url).read_text()
        text = text.replace(
            "email_env: ZENDESK_EMAIL", "oauth_client_id_env: ZD_CLIENT\n    oauth_scope: read"
        ).replace("token_env: ZENDESK_API_TOKEN", "oauth_client_secret_env: ZD_SECRET")
        config = tmp_path / "oauth.yaml"
        config.write_text(text)
        code = main(["check", "-c", str(config), "--connector", "zd"])
    out = capsys.readouterr().out
    assert code == 1  # a read-only token cannot write escalations back
    assert "auth: Zendesk OAuth client credentials (client sla_connector); expires: 20" in out
    assert "scopes lacking: write" in out
    assert secret not in out and not any(t in out for t in twin.auth.access)


def test_finding_2_check_warns_when_the_evidence_log_is_unkeyed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pre-flight checks every secret the policy names, so give it the connector's.
    monkeypatch.setenv("ZENDESK_EMAIL", "agent@example.com")
    monkeypatch.setenv("ZENDESK_API_TOKEN", "not-a-real-token")
    text = (ROOT / "examples" / "policy.yaml").read_text()
    unkeyed = tmp_path / "unkeyed.yaml"
    unkeyed.write_text(text)
    assert main(["check", "-c", str(unkeyed), "--no-connect"]) == 0
    assert "the evidence log is unkeyed" in capsys.readouterr().out
    keyed = tmp_path / "keyed.yaml"
    keyed.write_text(
        re.sub(r"(?m)^(  url: sqlite:.*)$", r"\1\n  evidence_key_env: SLA_EVIDENCE_KEY", text)
    )
    monkeypatch.setenv("SLA_EVIDENCE_KEY", "a-long-evidence-key-0123456789")
    assert main(["check", "-c", str(keyed), "--no-connect"]) == 0
    assert "unkeyed" not in capsys.readouterr().out
