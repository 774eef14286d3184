"""Issue 11 finding 10 / item 8: a dashboard reachable from other machines needs a token,
or an explicit ``allow_public_without_token: true`` (and then a warning is logged)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from sla_connector.cli import EXIT_CONFIG, main
from sla_connector.core.errors import ConfigError
from sla_connector.runtime.service import allowed_hosts, warn_if_public
from sla_connector.settings import config_from_mapping, parse_yaml

ROOT = Path(__file__).resolve().parents[2]


def _config(dashboard: dict[str, object]) -> dict[str, object]:
    data = parse_yaml((ROOT / "examples" / "policy.yaml").read_text())
    data["dashboard"] = dashboard
    return data


@pytest.mark.parametrize("bind", ["0.0.0.0", "::", "10.1.2.3", "sla.msp.example"])
def test_finding_10_a_public_bind_without_a_token_is_refused(bind: str) -> None:
    with pytest.raises(ConfigError, match="allow_public_without_token") as caught:
        config_from_mapping(_config({"bind": bind}))
    assert str(caught.value).startswith("dashboard.bind:")


def test_finding_10_check_refuses_it_in_one_line_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _config({"bind": "0.0.0.0"})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["check", "-c", str(path), "--no-connect"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "dashboard.bind" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("bind", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_binds_need_no_token(bind: str) -> None:
    assert config_from_mapping(_config({"bind": bind})).dashboard.bind == bind


def test_finding_10_allowed_public_bind_without_a_token_logs_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = config_from_mapping(_config({"bind": "0.0.0.0", "allow_public_without_token": True}))
    with caplog.at_level(logging.WARNING):
        warn_if_public(config)
    assert [r.getMessage() for r in caplog.records] == ["dashboard served without a token"]
    caplog.clear()
    tokened = config_from_mapping(_config({"bind": "0.0.0.0", "token_env": "DASH_TOKEN"}))
    with caplog.at_level(logging.WARNING):
        warn_if_public(tokened)
    assert not caplog.records


def test_the_host_check_serves_configured_names_and_a_specific_bind_address() -> None:
    config = config_from_mapping(
        _config({"bind": "10.1.2.3", "token_env": "T", "allowed_hosts": ["sla.msp.example"]})
    )
    assert allowed_hosts(config) == ("sla.msp.example", "10.1.2.3")
    wildcard = config_from_mapping(_config({"bind": "0.0.0.0", "token_env": "T"}))
    assert allowed_hosts(wildcard) == ()
