"""Zendesk Support settings: the keys of a ``type: zendesk`` entry, declared and read.

``DECLARATION`` is the one description of the vendor keys (the configuration reference and
``sla-connector init`` are generated from it). ``create`` hands the ``connectors.<name>``
mapping of the YAML to ``parse_settings``; every problem is a ``FatalConnectorError`` naming
the key path, and secrets are read from the environment variables that ``email_env`` and
``token_env`` name (DESIGN section 9).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sla_connector.core.errors import FatalConnectorError
from sla_connector.core.plugins import ConnectorSettings, SettingKey, Starter, StarterLine
from sla_connector_psa.options import duration as _duration
from sla_connector_psa.options import key_path as _path
from sla_connector_psa.options import optional_str as _optional_str
from sla_connector_psa.options import positive_int as _positive_int
from sla_connector_psa.options import secret as _secret
from sla_connector_psa.options import str_list as _str_list
from sla_connector_psa.options import str_map as _str_map

__all__ = [
    "DECLARATION",
    "DEFAULT_EXPORT_REQUESTS_PER_MINUTE",
    "DEFAULT_REQUESTS_PER_MINUTE",
    "ZENDESK_PRIORITIES",
    "ZendeskSettings",
    "parse_settings",
]

DEFAULT_REQUESTS_PER_MINUTE = 100
"""Half of the smallest plan's account limit (Team: 200/min), leaving room for other apps."""

DEFAULT_EXPORT_REQUESTS_PER_MINUTE = 8
"""The incremental export endpoints allow 10 requests/min per account; stay below it."""

ZENDESK_PRIORITIES = ("low", "normal", "high", "urgent")
_SUBDOMAIN_RE = re.compile(r"[a-z0-9][a-z0-9-]*", re.IGNORECASE)

