"""ConnectWise settings: defaults, the auth header, and bad values naming their key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sla_connector_psa.connectwise.settings import auth_headers, credentials, parse_settings

from sla_connector.core.errors import ConfigError

from .support import ENV, SETTINGS


@pytest.mark.anyio
async def test_settings_defaults_and_auth_header() -> None:
    settings = parse_settings("cw", SETTINGS, environ=ENV)
    assert settings.page_size == 100
    assert settings.reconcile_interval == timedelta(hours=24)
    assert settings.count_time_entries and settings.api_member is None
    assert settings.tier_of("priority 1 - critical") == "P1"
    assert auth_headers(settings) == {
        "clientId": "guid-1234",
        "Accept": "application/vnd.connectwise.com+json; version=2026.4",
    }
    keys = credentials(settings)
    assert await keys.headers() == {
        "Authorization": "Basic bXNwY28rcHViS0VZOnByaXZLRVk=",  # mspco+pubKEY:privKEY
    }
    assert keys.describe().method == "api_member_keys" and "privKEY" not in str(
        keys.describe().details()
    )


@pytest.mark.parametrize(
    ("key", "value", "path"),
    [
        ("page_size", 5000, "connectors.cw.page_size"),
        ("boards", "Service Desk", "connectors.cw.boards"),
        ("first_response", "emails", "connectors.cw.first_response"),
        ("overlap", "soon", "connectors.cw.overlap"),
        ("base_url", None, "connectors.cw.base_url"),
        ("public_key_env", None, "connectors.cw.public_key_env"),
    ],
)
def test_bad_settings_name_the_key(key: str, value: Any, path: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings("cw", {**SETTINGS, key: value}, environ=ENV)
    assert info.value.path == path


def test_reconcile_interval_can_be_switched_off() -> None:
    settings = parse_settings("cw", {**SETTINGS, "reconcile_interval": "never"}, environ=ENV)
    assert settings.reconcile_interval is None
