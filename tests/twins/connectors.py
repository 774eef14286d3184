"""The built-in connectors pointed at the twins, built only through the public registry.

Each builder puts the twin's credentials in the environment (``environ``: os.environ by
default), writes the connector's settings mapping as an operator would, and loads the
connector factory by its ``type:`` name, so what a twin test exercises is what ships.
``TwinTime`` is a connector clock that reads a twin's clock (a ``ManualClock`` in tests);
``VirtualSleep`` moves that clock instead of sleeping (for a simulated hour), and a builder
given ``sleep`` builds the connector class with it.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

from sla_connector_psa.connectwise import ConnectWiseConnector
from sla_connector_psa.connectwise import parse_settings as cw_settings
from sla_connector_psa.jira_sm import JiraServiceManagement
from sla_connector_psa.jira_sm import parse_settings as jira_settings
from sla_connector_psa.zendesk import ZendeskConnector
from sla_connector_psa.zendesk import parse_settings as zendesk_settings

from sla_connector.core.ports import Connector
from sla_connector.registry import load_connector_factory
from tests.twins.clock import Clock, ManualClock
from tests.twins.connectwise import ConnectWiseTwin
from tests.twins.jira_sm import JiraTwin
from tests.twins.zendesk import ZendeskTwin

__all__ = [
    "TwinTime",
    "VirtualSleep",
    "connectwise_connector",
    "jira_connector",
    "zendesk_connector",
]

Sleep = Callable[[float], Awaitable[None]]

CW_PRIORITIES = {
    "P1": "Priority 1 - Critical",
    "P2": "Priority 2 - High",
    "P3": "Priority 3 - Normal",
}


class TwinTime:
    """The present as a twin's clock says (so a manual clock moves the connector too)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)


class VirtualSleep:
    """A connector's waits (request budgets, Retry-After) move the manual clock instead."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.slept = 0.0

    async def __call__(self, seconds: float) -> None:
        self.slept += max(0.0, seconds)
        self.clock.advance(max(0.0, seconds))


_CLASSES: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "zendesk": (zendesk_settings, ZendeskConnector),
    "connectwise": (cw_settings, ConnectWiseConnector),
    "jira_sm": (jira_settings, JiraServiceManagement),
}


def _build(
    kind: str,
    name: str,
    settings: dict[str, Any],
    clock: Any,
    secrets: dict[str, str],
    environ: MutableMapping[str, str] | None,
    sleep: Sleep | None = None,
) -> Connector:
    env = os.environ if environ is None else environ
    env.update(secrets)
    if sleep is None:
        return load_connector_factory(kind, name)(name, settings, clock)
    parse, cls = _CLASSES[kind]
    built: Connector = cls(
        parse(name, settings, environ=dict(os.environ) | dict(env)), clock, sleep=sleep
    )
    return built


def zendesk_connector(
    twin: ZendeskTwin,
    clock: Any,
    *,
    oauth: bool = False,
    environ: MutableMapping[str, str] | None = None,
    sleep: Sleep | None = None,
    **extra: Any,
) -> Connector:
    """The ``zendesk`` connector on the twin: an OAuth client, or the legacy API token."""
    settings: dict[str, Any] = {
        "type": "zendesk",
        "base_url": twin.base_url,
        "paused_statuses": ["pending", "hold"],
        "resolved_statuses": ["solved", "closed"],
        "priority_map": {"P1": "urgent", "P2": "high", "P3": "normal"},
        "client_map": {"Globex": "globex"},
        "users": {email: str(user) for email, user in twin.account.agents.items()},
        **extra,
    }
    if oauth:
        if "twin-sla" not in twin.auth.clients:
            secret = twin.auth.add_oauth_client("twin-sla", user_id=twin.account.api_user)
        else:
            secret = twin.auth.clients["twin-sla"].secret
        settings |= {
            "oauth_client_id_env": "TWIN_ZD_CLIENT",
            "oauth_client_secret_env": "TWIN_ZD_SECRET",
        }
        secrets = {"TWIN_ZD_CLIENT": "twin-sla", "TWIN_ZD_SECRET": secret}
    else:
        settings |= {"email_env": "TWIN_ZD_EMAIL", "token_env": "TWIN_ZD_TOKEN"}
        secrets = {"TWIN_ZD_EMAIL": twin.account.api_email, "TWIN_ZD_TOKEN": twin.account.api_token}
    return _build("zendesk", "zd", settings, clock, secrets, environ, sleep)


def connectwise_connector(
    twin: ConnectWiseTwin,
    clock: Any,
    *,
    environ: MutableMapping[str, str] | None = None,
    sleep: Sleep | None = None,
    **extra: Any,
) -> Connector:
    """The ``connectwise`` connector on the twin, with the API member's keys."""
    account = twin.account
    settings: dict[str, Any] = {
        "type": "connectwise",
        "base_url": twin.base_url,
        "company_id": account.company_id,
        "public_key_env": "TWIN_CW_PUBLIC",
        "private_key_env": "TWIN_CW_PRIVATE",
        "client_id_env": "TWIN_CW_CLIENT",
        "boards": ["Service Desk"],
        "responded_statuses": ["Acknowledged"],
        "paused_statuses": ["Waiting on Customer"],
        "resolved_statuses": ["Resolved", "Closed"],
        "priority_map": CW_PRIORITIES,
        "client_map": {"GLOBEX": "globex"},
        "users": dict(account.emails),
        **extra,
    }
    secrets = {
        "TWIN_CW_PUBLIC": account.public_key,
        "TWIN_CW_PRIVATE": account.private_key,
        "TWIN_CW_CLIENT": account.client_id,
    }
    return _build("connectwise", "cw", settings, clock, secrets, environ, sleep)


