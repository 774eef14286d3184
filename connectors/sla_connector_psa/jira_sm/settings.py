"""Jira Service Management settings: the keys of a ``type: jira_sm`` entry, declared and read.

``DECLARATION`` is the one description of the vendor keys (the configuration reference and
``sla-connector init`` are generated from it). ``create`` hands the ``connectors.<name>``
mapping of the YAML to ``parse_settings``; every problem is a ``FatalConnectorError`` naming
the key path, and secrets are read from the environment variables the ``*_env`` keys name
(DESIGN section 9: the YAML never holds a secret).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
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

__all__ = ["DECLARATION", "DEFAULT_REQUESTS_PER_MINUTE", "JiraSettings", "parse_settings"]

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
            "email_env",
            "environment variable name",
            "required",
            "Variable holding the Atlassian account's email.",
            "JIRA_EMAIL",
        ),
        SettingKey(
            "token_env",
            "environment variable name",
            "required",
            "Variable holding its API token.",
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


def _base_url(name: str, settings: Mapping[str, Any]) -> str:
    base_url = _optional_str(name, settings, "base_url")
    if base_url:
        return base_url
    site = _optional_str(name, settings, "site")
    if not site:
        raise FatalConnectorError(
            f"connectors.{name}: set base_url (https://<site>.atlassian.net) or site"
        )
    if not _SITE_RE.fullmatch(site):
        raise FatalConnectorError(
            f"{_path(name, 'site')}: {site!r} is not a site name (the <site> of "
            "<site>.atlassian.net)"
        )
    return f"https://{site}.atlassian.net"


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
        email=_secret(name, settings, "email_env", env)[1],
        token=_secret(name, settings, "token_env", env)[1],
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
