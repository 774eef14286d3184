"""``sla-connector run`` as a process: a store URL's password never reaches its output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from sla_connector.settings import parse_yaml
from tests.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("sla-connector"))
PASSWORD = "DSNs3cretPW"


def test_a_store_url_password_is_masked_when_the_database_cannot_be_reached(
    tmp_path: Path,
) -> None:
    data = parse_yaml((ROOT / "examples" / "policy.yaml").read_text())
    data["connectors"] = {"sim": data["connectors"]["sim"]}
    data["store"] = {"url_env": "SLA_TEST_STORE_URL"}
    data["dashboard"] = {"bind": "127.0.0.1", "port": free_port()}
    data.pop("reports", None)
    data.pop("notify", None)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    # Nothing listens on port 1 of loopback: opening the store fails at once.
    url = f"postgresql+psycopg://sla:{PASSWORD}@127.0.0.1:1/sla"
    result = subprocess.run(
        [CLI, "run", "-c", str(config), "--log-level", "DEBUG"],
        env={**os.environ, "SLA_TEST_STORE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 3, output  # unavailable (docs/cli.md, exit codes)
    assert "sla-connector: store postgresql+psycopg://sla:[redacted]@127.0.0.1:1/sla" in output
    assert PASSWORD not in output