def jira_connector(
    twin: JiraTwin,
    clock: Any,
    *,
    auth: str = "oauth",
    environ: MutableMapping[str, str] | None = None,
    sleep: Sleep | None = None,
    **extra: Any,
) -> Connector:
    """The ``jira_sm`` connector on the twin: ``oauth`` or ``service_token`` through the
    gateway, or ``site_token`` (a person's API token) on the site URL."""
    account = twin.account
    settings: dict[str, Any] = {
        "type": "jira_sm",
        "projects": ["ITSD"],
        "paused_statuses": ["Waiting for customer"],
        "resolved_statuses": ["Resolved", "Closed"],
        "priority_map": {"P1": "Highest", "P2": "High", "P3": "Medium"},
        "client_map": {"Globex": "globex"},
        "users": dict(account.agents),
        **extra,
    }
    gateway = {"cloud_id": account.cloud_id, "api_gateway": twin.gateway}
    secrets: dict[str, str]
    if auth == "oauth":
        settings |= gateway | {
            "oauth_token_url": twin.token_url,
            "oauth_client_id_env": "TWIN_JIRA_CLIENT",
            "oauth_client_secret_env": "TWIN_JIRA_SECRET",
        }
        secrets = {"TWIN_JIRA_CLIENT": account.client_id, "TWIN_JIRA_SECRET": account.client_secret}
    elif auth == "service_token":
        settings |= gateway | {"email_env": "TWIN_JIRA_EMAIL", "token_env": "TWIN_JIRA_TOKEN"}
        secrets = {
            "TWIN_JIRA_EMAIL": account.service_email,
            "TWIN_JIRA_TOKEN": account.service_token,
        }
    else:
        settings |= {
            "base_url": twin.base_url,
            "email_env": "TWIN_JIRA_EMAIL",
            "token_env": "TWIN_JIRA_TOKEN",
        }
        secrets = {"TWIN_JIRA_EMAIL": account.email, "TWIN_JIRA_TOKEN": account.token}
    return _build("jira_sm", "jsm", settings, clock, secrets, environ, sleep)


Builder = Callable[..., Connector]
