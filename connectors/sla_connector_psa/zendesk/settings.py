"""Zendesk Support settings: the keys of a ``type: zendesk`` entry, declared and read.

``DECLARATION`` is the one description of the vendor keys (the configuration reference and
``sla-connector init`` are generated from it). ``create`` hands the ``connectors.<name>``
mapping of the YAML to ``parse_settings``; every problem is a ``FatalConnectorError`` naming
the key path, and secrets are read from the environment variables the ``*_env`` keys name
(DESIGN section 9).

Two ways to authenticate. ``oauth_client_id_env`` + ``oauth_client_secret_env`` select an
OAuth confidential client and the client-credentials grant (token endpoint
``{base_url}/oauth/tokens``, scope ``oauth_scope``, default ``read write``): the only way a new
install can connect, since Zendesk no longer issues API tokens. ``email_env`` + ``token_env``
keep an existing API token working until Zendesk retires every token on 2027-04-30
(psa-apis.md "Corrections and changes as of 2026-12";
developer.zendesk.com/documentation/api-basics/authentication/api-tokens-to-oauth/).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

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
    "API_TOKENS_END",
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
API_TOKENS_END = datetime(2027, 4, 30, tzinfo=UTC)
"""Every remaining Zendesk API token stops working on this day (psa-apis.md "Corrections")."""
DEFAULT_OAUTH_SCOPE = "read write"
_STATUS_KEYS = ("paused_statuses", "resolved_statuses", "responded_statuses")
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
            "oauth_client_id_env",
            "environment variable name",
            "none (API token)",
            "Variable holding an OAuth confidential client's identifier; with "
            "`oauth_client_secret_env` it selects OAuth client credentials.",
            "ZENDESK_CLIENT_ID",
            together_with=("oauth_client_secret_env",),
        ),
        SettingKey(
            "oauth_client_secret_env",
            "environment variable name",
            "none",
            "Variable holding that OAuth client's secret.",
            "ZENDESK_CLIENT_SECRET",
            together_with=("oauth_client_id_env",),
        ),
        SettingKey(
            "oauth_scope",
            "text (space-separated scopes)",
            f"`{DEFAULT_OAUTH_SCOPE}`",
            "Scopes the access token is asked for.",
            '"read write"',
        ),
        SettingKey(
            "email_env",
            "environment variable name",
            "required without OAuth",
            "Variable holding the API user's email (legacy API token).",
            "ZENDESK_EMAIL",
        ),
        SettingKey(
            "token_env",
            "environment variable name",
            "required without OAuth",
            "Variable holding a legacy API token (they stop working on 2027-04-30).",
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
            "Budget of the incremental export endpoints (Zendesk allows 10/min); polls "
            "are at least 2 x 61 s / this value apart (15.25 s at 8), leaving half of it to "
            "event-stream pages, further pages and retries.",
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
                "oauth_client_id_env",
                "ZENDESK_CLIENT_ID",
                "an OAuth confidential client created by an admin",
                needs="the OAuth client's identifier (Admin Center > Apps and integrations > "
                "APIs > OAuth clients)",
            ),
            StarterLine(
                "oauth_client_secret_env",
                "ZENDESK_CLIENT_SECRET",
                needs="that OAuth client's secret (shown once, when the client is saved)",
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
    email: str = ""
    token: str = ""
    email_env: str = "ZENDESK_EMAIL"
    token_env: str = "ZENDESK_API_TOKEN"
    auth: Literal["oauth", "api_token"] = "api_token"
    oauth_client_id: str = ""
    oauth_client_secret: str = ""
    oauth_scope: str = DEFAULT_OAUTH_SCOPE
    oauth_env: tuple[str, str] = ("", "")  # the two variable names, for messages
    status_names: frozenset[str] = frozenset()  # every configured status name, casefolded
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


def _credentials(name: str, settings: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """OAuth client credentials when either OAuth key is set, else the legacy API token."""
    scope = _optional_str(name, settings, "oauth_scope") or DEFAULT_OAUTH_SCOPE
    if settings.get("oauth_client_id_env") or settings.get("oauth_client_secret_env"):
        id_env, client_id = _secret(name, settings, "oauth_client_id_env", env)
        secret_env, client_secret = _secret(name, settings, "oauth_client_secret_env", env)
        return {
            "auth": "oauth",
            "oauth_client_id": client_id,
            "oauth_client_secret": client_secret,
            "oauth_scope": " ".join(scope.split()),
            "oauth_env": (id_env, secret_env),
        }
    if not settings.get("email_env") and not settings.get("token_env"):
        raise FatalConnectorError(
            f"connectors.{name}: set oauth_client_id_env and oauth_client_secret_env (an OAuth "
            "client: Admin Center > Apps and integrations > APIs > OAuth clients), or "
            "email_env and token_env for an existing API token"
        )
    email_env, email = _secret(name, settings, "email_env", env)
    token_env, token = _secret(name, settings, "token_env", env)
    return {
        "auth": "api_token",
        "email": email,
        "token": token,
        "email_env": email_env,
        "token_env": token_env,
    }


def parse_settings(
    name: str, settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> ZendeskSettings:
    """Validate the raw mapping; ``environ`` defaults to ``os.environ``."""
    env = os.environ if environ is None else environ
    channels = _str_list(name, settings, "automatic_channels") or ["rule"]
    names = frozenset(
        status.casefold() for key in _STATUS_KEYS for status in _str_list(name, settings, key)
    )
    return ZendeskSettings(
        name=name,
        base_url=_base_url(name, settings),
        **_credentials(name, settings, env),
        status_names=names,
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