DECLARATION = ConnectorSettings(
    type="zendesk",
    page="zendesk",
    keys=(
        SettingKey(
            "subdomain",
            "text",
            "none",
            "`<subdomain>` of `<subdomain>.zendesk.com`, instead of `base_url`.",
            "mspco",
        ),
        SettingKey(
            "email_env",
            "environment variable name",
            "required",
            "Variable holding the API user's email.",
            "ZENDESK_EMAIL",
        ),
        SettingKey(
            "token_env",
            "environment variable name",
            "required",
            "Variable holding an API token.",
            "ZENDESK_API_TOKEN",
        ),
        SettingKey(
            "default_client",
            "text",
            '`""`',
            "Client of tickets without an organization.",
            "internal",
        ),
        SettingKey(
            "groups",
            "mapping: name → group id",
            "`{}`",
            "Groups a step may assign to (`to: group:NAME`).",
            '{"Tier 2": "360001234567"}',
        ),
        SettingKey(
            "automation_users",
            "list of text",
            "`[]`",
            "User ids or emails whose comments are automatic, never replies.",
            "[alerts@msp.example]",
        ),
        SettingKey(
            "automatic_channels",
            "list of text",
            "`[rule]`",
            "`via` channels whose comments and changes are automatic.",
            "[rule, api]",
        ),
        SettingKey(
            "export_requests_per_minute",
            "whole number",
            f"`{DEFAULT_EXPORT_REQUESTS_PER_MINUTE}`",
            "Budget of the incremental export endpoints (Zendesk allows 10/min).",
            "5",
        ),
        SettingKey(
            "full_read_lookback",
            "duration",
            "`30d`",
            "A full read exports tickets updated this far back.",
            "7d",
        ),
    ),
    starter=Starter(
        entry="zd",
        url="https://your-subdomain.zendesk.com",
        url_hint="https://<subdomain>.zendesk.com",
        bare_host=".zendesk.com",
        lines=(
            StarterLine(
                "email_env",
                "ZENDESK_EMAIL",
                "the API user's email (an admin: the export needs one)",
                needs="email of the Zendesk API user (an admin)",
            ),
            StarterLine(
                "token_env",
                "ZENDESK_API_TOKEN",
                needs="a Zendesk API token (Admin Center > Apps and integrations > APIs)",
            ),
            StarterLine("paused_statuses", "[pending, hold]"),
            StarterLine("resolved_statuses", "[solved, closed]"),
            StarterLine("priority_map", "{P1: urgent, P2: high, P3: normal}"),
            StarterLine("client_map", "{}", "Zendesk organization name -> client key"),
            StarterLine("users", "{}", "person (roles) -> Zendesk user id or agent email"),
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class ZendeskSettings:
    """Validated settings of one ``zendesk`` connector (secrets already resolved)."""

    name: str
    base_url: str
    email: str
    token: str
    email_env: str = "ZENDESK_EMAIL"
    token_env: str = "ZENDESK_API_TOKEN"
    client_map: Mapping[str, str] = field(default_factory=dict)
    default_client: str = ""
    priority_map: Mapping[str, str] = field(default_factory=dict)  # tier -> zendesk priority
    users: Mapping[str, str] = field(default_factory=dict)  # person -> user id or email
    groups: Mapping[str, str] = field(default_factory=dict)  # name -> group id
    automation_users: frozenset[str] = frozenset()  # ids/emails whose comments are automatic
    automatic_channels: frozenset[str] = frozenset({"rule"})
    requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE
    export_requests_per_minute: int = DEFAULT_EXPORT_REQUESTS_PER_MINUTE
    full_read_lookback: timedelta = timedelta(days=30)


def _base_url(name: str, settings: Mapping[str, Any]) -> str:
    base_url = _optional_str(name, settings, "base_url")
    if base_url:
        return base_url
    subdomain = _optional_str(name, settings, "subdomain")
    if not subdomain:
        raise FatalConnectorError(
            f"connectors.{name}: set subdomain (the <subdomain> of <subdomain>.zendesk.com) "
            "or base_url"
        )
    if not _SUBDOMAIN_RE.fullmatch(subdomain):
        raise FatalConnectorError(
            f"{_path(name, 'subdomain')}: {subdomain!r} is not a subdomain (the <subdomain> "
            "of <subdomain>.zendesk.com)"
        )
    return f"https://{subdomain.lower()}.zendesk.com"


def _priority_map(name: str, settings: Mapping[str, Any]) -> dict[str, str]:
    mapping = {
        tier: value.strip().lower()
        for tier, value in _str_map(name, settings, "priority_map").items()
    }
    for tier, value in mapping.items():
        if value not in ZENDESK_PRIORITIES:
            raise FatalConnectorError(
                f"{_path(name, 'priority_map')}.{tier}: {value!r} is not a Zendesk priority "
                f"(one of {', '.join(ZENDESK_PRIORITIES)})"
            )
    return mapping


def parse_settings(
    name: str, settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> ZendeskSettings:
    """Validate the raw mapping; ``environ`` defaults to ``os.environ``."""
    env = os.environ if environ is None else environ
    email_env, email = _secret(name, settings, "email_env", env)
    token_env, token = _secret(name, settings, "token_env", env)
    channels = _str_list(name, settings, "automatic_channels") or ["rule"]
    return ZendeskSettings(
        name=name,
        base_url=_base_url(name, settings),
        email=email,
        token=token,
        email_env=email_env,
        token_env=token_env,
        client_map=_str_map(name, settings, "client_map"),
        default_client=_optional_str(name, settings, "default_client") or "",
        priority_map=_priority_map(name, settings),
        users=_str_map(name, settings, "users"),
        groups=_str_map(name, settings, "groups"),
        automation_users=frozenset(
            v.lower() for v in _str_list(name, settings, "automation_users")
        ),
        automatic_channels=frozenset(c.lower() for c in channels),
        requests_per_minute=_positive_int(
            name, settings, "requests_per_minute", DEFAULT_REQUESTS_PER_MINUTE
        ),
        export_requests_per_minute=_positive_int(
            name, settings, "export_requests_per_minute", DEFAULT_EXPORT_REQUESTS_PER_MINUTE
        ),
        full_read_lookback=_duration(name, settings, "full_read_lookback", timedelta(days=30)),
    )
