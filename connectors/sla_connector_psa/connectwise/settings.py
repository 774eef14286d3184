"""ConnectWise PSA settings: the keys of a ``type: connectwise`` entry, declared and read.

``DECLARATION`` is the one description of the vendor keys (the configuration reference and
``sla-connector init`` are generated from it); ``parse_settings`` validates a raw
``connectors.<name>`` mapping into ``CwSettings``, reading the secrets from the environment
variables the ``*_env`` keys name (DESIGN section 9: the YAML never holds a secret).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from sla_connector.core.durations import parse_duration
from sla_connector.core.errors import ConfigError
from sla_connector.core.plugins import ConnectorSettings, SettingKey, Starter, StarterLine
from sla_connector_psa.credentials import StaticCredentials, basic_header
from sla_connector_psa.options import secret
from sla_connector_psa.values import tier_of

__all__ = [
    "DECLARATION",
    "DEFAULT_API_VERSION",
    "MAX_PAGE_SIZE",
    "CwSettings",
    "FirstResponse",
    "auth_headers",
    "credentials",
    "parse_settings",
]

FirstResponse = Literal["notes", "date_responded", "both"]
DEFAULT_API_VERSION = "2026.4"
MAX_PAGE_SIZE = 1000
_ENV = "environment variable name"

DECLARATION = ConnectorSettings(
    type="connectwise",
    page="connectwise",
    keys=(
        SettingKey("company_id", "text", "required", "Company id entered at login.", "mspco"),
        SettingKey(
            "public_key_env",
            _ENV,
            "required",
            "Variable holding the API member's public key.",
            "CW_PUBLIC_KEY",
        ),
        SettingKey(
            "private_key_env",
            _ENV,
            "required",
            "Variable holding the API member's private key.",
            "CW_PRIVATE_KEY",
        ),
        SettingKey(
            "client_id_env",
            _ENV,
            "required",
            "Variable holding the integration's clientId.",
            "CW_CLIENT_ID",
        ),
        SettingKey(
            "api_version",
            "text",
            f"`{DEFAULT_API_VERSION}`",
            "API version pinned in the Accept header.",
            f'"{DEFAULT_API_VERSION}"',
        ),
        SettingKey(
            "boards",
            "list of text",
            "`[]` (every board)",
            "Service boards to poll, by name.",
            '["Service Desk"]',
        ),
        SettingKey(
            "first_response",
            "one of `notes`, `date_responded`, `both`",
            "`both`",
            "What is the first agent response: a member's discussion note, `dateResponded`, or "
            "`dateResponded` when set and notes otherwise.",
            "notes",
        ),
        SettingKey(
            "automation_members",
            "list of text",
            "`[]`",
            "Member identifiers whose notes are "
            "never replies and whose priority changes are not manual.",
            "[automate]",
        ),
        SettingKey(
            "api_member",
            "text",
            "none (found)",
            "The API member's identifier; its own changes (this connector's writes) are never "
            "a person's. Without it, the API members (`licenseClass` A) are looked up once.",
            "SLAConnector",
        ),
        SettingKey(
            "count_time_entries",
            "true or false",
            "true",
            "Read `allNotes`, so a member's time entry whose notes went to the Discussion "
            "counts as a reply.",
            "false",
        ),
        SettingKey(
            "channel_map",
            "mapping: source name → channel",
            "`{}`",
            "Ticket source → channel, before the built-in names.",
            "{Alert: monitoring}",
        ),
        SettingKey(
            "page_size",
            f"whole number (1-{MAX_PAGE_SIZE})",
            "`100`",
            "Tickets per feed page.",
            "200",
        ),
        SettingKey(
            "overlap",
            "duration",
            "`2m`",
            "Each poll re-reads this far behind the newest `lastUpdated` seen (de-duplicated).",
            "5m",
        ),
        SettingKey(
            "full_read_lookback",
            "duration",
            "`7d`",
            "A full read takes open tickets plus those updated this far back.",
            "14d",
        ),
    ),
    starter=Starter(
        entry="cw",
        url="https://api-na.myconnectwise.net/v4_6_release/apis/3.0",
        url_hint="https://api-<region>.myconnectwise.net/v4_6_release/apis/3.0",
        lines=(
            StarterLine("company_id", "CHANGE-ME", "the company id you log in with"),
            StarterLine("public_key_env", "CW_PUBLIC_KEY", needs="the API member's public key"),
            StarterLine("private_key_env", "CW_PRIVATE_KEY", needs="the API member's private key"),
            StarterLine(
                "client_id_env",
                "CW_CLIENT_ID",
                needs="your integration's clientId (developer.connectwise.com)",
            ),
            StarterLine("boards", '["Service Desk"]'),
            StarterLine("responded_statuses", '["Acknowledged", "In Progress"]'),
            StarterLine("paused_statuses", '["Waiting on Customer", "Scheduled"]'),
            StarterLine("resolved_statuses", '["Resolved", "Closed"]'),
            StarterLine(
                "priority_map",
                '{P1: "Priority 1 - Critical", P2: "Priority 2 - High",\n'
                '                   P3: "Priority 3 - Normal"}',
            ),
            StarterLine("client_map", "{}", "company identifier -> client key"),
            StarterLine("users", "{}", "person (roles) -> member identifier"),
        ),
        todo=("set connectors.cw.company_id, boards and the status names of your boards",),
    ),
    reconcile_interval=timedelta(hours=24),  # a full read re-reads histories that moved
)


@dataclass(frozen=True, slots=True)
class CwSettings:
    """One ``connectors.<name>`` entry of type ``connectwise``, secrets resolved."""

    name: str
    base_url: str
    company_id: str
    public_key: str
    private_key: str
    client_id: str
    api_version: str = DEFAULT_API_VERSION
    boards: tuple[str, ...] = ()
    priority_map: Mapping[str, str] = field(default_factory=dict)
    client_map: Mapping[str, str] = field(default_factory=dict)
    users: Mapping[str, str] = field(default_factory=dict)
    channel_map: Mapping[str, str] = field(default_factory=dict)
    automation_members: frozenset[str] = frozenset()
    api_member: str | None = None
    count_time_entries: bool = True
    first_response: FirstResponse = "both"
    requests_per_minute: int = 120
    page_size: int = 100
    overlap: timedelta = timedelta(minutes=2)
    reconcile_interval: timedelta | None = timedelta(hours=24)
    full_read_lookback: timedelta = timedelta(days=7)
    key_vars: tuple[str, ...] = ()  # the *_env variable names, for error messages

    def tier_of(self, priority_name: str) -> str | None:
        """The tier whose PSA priority is ``priority_name`` (case-insensitive), if any."""
        return tier_of(self.priority_map, priority_name)


def _str_map(name: str, key: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"connectors.{name}.{key}", "expected a mapping")
    return {str(k): str(v) for k, v in value.items()}


def _duration(
    name: str, key: str, value: Any, default: timedelta | None, allow_off: bool = False
) -> timedelta | None:
    if value is None:
        return default
    if allow_off and str(value).strip().lower() in ("0", "off", "never", "false"):
        return None
    try:
        parsed = parse_duration(str(value), allow_business_days=False)
    except ValueError as exc:
        raise ConfigError(f"connectors.{name}.{key}", str(exc)) from None
    assert isinstance(parsed, timedelta)
    return parsed


def _secret(name: str, settings: Mapping[str, Any], key: str, environ: Mapping[str, str]) -> str:
    variable = settings.get(key)
    if not variable or not isinstance(variable, str):
        raise ConfigError(f"connectors.{name}.{key}", "name the environment variable to read")
    return secret(name, settings, key, environ)[1]


def _int(name: str, key: str, value: Any, default: int, *, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"connectors.{name}.{key}", f"expected an integer {low}..{high}")
    return value


def parse_settings(
    name: str, settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> CwSettings:
    """Validate the raw config mapping; secrets come from the named environment variables."""
    env = os.environ if environ is None else environ
    base_url = settings.get("base_url")
    if not base_url:
        raise ConfigError(
            f"connectors.{name}.base_url",
            "required, e.g. https://api-na.myconnectwise.net/v4_6_release/apis/3.0",
        )
    company_id = settings.get("company_id")
    if not company_id or not isinstance(company_id, str):
        raise ConfigError(f"connectors.{name}.company_id", "required (your PSA login company)")
    boards = settings.get("boards") or ()
    if isinstance(boards, str) or not isinstance(boards, Sequence):
        raise ConfigError(f"connectors.{name}.boards", "expected a list of board names")
    first = settings.get("first_response", "both")
    if first not in ("notes", "date_responded", "both"):
        raise ConfigError(
            f"connectors.{name}.first_response", "expected one of: notes, date_responded, both"
        )
    automation = settings.get("automation_members") or ()
    if isinstance(automation, str) or not isinstance(automation, Sequence):
        raise ConfigError(f"connectors.{name}.automation_members", "expected a list")
    count_time = settings.get("count_time_entries", True)
    if not isinstance(count_time, bool):
        raise ConfigError(f"connectors.{name}.count_time_entries", "expected true or false")
    api_member = settings.get("api_member")
    if api_member is not None and (not isinstance(api_member, str) or not api_member.strip()):
        raise ConfigError(f"connectors.{name}.api_member", "expected a member identifier")
    overlap = _duration(name, "overlap", settings.get("overlap"), timedelta(minutes=2))
    lookback = _duration(
        name, "full_read_lookback", settings.get("full_read_lookback"), timedelta(days=7)
    )
    assert overlap is not None and lookback is not None
    return CwSettings(
        name=name,
        base_url=str(base_url),
        company_id=company_id,
        public_key=_secret(name, settings, "public_key_env", env),
        private_key=_secret(name, settings, "private_key_env", env),
        client_id=_secret(name, settings, "client_id_env", env),
        api_version=str(settings.get("api_version") or DEFAULT_API_VERSION),
        boards=tuple(str(b) for b in boards),
        priority_map=_str_map(name, "priority_map", settings.get("priority_map")),
        client_map=_str_map(name, "client_map", settings.get("client_map")),
        users=_str_map(name, "users", settings.get("users")),
        channel_map={
            k.casefold(): v
            for k, v in _str_map(name, "channel_map", settings.get("channel_map")).items()
        },
        automation_members=frozenset(str(m).casefold() for m in automation),
        api_member=api_member.strip() if api_member else None,
        count_time_entries=count_time,
        first_response=first,
        requests_per_minute=_int(
            name,
            "requests_per_minute",
            settings.get("requests_per_minute"),
            120,
            low=1,
            high=10_000,
        ),
        page_size=_int(
            name, "page_size", settings.get("page_size"), 100, low=1, high=MAX_PAGE_SIZE
        ),
        overlap=overlap,
        reconcile_interval=_duration(
            name,
            "reconcile_interval",
            settings.get("reconcile_interval"),
            timedelta(hours=24),
            allow_off=True,
        ),
        full_read_lookback=lookback,
        key_vars=tuple(
            str(settings[k]) for k in ("public_key_env", "private_key_env", "client_id_env")
        ),
    )


def auth_headers(settings: CwSettings) -> dict[str, str]:
    """The integration's clientId and a pinned version (the keys are ``credentials``)."""
    return {
        "clientId": settings.client_id,
        "Accept": f"application/vnd.connectwise.com+json; version={settings.api_version}",
    }


def credentials(settings: CwSettings) -> StaticCredentials:
    """Basic ``{company}+{public}:{private}`` of the API member (psa-apis.md section 1.1)."""
    header = basic_header(f"{settings.company_id}+{settings.public_key}", settings.private_key)
    return StaticCredentials(
        {"Authorization": header},
        method="api_member_keys",
        label=(
            f"API member keys of company {settings.company_id} "
            f"(public key ...{settings.public_key[-4:]})"
        ),
    )
