"""Jira Service Management settings: the keys of a ``type: jira_sm`` entry, declared and read.

``DECLARATION`` is the one description of the vendor keys (the configuration reference and
``sla-connector init`` are generated from it). ``create`` hands the ``connectors.<name>``
mapping of the YAML to ``parse_settings``; every problem is a ``FatalConnectorError`` naming
the key path, and secrets are read from the environment variables the ``*_env`` keys name
(DESIGN section 9: the YAML never holds a secret).

Three ways to authenticate (psa-apis.md section 2.1 and "Corrections and changes as of
2026-12"; support.atlassian.com "Create OAuth 2.0 credential for service accounts"):

- ``cloud_id`` + ``oauth_client_id_env`` + ``oauth_client_secret_env``: a service account's
  OAuth 2.0 credential; access tokens from ``oauth_token_url`` (default
  ``https://auth.atlassian.com/oauth/token``, valid 60 minutes), requests through the gateway
  ``{api_gateway}/ex/jira/{cloud_id}`` (``api_gateway`` default ``https://api.atlassian.com``);
- ``cloud_id`` + ``email_env`` + ``token_env``: a service account's scoped API token (it
  expires after 1-365 days), through the same gateway;
- ``site`` (or ``base_url``) + ``email_env`` + ``token_env``: a person's API token on the
  site URL ``https://<site>.atlassian.net``, as before.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    "DEFAULT_GATEWAY",
    "DEFAULT_REQUESTS_PER_MINUTE",
    "DEFAULT_TOKEN_URL",
    "JiraSettings",
    "parse_settings",
]

DEFAULT_GATEWAY = "https://api.atlassian.com"
DEFAULT_TOKEN_URL = "https://auth.atlassian.com/oauth/token"

DEFAULT_REQUESTS_PER_MINUTE = 100
"""Jira Cloud publishes no per-minute figure for API-token traffic (burst limits per second
per endpoint apply); 100/min stays far below them and leaves room for other integrations."""

_SITE_RE = re.compile(r"[a-z0-9][a-z0-9-]*", re.IGNORECASE)

DECLARATION = ConnectorSettings(
    type="jira_sm",
    page="jira_sm",
    keys=(
        SettingKey(
            "site",
            "text",
            "none",
            "`<site>` of `https://<site>.atlassian.net`, instead of `base_url`.",
            "mspco",
        ),
        SettingKey(
            "cloud_id",
            "text",
            "none",
            "The site's cloud id (admin.atlassian.com): requests go through the gateway "
            "`<api_gateway>/ex/jira/<cloud_id>`, as service accounts need.",
            '"1a11d016-8984-4c3e-b9ab-142dd06acb1b"',
        ),
        SettingKey(
            "api_gateway",
            "URL",
            f"`{DEFAULT_GATEWAY}`",
            "The Atlassian API gateway (tests point it at a local stand-in).",
            "https://api.atlassian.com",
        ),
        SettingKey(
            "oauth_client_id_env",
            "environment variable name",
            "none (API token)",
            "Variable holding a service account's OAuth 2.0 client id; with "
            "`oauth_client_secret_env` and `cloud_id` it selects OAuth client credentials.",
            "JIRA_CLIENT_ID",
            together_with=("oauth_client_secret_env", "cloud_id"),
        ),
        SettingKey(
            "oauth_client_secret_env",
            "environment variable name",
            "none",
            "Variable holding that credential's client secret.",
            "JIRA_CLIENT_SECRET",
            together_with=("oauth_client_id_env", "cloud_id"),
        ),
        SettingKey(
            "oauth_token_url",
            "URL",
            f"`{DEFAULT_TOKEN_URL}`",
            "Where access tokens are asked for.",
            "https://auth.atlassian.com/oauth/token",
        ),
        SettingKey(
            "email_env",
            "environment variable name",
            "required without OAuth",
            "Variable holding the account's email (a person's, or a service account's).",
            "JIRA_EMAIL",
        ),
        SettingKey(
            "token_env",
            "environment variable name",
            "required without OAuth",
            "Variable holding its API token (a service account's is scoped and expires).",
            "JIRA_API_TOKEN",
        ),
        SettingKey(
            "projects", "list of text", "required", "Service desk project keys to poll.", "[ITSD]"
        ),
        SettingKey(
            "client_field",
            "text",
            "`organization`",
            "Where the client is: `organization` (JSM Organizations), `project`, or a field id.",
            "customfield_10050",
        ),
        SettingKey(
            "organization_field",
            "text",
            "none (discovered)",
            "Field id of Organizations, when discovery through `/rest/api/3/field` is not wanted.",
            "customfield_10002",
        ),
        SettingKey(
            "default_client",
            "text",
            '`""`',
            "Client of issues without an organization.",
            "internal",
        ),
        SettingKey(
            "channel_field",
            "text",
            "none",
            "Field id whose value is the channel.",
            "customfield_10010",
        ),
        SettingKey(
            "automation_accounts",
            "list of text",
            "`[]`",
            "More app account ids whose comments are automatic (Automation for Jira is known).",
            '["557058:abc"]',
        ),
        SettingKey("page_size", "whole number (≤ 5000)", "`100`", "Issues per search page.", "50"),
        SettingKey(
            "poll_overlap",
            "duration (≥ 1m)",
            "`2m`",
            "Each poll re-reads this far behind the newest `updated` seen (de-duplicated).",
            "5m",
        ),
        SettingKey(
            "full_read_lookback",
            "duration",
            "`30d`",
            "A full read takes issues not Done plus those updated this far back.",
            "7d",
        ),
        SettingKey(
            "jql_timezone",
            "IANA time zone",
            "the API user's profile zone",
            "Zone JQL dates are written in.",
            "Europe/London",
        ),
    ),
    starter=Starter(
        entry="jsm",
        url="https://your-site.atlassian.net",
        url_hint="https://<site>.atlassian.net",
        bare_host=".atlassian.net",
        lines=(
            StarterLine(
                "email_env",
                "JIRA_EMAIL",
                "the Atlassian account (a JSM agent on the projects)",
                needs="email of the Atlassian account the connector uses",
            ),
            StarterLine(
                "token_env",
                "JIRA_API_TOKEN",
                needs="an API token of that account (id.atlassian.com > Security)",
            ),
            StarterLine("projects", "[ITSD]", "your service desk project keys"),
            StarterLine("client_field", "organization", "the client is the JSM organization"),
            StarterLine("paused_statuses", '["Waiting for customer"]'),
            StarterLine("resolved_statuses", '["Resolved", "Closed", "Done"]'),
            StarterLine("priority_map", "{P1: Highest, P2: High, P3: Medium}"),
            StarterLine("client_map", "{}", "organization name -> client key"),
            StarterLine("users", "{}", "person (roles) -> email or Atlassian account id"),
        ),
        todo=("set connectors.jsm.projects to your service desk project keys",),
    ),
)


@dataclass(frozen=True, slots=True)
class JiraSettings:
    """Validated settings of one ``jira_sm`` connector (secrets already resolved)."""

    name: str
    base_url: str
    email: str
    token: str
    projects: tuple[str, ...]
    auth: Literal["site_token", "service_token", "oauth"] = "site_token"
    cloud_id: str | None = None
    oauth_client_id: str = ""
    oauth_client_secret: str = ""
    oauth_token_url: str = DEFAULT_TOKEN_URL
    secret_vars: tuple[str, ...] = ()  # the *_env variable names, for messages
    client_field: str = "organization"
    organization_field: str | None = None
    client_map: Mapping[str, str] = field(default_factory=dict)
    default_client: str = ""
    priority_map: Mapping[str, str] = field(default_factory=dict)
    users: Mapping[str, str] = field(default_factory=dict)
    channel_field: str | None = None
    automation_accounts: frozenset[str] = frozenset()
    requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE
    page_size: int = 100
    overlap: timedelta = timedelta(minutes=2)
    full_read_lookback: timedelta = timedelta(days=30)
    jql_timezone: ZoneInfo | None = None


_CLOUD_ID_RE = re.compile(r"[0-9a-f-]{8,64}", re.IGNORECASE)


def _base_url(name: str, settings: Mapping[str, Any]) -> str:
    """The gateway URL of the cloud id, else ``base_url``, else the site URL."""
    gateway = _optional_str(name, settings, "api_gateway") or DEFAULT_GATEWAY
    cloud_id = _optional_str(name, settings, "cloud_id")
    if cloud_id:
        if not _CLOUD_ID_RE.fullmatch(cloud_id):
            raise FatalConnectorError(
                f"{_path(name, 'cloud_id')}: {cloud_id!r} is not a cloud id (a UUID shown in "
                "admin.atlassian.com under Apps > Sites)"
            )
        return f"{gateway.rstrip('/')}/ex/jira/{cloud_id}"
    base_url = _optional_str(name, settings, "base_url")
    if base_url:
        return base_url
    site = _optional_str(name, settings, "site")
    if not site:
        raise FatalConnectorError(
            f"connectors.{name}: set cloud_id (a service account, through api.atlassian.com), "
            "or site / base_url (https://<site>.atlassian.net)"
        )
    if not _SITE_RE.fullmatch(site):
        raise FatalConnectorError(
            f"{_path(name, 'site')}: {site!r} is not a site name (the <site> of "
            "<site>.atlassian.net)"
        )
    return f"https://{site}.atlassian.net"


def _credentials(name: str, settings: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """OAuth client credentials, a service account's API token, or a person's API token."""
    cloud_id = _optional_str(name, settings, "cloud_id")
    token_url = _optional_str(name, settings, "oauth_token_url") or DEFAULT_TOKEN_URL
    if settings.get("oauth_client_id_env") or settings.get("oauth_client_secret_env"):
        if not cloud_id:
            raise FatalConnectorError(
                f"{_path(name, 'cloud_id')}: OAuth client credentials go through "
                "api.atlassian.com/ex/jira/<cloud_id>: set cloud_id"
            )
        id_env, client_id = _secret(name, settings, "oauth_client_id_env", env)
        secret_env, client_secret = _secret(name, settings, "oauth_client_secret_env", env)
        return {
            "email": "",
            "token": "",
            "auth": "oauth",
            "cloud_id": cloud_id,
            "oauth_client_id": client_id,
            "oauth_client_secret": client_secret,
            "oauth_token_url": token_url,
            "secret_vars": (id_env, secret_env),
        }
    email_env, email = _secret(name, settings, "email_env", env)
    token_env, token = _secret(name, settings, "token_env", env)
    return {
        "email": email,
        "token": token,
        "auth": "service_token" if cloud_id else "site_token",
        "cloud_id": cloud_id,
        "oauth_token_url": token_url,
        "secret_vars": (email_env, token_env),
    }


def parse_settings(
    name: str, settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> JiraSettings:
    """Validate the raw mapping; ``environ`` defaults to ``os.environ``."""
    env = os.environ if environ is None else environ
    projects = tuple(_str_list(name, settings, "projects"))
    if not projects:
        raise FatalConnectorError(
            f"{_path(name, 'projects')}: list the Jira Service Management project keys to poll"
        )
    client_field = _optional_str(name, settings, "client_field") or "organization"
    timezone_name = _optional_str(name, settings, "jql_timezone")
    jql_timezone = None
    if timezone_name:
        try:
            jql_timezone = ZoneInfo(timezone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise FatalConnectorError(
                f"{_path(name, 'jql_timezone')}: {timezone_name!r} is not an IANA time zone"
            ) from None
    overlap = _duration(name, settings, "poll_overlap", timedelta(minutes=2))
    if overlap < timedelta(minutes=1):
        raise FatalConnectorError(
            f"{_path(name, 'poll_overlap')}: at least 1m (JQL dates have minute precision)"
        )
    return JiraSettings(
        name=name,
        base_url=_base_url(name, settings),
        **_credentials(name, settings, env),
        projects=projects,
        client_field=client_field,
        organization_field=_optional_str(name, settings, "organization_field"),
        client_map=_str_map(name, settings, "client_map"),
        default_client=_optional_str(name, settings, "default_client") or "",
        priority_map=_str_map(name, settings, "priority_map"),
        users=_str_map(name, settings, "users"),
        channel_field=_optional_str(name, settings, "channel_field"),
        automation_accounts=frozenset(_str_list(name, settings, "automation_accounts")),
        requests_per_minute=_positive_int(
            name, settings, "requests_per_minute", DEFAULT_REQUESTS_PER_MINUTE
        ),
        page_size=_positive_int(name, settings, "page_size", 100, maximum=5000),
        overlap=overlap,
        full_read_lookback=_duration(name, settings, "full_read_lookback", timedelta(days=30)),
        jql_timezone=jql_timezone,
    )
