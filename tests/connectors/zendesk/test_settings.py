"""Settings and discovery: secrets from the environment, base URL rules, entry point."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sla_connector_psa.zendesk import ZendeskConnector, create
from sla_connector_psa.zendesk.settings import parse_settings

from sla_connector.core.errors import FatalConnectorError
from sla_connector.core.ports import Connector
from sla_connector.registry import load_connector_factory

from .support import AUTH, ENV, SETTINGS, FakeClock

pytestmark = pytest.mark.anyio


async def test_entry_point_builds_the_adapter_from_the_config_mapping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    factory = load_connector_factory("zendesk", "zd")
    assert factory is create
    connector = factory("zd", SETTINGS, FakeClock(datetime(2026, 11, 2, tzinfo=UTC)))
    assert isinstance(connector, ZendeskConnector)
    assert isinstance(connector, Connector)
    assert connector.http.base_url == "https://mspco.zendesk.com"
    assert connector.http.credentials is not None
    assert (await connector.http.credentials.headers())["Authorization"] == AUTH


def test_unset_secret_names_the_variable() -> None:
    with pytest.raises(
        FatalConnectorError,
        match=r"connectors\.zd\.token_env: environment variable "
        r"ZENDESK_API_TOKEN is not set",
    ):
        parse_settings("zd", SETTINGS, environ={"ZENDESK_EMAIL": "a@b.example"})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"subdomain": None}, "set subdomain"),
        ({"subdomain": "msp co"}, "is not a subdomain"),
        ({"priority_map": {"P1": "critical"}}, r"priority_map\.P1: 'critical' is not a Zendesk"),
        ({"requests_per_minute": 0}, "requests_per_minute: expected a positive integer"),
        ({"full_read_lookback": "3bd"}, "full_read_lookback"),
    ],
)
def test_invalid_settings_name_the_key(change: dict[str, Any], message: str) -> None:
    with pytest.raises(FatalConnectorError, match=message):
        parse_settings("zd", {**SETTINGS, **change}, environ=ENV)


def test_base_url_overrides_the_subdomain_and_plain_http_is_loopback_only() -> None:
    local = parse_settings("zd", {**SETTINGS, "base_url": "http://127.0.0.1:4010"}, environ=ENV)
    connector = ZendeskConnector(local, FakeClock())
    assert connector.http.base_url == "http://127.0.0.1:4010"
    remote = parse_settings("zd", {**SETTINGS, "base_url": "http://zendesk.example"}, environ=ENV)
    with pytest.raises(FatalConnectorError, match="plain http"):
        ZendeskConnector(remote, FakeClock())


async def test_adapter_closes_only_a_client_it_created() -> None:
    connector = ZendeskConnector(parse_settings("zd", SETTINGS, environ=ENV), FakeClock())
    await connector.aclose()
    assert connector.http.client.is_closed


def test_the_ticket_url_template_is_the_agent_page_of_the_ticket() -> None:
    from tests.connectors.zendesk.support import make_connector  # noqa: PLC0415

    connector, _ = make_connector()
    assert connector.ticket_url == "https://mspco.zendesk.com/agent/tickets/{id}"
