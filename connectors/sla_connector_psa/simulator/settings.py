"""Settings of the simulator PSA (``type: simulator``, and its HTTP client ``simulator_http``).

``DECLARATION`` and ``HTTP_DECLARATION`` are the one description of each type's vendor keys
(the configuration reference and ``sla-connector init`` are generated from them);
``SimulatorConfig`` and ``SimulatorHttpSettings`` read a ``connectors.<name>`` mapping.

Keys (all optional except ``type: simulator``, which the runtime consumes):

- ``seed`` (int or string, default 1) and ``tickets_per_day`` (average over a week,
  default 400): with the rest of this mapping they fix the whole ticket stream.
- ``start`` (RFC 3339): the first instant the simulated PSA holds tickets for; default the
  clock's present when the connector is built. Set it when an embedded simulator must
  survive a restart of the daemon with the same tickets.
- ``clients``: company names, either a list or a mapping ``name -> {timezone, weight}``;
  default the keys of ``client_map``, else ``acme``, ``globex``, ``initech``. The ticket's
  ``client`` is ``client_map[name]``, else the name lowercased (reported once).
- ``client_map``: company name -> client key, as for the real connectors.
- ``timezone`` (default Europe/London): the MSP's time zone (agents work Mon-Fri
  08:00-18:00 there) and the default time zone of each client's arrivals.
- ``statuses``: ``{open, responded, paused: [waiting, on_hold], resolved: [solved, closed]}``;
  missing entries fall back on ``responded_statuses`` / ``paused_statuses`` /
  ``resolved_statuses`` and then on open, acknowledged, pending, on-hold, solved, closed.
- ``priority_map`` keys (else ``tiers``, else P1, P2, P3): the tier keys that manual
  priority changes name, most severe first.
- ``agents``: the people tickets get assigned to; ``page_size`` (default 100).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sla_connector.core.errors import ConfigError, FatalConnectorError
from sla_connector.core.plugins import ConnectorSettings, SettingKey, Starter, StarterLine

__all__ = [
    "DECLARATION",
    "DEFAULT_AGENTS",
    "DEFAULT_CLIENTS",
    "DEFAULT_TIERS",
    "DEFAULT_TIMEZONE",
    "HTTP_DECLARATION",
    "MAX_TICKETS_PER_DAY",
    "SimClient",
    "SimStatuses",
    "SimulatorConfig",
    "SimulatorHttpSettings",
]

_log = logging.getLogger(__name__)

DEFAULT_CLIENTS = ("acme", "globex", "initech")
DEFAULT_TIERS = ("P1", "P2", "P3")
DEFAULT_TIMEZONE = "Europe/London"
DEFAULT_AGENTS = (
    "kim@msp.example",
    "lee@msp.example",
    "pat@msp.example",
    "sam@msp.example",
    "jo@msp.example",
)
_DEFAULT_ZONE = ZoneInfo(DEFAULT_TIMEZONE)
# Ticket ids number the tickets of one UTC day below this bound (see ``state``).
MAX_TICKETS_PER_DAY = 20_000

DECLARATION = ConnectorSettings(
    type="simulator",
    page="simulator",
    keys=(
        SettingKey(
            "seed",
            "whole number or text",
            "`1`",
            "With the other keys, fixes the whole ticket stream.",
            "7",
        ),
        SettingKey(
            "tickets_per_day",
            f"number (≤ {MAX_TICKETS_PER_DAY})",
            "`400`",
            "Average arrivals per day over a week.",
            "400",
        ),
        SettingKey(
            "start",
            "RFC 3339 time",
            "the clock's present",
            "First instant the PSA holds tickets for; set it to keep tickets across restarts.",
            '"2026-11-02T00:00:00Z"',
        ),
        SettingKey(
            "clients",
            "list, or mapping: company → {timezone, weight}",
            "`client_map` keys, else acme, globex, initech",
            "Simulated companies.",
            "{ACME: {timezone: America/New_York, weight: 3}}",
        ),
        SettingKey(
            "timezone",
            "IANA time zone",
            f"`{DEFAULT_TIMEZONE}`",
            "The MSP's zone (agents work Mon-Fri 08:00-18:00) and the default zone of arrivals.",
            DEFAULT_TIMEZONE,
        ),
        SettingKey(
            "statuses",
            "mapping: open, responded, paused, resolved",
            "open, acknowledged, [pending, on-hold], [solved, closed]",
            "Status names the PSA uses; missing ones fall back on the `*_statuses` keys.",
            "{paused: [waiting, on_hold]}",
        ),
        SettingKey(
            "tiers",
            "list of text",
            "`priority_map` keys, else P1, P2, P3",
            "Tiers manual priority changes name, most severe first.",
            "[P1, P2, P3]",
        ),
        SettingKey(
            "agents",
            "list of text",
            "five `@msp.example` people",
            "Who tickets get assigned to.",
            "[kim@msp.example]",
        ),
        SettingKey("page_size", "whole number", "`100`", "Tickets per poll page.", "100"),
    ),
    starter=Starter(
        entry="sim",
        type_comment="the embedded PSA: no account, no network",
        lines=(
            StarterLine("seed", "7"),
            StarterLine("tickets_per_day", "400"),
            StarterLine("responded_statuses", "[acknowledged]"),
            StarterLine("paused_statuses", "[pending, on-hold]"),
            StarterLine("resolved_statuses", "[solved, closed]"),
        ),
    ),
)

# The HTTP twin reads the same entry: the server (``simulator.server --config``) builds its
# ticket stream from the simulator's keys, so they are valid here too.
HTTP_DECLARATION = ConnectorSettings(
    type="simulator_http",
    page="simulator",
    keys=(
        *(key for key in DECLARATION.keys if key.key != "page_size"),
        SettingKey("timeout", "number (seconds)", "`10`", "Read timeout.", "10"),
        SettingKey("connect_timeout", "number (seconds)", "`5`", "Connect timeout.", "5"),
        SettingKey("max_attempts", "whole number", "`5`", "Attempts per request.", "5"),
        SettingKey("page_size", "whole number", "`100`", "Tickets per bulk read.", "100"),
    ),
)


@dataclass(frozen=True, slots=True)
class SimClient:
    """One simulated customer company: its PSA name, client key, time zone and volume share."""

    company: str
    key: str
    timezone: ZoneInfo
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class SimStatuses:
    """The status names the simulated PSA uses; a policy lists them in its status sets."""

    open: str = "open"
    responded: str = "acknowledged"
    pending: str = "pending"
    on_hold: str = "on-hold"
    solved: str = "solved"
    closed: str = "closed"

    @property
    def responded_statuses(self) -> tuple[str, ...]:
        return (self.responded,)

    @property
    def paused_statuses(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.pending, self.on_hold)))

    @property
    def resolved_statuses(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.solved, self.closed)))


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Everything the generated stream depends on besides virtual time."""

    source: str
    start: datetime
    seed: int | str = 1
    tickets_per_day: float = 400.0
    clients: tuple[SimClient, ...] = ()
    statuses: SimStatuses = SimStatuses()
    tiers: tuple[str, ...] = DEFAULT_TIERS
    agents: tuple[str, ...] = DEFAULT_AGENTS
    timezone: ZoneInfo = _DEFAULT_ZONE
    page_size: int = 100

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ConfigError(f"connectors.{self.source}.start", "needs a UTC offset")
        if not self.clients:
            raise ConfigError(f"connectors.{self.source}.clients", "at least one client is needed")

    @property
    def start_ts(self) -> int:
        """The start as whole UTC seconds (tickets are created at whole seconds)."""
        return math.floor(self.start.timestamp())

    @classmethod
    def from_settings(
        cls, name: str, settings: Mapping[str, Any], default_start: datetime
    ) -> SimulatorConfig:
        """Validate the raw mapping; a bad value raises ``ConfigError`` naming its key."""
        base = f"connectors.{name}"
        timezone = _zone(settings.get("timezone", DEFAULT_TIMEZONE), f"{base}.timezone")
        client_map = _str_mapping(settings.get("client_map") or {}, f"{base}.client_map")
        return cls(
            source=name,
            start=_start(settings.get("start"), default_start, f"{base}.start"),
            seed=_seed(settings.get("seed", 1), f"{base}.seed"),
            tickets_per_day=_rate(settings.get("tickets_per_day", 400), f"{base}.tickets_per_day"),
            clients=_clients(settings.get("clients"), client_map, timezone, name),
            statuses=_statuses(settings, base),
            tiers=_tiers(settings, base),
            agents=_names(settings.get("agents", DEFAULT_AGENTS), f"{base}.agents"),
            timezone=timezone,
            page_size=_positive_int(settings.get("page_size", 100), f"{base}.page_size"),
        )


