"""Bad portal configuration stops ``sla-connector run`` before anything starts (issue 15):
one line naming the key, exit 2, no store opened, no port bound."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sla_connector.settings import parse_yaml
from tests.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("sla-connector"))


def _config(tmp_path: Path, port: int, **dashboard: str) -> Path:
    data = parse_yaml((ROOT / "examples" / "policy.yaml").read_text())
    data["connectors"] = {"sim": data["connectors"]["sim"]}
    data["store"] = {"url": f"sqlite:///{tmp_path / 'state.db'}"}
    data["dashboard"] = {"bind": "127.0.0.1", "port": port, **dashboard}
    first = next(iter(data["clients"]))
    data["clients"][first]["portal"] = {"token_env": "SLA_TEST_PORTAL_TOKEN"}
    data.pop("reports", None)
    data.pop("notify", None)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return config


def _run(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLA_TEST_PORTAL")}
    return subprocess.run(
        [CLI, "run", "-c", str(config)],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.parametrize(
    ("dashboard", "env", "key"),
    [
        ({}, {}, ".portal.token_env"),
        (
            {"portal_link_key_env": "SLA_TEST_PORTAL_LINK_KEY"},
            {"SLA_TEST_PORTAL_TOKEN": "t0ken-for-the-portal"},
            "dashboard.portal_link_key_env",
        ),
    ],
)
def test_an_unset_portal_secret_is_one_line_naming_the_key_and_exit_2(
    tmp_path: Path, dashboard: dict[str, str], env: dict[str, str], key: str
) -> None:
    port = free_port()
    result = _run(_config(tmp_path, port, **dashboard), env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and key in lines[0] and "is not set" in lines[0], lines
    first = next(iter(parse_yaml((ROOT / "examples" / "policy.yaml").read_text())["clients"]))
    full = f"clients.{first}{key}" if key.startswith(".") else key
    assert lines[0].startswith("sla-connector: configuration error: "), lines[0]
    assert f" {full}: environment variable SLA_TEST_PORTAL_" in lines[0], lines[0]
    # nothing started half-configured: no store created, the port never bound
    assert not (tmp_path / "state.db").exists()
    assert _port_free(port)
    assert "t0ken-for-the-portal" not in result.stdout + result.stderr
