"""The Jira Service Management connector's settings, read from its raw config mapping.

``create`` hands the ``connectors.<name>`` mapping of the YAML here; every problem is a
``FatalConnectorError`` naming the key path, and secrets are read from the environment
variables the ``*_env`` keys name (DESIGN section 9: the YAML never holds a secret).
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
from sla_connector_psa.options import duration as _duration
from sla_connector_psa.options import key_path as _path
from sla_connector_psa.options import optional_str as _optional_str
from sla_connector_psa.options import positive_int as _positive_int
from sla_connector_psa.options import secret as _secret
from sla_connector_psa.options import str_list as _str_list
from sla_connector_psa.options import str_map as _str_map

__all__ = ["DEFAULT_REQUESTS_PER_MINUTE", "JiraSettings", "parse_settings"]

DEFAULT_REQUESTS_PER_MINUTE = 100
"""Jira Cloud publishes no per-minute figure for API-token traffic (burst limits per second
per endpoint apply); 100/min stays far below them and leaves room for other integrations."""

_SITE_RE = re.compile(r"[a-z0-9][a-z0-9-]*", re.IGNORECASE)


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
