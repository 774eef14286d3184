"""``sla-connector check``: configuration verdict, then one verdict per connector."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sla_connector.cli import main

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


def test_no_connect_validates_the_example_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-c", str(ROOT / "config.example.yaml"), "--no-connect"]) == 0
    assert "configuration OK" in capsys.readouterr().out


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
    assert "FAIL zd" in out and "ZENDESK_" in out


def test_unknown_connector_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "-c", str(ROOT / "examples" / "policy.yaml"), "--connector", "nope"])
    assert code == 2
    assert "no connector named 'nope'" in capsys.readouterr().err