def _zone(value: Any, path: str) -> ZoneInfo:
    if not isinstance(value, str) or not value:
        raise ConfigError(path, "expected an IANA time zone name such as Europe/London")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(path, f"unknown time zone {value!r}") from None


def _start(value: Any, default: datetime, path: str) -> datetime:
    if value is None:
        return default
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ConfigError(path, f"{value!r} is not an RFC 3339 time") from None
    if not isinstance(value, datetime):
        raise ConfigError(path, "expected an RFC 3339 time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ConfigError(path, f"{value.isoformat()} has no UTC offset")
    return value


def _seed(value: Any, path: str) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(path, "expected an integer or a string")
    return value


def _rate(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(path, "expected a number")
    if not 0 < value <= MAX_TICKETS_PER_DAY:
        raise ConfigError(path, f"must be above 0 and at most {MAX_TICKETS_PER_DAY}")
    return float(value)


def _positive_int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(path, "expected a positive integer")
    return value


def _names(value: Any, path: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not value:
        raise ConfigError(path, "expected a non-empty list of names")
    if not all(isinstance(item, str) and item for item in value):
        raise ConfigError(path, "every entry must be a non-empty string")
    return tuple(value)


def _str_mapping(value: Any, path: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigError(path, "expected a mapping")
    result: dict[str, str] = {}
    for key, target in value.items():
        if not isinstance(target, str) or not target:
            raise ConfigError(f"{path}.{key}", "expected a client key")
        result[str(key)] = target
    return result


def _clients(
    value: Any, client_map: Mapping[str, str], timezone: ZoneInfo, name: str
) -> tuple[SimClient, ...]:
    path = f"connectors.{name}.clients"
    if value is None:
        value = list(client_map) or list(DEFAULT_CLIENTS)
    entries: list[tuple[str, Any]]
    if isinstance(value, Mapping):
        entries = [(str(key), spec) for key, spec in value.items()]
    elif isinstance(value, Sequence) and not isinstance(value, str):
        entries = [(item, None) for item in _names(value, path)]
    else:
        raise ConfigError(path, "expected a list of company names or a mapping of them")
    clients: list[SimClient] = []
    for company, raw_spec in entries:
        where = f"{path}.{company}"
        spec = raw_spec or {}
        if not isinstance(spec, Mapping):
            raise ConfigError(where, "expected a mapping with optional timezone and weight")
        zone = _zone(spec["timezone"], f"{where}.timezone") if "timezone" in spec else timezone
        weight = spec.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            raise ConfigError(f"{where}.weight", "expected a positive number")
        key = client_map.get(company)
        if key is None:
            key = company.lower()
            if client_map:
                _log.warning("unmapped company %s in connector %s", company, name)
        clients.append(SimClient(company=company, key=key, timezone=zone, weight=float(weight)))
    if not clients:
        raise ConfigError(path, "at least one client is needed")
    return tuple(clients)


def _statuses(settings: Mapping[str, Any], base: str) -> SimStatuses:
    raw = settings.get("statuses") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{base}.statuses", "expected a mapping")

    def pick(key: str, fallback_key: str | None, count: int) -> tuple[str, ...] | None:
        value = raw.get(key)
        path = f"{base}.statuses.{key}"
        if value is None and fallback_key is not None:
            # The common status keys default to an empty list: empty means "not given".
            value = settings.get(fallback_key) or None
            path = f"{base}.{fallback_key}"
        if value is None:
            return None
        names = _names(value, path)
        return (names + (names[-1],) * count)[:count]

    defaults = SimStatuses()
    open_names = pick("open", None, 1) or (defaults.open,)
    responded = pick("responded", "responded_statuses", 1) or (defaults.responded,)
    paused = pick("paused", "paused_statuses", 2) or (defaults.pending, defaults.on_hold)
    resolved = pick("resolved", "resolved_statuses", 2) or (defaults.solved, defaults.closed)
    statuses = SimStatuses(
        open=open_names[0],
        responded=responded[0],
        pending=paused[0],
        on_hold=paused[1],
        solved=resolved[0],
        closed=resolved[1],
    )
    special = {statuses.responded, *statuses.paused_statuses, *statuses.resolved_statuses}
    if statuses.open.casefold() in {name.casefold() for name in special}:
        raise ConfigError(f"{base}.statuses.open", "the open status must not be paused/resolved")
    return statuses


def _tiers(settings: Mapping[str, Any], base: str) -> tuple[str, ...]:
    priority_map = settings.get("priority_map")
    if isinstance(priority_map, Mapping) and priority_map:
        return tuple(str(key) for key in priority_map)
    if "tiers" in settings:
        return _names(settings["tiers"], f"{base}.tiers")
    return DEFAULT_TIERS


@dataclass(frozen=True, slots=True)
class SimulatorHttpSettings:
    """The client's knobs, validated from the raw ``connectors.<name>`` mapping."""

    name: str
    base_url: str
    timeout: float = 10.0
    connect_timeout: float = 5.0
    max_attempts: int = 5
    requests_per_minute: int = 6000
    page_size: int = 100

    @classmethod
    def from_settings(cls, name: str, settings: Mapping[str, Any]) -> SimulatorHttpSettings:
        base = f"connectors.{name}"
        url = settings.get("base_url")
        if not isinstance(url, str) or not url:
            raise FatalConnectorError(f"{base}.base_url: the simulator server's URL is required")

        def number(key: str, default: float, *, integer: bool = False) -> Any:
            value = settings.get(key)
            if value is None:
                return default
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise FatalConnectorError(f"{base}.{key}: expected a positive number")
            if integer and not isinstance(value, int):
                raise FatalConnectorError(f"{base}.{key}: expected a positive integer")
            return value

        return cls(
            name=name,
            base_url=url,
            timeout=float(number("timeout", 10.0)),
            connect_timeout=float(number("connect_timeout", 5.0)),
            max_attempts=number("max_attempts", 5, integer=True),
            requests_per_minute=number("requests_per_minute", 6000, integer=True),
            page_size=number("page_size", 100, integer=True),
        )
