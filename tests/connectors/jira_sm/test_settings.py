"""Connector settings: secrets from the environment, base URL rules, actionable errors."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.metadata import entry_points
from typing import Any

import pytest
from sla_connector_psa import jira_sm
from sla_connector_psa.jira_sm.settings import parse_settings

from sla_connector.core.errors import FatalConnectorError
from sla_connector.core.ports import Connector

from .support import ENV, SETTINGS, FakeClock


def settings(**overrides: Any) -> dict[str, Any]:
    merged = {**SETTINGS, **overrides}
    return {k: v for k, v in merged.items() if v is not None}


def test_site_derives_the_atlassian_base_url() -> None:
    parsed = parse_settings("jsm", settings(base_url=None, site="mspco"), environ=ENV)
    assert parsed.base_url == "https://mspco.atlassian.net"


def test_unset_token_variable_is_named_in_the_error() -> None:
    with pytest.raises(FatalConnectorError, match="JIRA_API_TOKEN is not set"):
        parse_settings("jsm", settings(), environ={"JIRA_EMAIL": "a@b.example"})


def test_missing_projects_are_refused() -> None:
    with pytest.raises(FatalConnectorError, match=r"connectors\.jsm\.projects"):
        parse_settings("jsm", settings(projects=[]), environ=ENV)


def test_overlap_below_jql_precision_is_refused() -> None:
    with pytest.raises(FatalConnectorError, match="poll_overlap"):
        parse_settings("jsm", settings(poll_overlap="30s"), environ=ENV)


def test_create_refuses_plain_http_off_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    clock = FakeClock(datetime(2026, 11, 2, tzinfo=UTC))
    with pytest.raises(FatalConnectorError, match="plain http"):
        jira_sm.create("jsm", settings(base_url="http://mspco.atlassian.net"), clock)
    adapter = jira_sm.create("jsm", settings(base_url="http://127.0.0.1:4010"), clock)
    assert adapter.http.base_url == "http://127.0.0.1:4010"
    assert isinstance(adapter, Connector)


def test_entry_point_names_the_jira_factory() -> None:
    (point,) = [p for p in entry_points(group="sla_connector.connectors") if p.name == "jira_sm"]
    assert point.load() is jira_sm.create


def test_the_ticket_url_template_is_the_issue_page_on_the_site() -> None:
    from datetime import UTC, datetime  # noqa: PLC0415

    from tests.connectors.jira_sm.support import FakeClock, Sleeps, make_adapter  # noqa: PLC0415

    adapter = make_adapter(FakeClock(datetime(2026, 11, 2, tzinfo=UTC)), Sleeps())
    assert adapter.ticket_url == "https://mspco.atlassian.net/browse/{id}"
