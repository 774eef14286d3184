"""The default reconcile interval per vendor comes from the connector (issue 12 item 5).

``ConnectorConfig`` used to default ``reconcile_interval`` to 1 h, which overrode the
ConnectWise connector's own 24 h (a ConnectWise full read re-reads histories): the daemon
asked for a full read every hour, and the connector was handed ``1h`` as if the operator
had written it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sla_connector.runtime.clocks import ManualClock
from sla_connector.runtime.service import (
    DEFAULT_RECONCILE_INTERVAL,
    build_connectors,
    daemon_settings,
)
from sla_connector.settings import config_from_mapping, parse_yaml
from tests.connectors.connectwise.support import ENV, SETTINGS
from tests.runtime.harness import START

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, **cw: Any) -> Any:
    data = parse_yaml((ROOT / "examples" / "policy.yaml").read_text())
    data["connectors"]["cw"] = {"type": "connectwise", **SETTINGS, **cw}
    data["store"] = {"url": f"sqlite:///{tmp_path / 'state.db'}"}
    return config_from_mapping(data)


def test_connectwise_reconciles_daily_by_default_and_the_others_hourly(tmp_path: Path) -> None:
    settings = daemon_settings(_config(tmp_path))
    assert settings.reconcile_intervals["cw"] == timedelta(hours=24)
    assert settings.reconcile_intervals["zd"] == DEFAULT_RECONCILE_INTERVAL == timedelta(hours=1)
    assert settings.reconcile_intervals["sim"] == timedelta(hours=1)


def test_a_configured_interval_wins_over_the_connectors_default(tmp_path: Path) -> None:
    settings = daemon_settings(_config(tmp_path, reconcile_interval="6h"))
    assert settings.reconcile_intervals["cw"] == timedelta(hours=6)


def test_the_connector_is_not_handed_the_old_hourly_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ZENDESK_EMAIL", "sla@msp.example")
    monkeypatch.setenv("ZENDESK_API_TOKEN", "t")
    connectors = build_connectors(_config(tmp_path), ManualClock(START))
    assert connectors["cw"].settings.reconcile_interval == timedelta(hours=24)  # type: ignore[attr-defined]
