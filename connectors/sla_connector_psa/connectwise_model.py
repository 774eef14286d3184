"""ConnectWise PSA: settings, the poll cursor and the pure mapping from API JSON to events.

Everything here is free of I/O so it can be tested on plain dicts: reading the connector's
config mapping, the condition strings of ``GET /service/tickets``, the opaque cursor, parsing
the audit trail's free text into status / priority / owner changes (the spec gives only
``text``; the wording is matched leniently, see ``parse_audit``) and classifying service notes
into agent replies, customer replies and internal comments.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sla_connector.core.durations import parse_duration
from sla_connector.core.errors import ConfigError, TicketError
from sla_connector.core.ticket import Event, format_instant
from sla_connector_psa.options import secret

__all__ = [
    "Change",
    "Cursor",
    "CwSettings",
    "Row",
    "auth_headers",
    "channel_of",
    "classify_notes",
    "cw_time",
    "parse_audit",
    "parse_row",
    "parse_settings",
    "quote",
    "when",
]

FirstResponse = Literal["notes", "date_responded", "both"]
DEFAULT_API_VERSION = "2026.4"
MAX_PAGE_SIZE = 1000
INITIAL_NOTE_WINDOW = timedelta(minutes=2)
_CHANNELS = {
    "email": "email",
    "e-mail": "email",
    "phone": "phone",
    "call": "phone",
    "portal": "portal",
    "web": "portal",
    "chat": "chat",
    "teams": "chat",
    "monitoring": "monitoring",
    "rmm": "monitoring",
    "alert": "monitoring",
    "api": "api",
    "automate": "monitoring",
}


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
    first_response: FirstResponse = "both"
    requests_per_minute: int = 120
    page_size: int = 100
    overlap: timedelta = timedelta(minutes=2)
    reconcile_interval: timedelta | None = timedelta(hours=24)
    full_read_lookback: timedelta = timedelta(days=7)
    key_vars: tuple[str, ...] = ()  # the *_env variable names, for error messages

    def tier_of(self, priority_name: str) -> str | None:
        """The tier whose PSA priority is ``priority_name`` (case-insensitive), if any."""
        folded = priority_name.casefold()
        for tier, name in self.priority_map.items():
            if name.casefold() == folded:
                return tier
        return None


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
    """Basic ``{company}+{public}:{private}``, the integration's clientId, a pinned version."""
    token = f"{settings.company_id}+{settings.public_key}:{settings.private_key}"
    return {
        "Authorization": "Basic " + base64.b64encode(token.encode()).decode("ascii"),
        "clientId": settings.client_id,
        "Accept": f"application/vnd.connectwise.com+json; version={settings.api_version}",
    }


# -- times, conditions, cursor -------------------------------------------------------------


def cw_time(value: Any, what: str) -> datetime:
    """A ConnectWise timestamp (ISO 8601 UTC with ``Z``); anything else raises TicketError."""
    if not isinstance(value, str) or not value:
        raise TicketError(f"{what}: missing")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise TicketError(f"{what}: {value!r} is not an ISO 8601 time") from None
    if parsed.utcoffset() is None:
        raise TicketError(f"{what}: {value!r} has no UTC offset")
    return parsed


def when(instant: datetime) -> str:
    """A condition date literal: dates go in square brackets, second precision, UTC."""
    return f"[{format_instant(instant.replace(microsecond=0))}]"


def quote(text: str) -> str:
    """A condition string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(slots=True)
class Cursor:
    """Poll position: newest ``_info.lastUpdated`` seen, the rows at that edge, retries."""

    since: datetime | None = None
    seen: dict[str, str] = field(default_factory=dict)  # id -> lastUpdated inside overlap
    full_at: datetime | None = None
    retry: dict[str, int] = field(default_factory=dict)  # id -> failed attempts

    def encode(self) -> str:
        data: dict[str, Any] = {"v": 1}
        if self.since is not None:
            data["since"] = format_instant(self.since)
        if self.full_at is not None:
            data["full_at"] = format_instant(self.full_at)
        if self.seen:
            data["seen"] = dict(sorted(self.seen.items()))
        if self.retry:
            data["retry"] = dict(sorted(self.retry.items()))
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse a cursor this module wrote; raise ValueError for anything else."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != 1:
            raise ValueError("not a ConnectWise cursor (version 1)")
        since = data.get("since")
        full_at = data.get("full_at")
        seen = data.get("seen") or {}
        retry = data.get("retry") or {}
        if not isinstance(seen, dict) or not isinstance(retry, dict):
            raise ValueError("malformed cursor")
        return cls(
            since=cw_time(since, "cursor.since") if since else None,
            seen={str(k): str(v) for k, v in seen.items()},
            full_at=cw_time(full_at, "cursor.full_at") if full_at else None,
            retry={str(k): int(v) for k, v in retry.items()},
        )


# -- ticket rows ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """The fields of one ``Ticket`` the adapter uses, validated."""

    id: str
    created_at: datetime
    last_updated: str
    summary: str
    status: str
    priority: str
    owner: str
    company: str
    source: str
    board: str
    date_responded: datetime | None
    closed: bool
    raw: Mapping[str, Any]


def _ref(raw: Mapping[str, Any], key: str, attr: str, where: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, Mapping):
        raise TicketError(f"{where}: {key}: expected an object")
    text = value.get(attr)
    return "" if text is None else str(text)


def parse_row(raw: Any) -> Row:
    """Validate one element of a ``GET /service/tickets`` page; TicketError names the gap."""
    if not isinstance(raw, Mapping):
        raise TicketError(f"expected a ticket object, got {type(raw).__name__}")
    ticket_id = raw.get("id")
    if isinstance(ticket_id, bool) or not isinstance(ticket_id, int):
        raise TicketError(f"id: missing or not an integer ({ticket_id!r})")
    where = f"ticket {ticket_id}"
    info = raw.get("_info")
    if not isinstance(info, Mapping):
        raise TicketError(f"{where}: _info: missing (needed for dateEntered and lastUpdated)")
    created = cw_time(info.get("dateEntered"), f"{where}: _info.dateEntered")
    last_updated = info.get("lastUpdated")
    cw_time(last_updated, f"{where}: _info.lastUpdated")
    company = _ref(raw, "company", "identifier", where)
    if not company:
        raise TicketError(f"{where}: company.identifier: missing")
    responded = raw.get("dateResponded")
    return Row(
        id=str(ticket_id),
        created_at=created,
        last_updated=str(last_updated),
        summary=str(raw.get("summary") or ""),
        status=_ref(raw, "status", "name", where),
        priority=_ref(raw, "priority", "name", where),
        owner=_ref(raw, "owner", "identifier", where),
        company=company,
        source=_ref(raw, "source", "name", where),
        board=_ref(raw, "board", "name", where),
        date_responded=cw_time(responded, f"{where}: dateResponded") if responded else None,
        closed=bool(raw.get("closedFlag")),
        raw=raw,
    )


def channel_of(source: str, channel_map: Mapping[str, str]) -> str:
    """The canonical channel for a ticket source name (config first, then common names)."""
    folded = source.casefold().strip()
    if folded in channel_map:
        return channel_map[folded]
    if folded in _CHANNELS:
        return _CHANNELS[folded]
    for word, channel in _CHANNELS.items():
        if word in folded:
            return channel
    return folded


# -- audit trail ---------------------------------------------------------------------------

ChangeField = Literal["status", "priority", "owner"]


@dataclass(frozen=True, slots=True)
class Change:
    """One field change read from the audit trail."""

    at: datetime
    field: ChangeField
    old: str | None
    new: str
    by: str


_FIELD_WORD = re.compile(r"^\W*(?:ticket\s+)?(?P<field>status|priority|owner)\b", re.IGNORECASE)
_QUOTED = re.compile(
    r"""\b(?:changed|updated|set|modified)\b.*?(?:\bfrom\s+(?P<q>["'])(?P<old>.*?)(?P=q)\s+)?"""
    r"""\bto\s+(?P<q2>["'])(?P<new>.*?)(?P=q2)""",
    re.IGNORECASE | re.DOTALL,
)
_BARE = re.compile(
    r"\b(?:changed|updated|set|modified)\b.*?(?:\bfrom\s+(?P<old>.+?)\s+)?\bto\s+(?P<new>.+?)"
    r"\s*\.?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_SUBTYPES: dict[str, ChangeField] = {"status": "status", "priority": "priority", "owner": "owner"}


def _change_field(entry: Mapping[str, Any], text: str) -> ChangeField | None:
    match = _FIELD_WORD.match(text)
    if match:
        word = match.group("field").lower()
        return _SUBTYPES[word]
    subtype = str(entry.get("auditSubType") or "").strip().lower()
    return _SUBTYPES.get(subtype)


def parse_audit(entries: Any, where: str) -> tuple[list[Change], list[str]]:
    """Status, priority and owner changes in time order, plus reasons for skipped entries.

    The spec models an entry as free ``text`` plus ``enteredDate``/``enteredBy``; ConnectWise
    writes changes as e.g. ``Status changed from "New" to "In Progress"``. Quoted values are
    preferred (names may contain " to "); unquoted text is split at the first " to " after
    "from".
    """
    if not isinstance(entries, list):
        raise TicketError(f"{where}: audit trail: expected a list")
    changes: list[Change] = []
    skipped: list[str] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            skipped.append(f"{where}: audit[{index}]: not an object")
            continue
        text = str(entry.get("text") or "").strip()
        kind = _change_field(entry, text)
        if kind is None:
            continue
        match = _QUOTED.search(text) or _BARE.search(text)
        if match is None:
            continue
        try:
            at = cw_time(entry.get("enteredDate"), f"{where}: audit[{index}].enteredDate")
        except TicketError as exc:
            skipped.append(str(exc))
            continue
        old = match.group("old")
        changes.append(
            Change(
                at=at,
                field=kind,
                old=old.strip() if old else None,
                new=match.group("new").strip(),
                by=str(entry.get("enteredBy") or ""),
            )
        )
    changes.sort(key=lambda change: change.at)
    return changes, skipped


# -- service notes -------------------------------------------------------------------------


def classify_notes(
    notes: Any, created_at: datetime, automation: frozenset[str], marker: str, where: str
) -> tuple[list[Event], list[str]]:
    """Replies and comments from ``ServiceNote`` objects.

    Discussion (``detailDescriptionFlag``) and resolution notes are visible to the customer:
    by a ``member`` they are agent replies, by a ``contact`` customer replies. Internal notes
    (``internalAnalysisFlag``) are comments. Not replies: the first discussion note written
    within ``INITIAL_NOTE_WINDOW`` of creation (the ticket's initial description), notes by
    ``automation`` members (automatic acknowledgements, SEMANTICS S07) and notes carrying our
    own ``marker``.
    """
    if not isinstance(notes, list):
        raise TicketError(f"{where}: notes: expected a list")
    events: list[Event] = []
    skipped: list[str] = []
    initial_seen = False
    dated: list[tuple[datetime, int, Mapping[str, Any]]] = []
    for index, note in enumerate(notes):
        if not isinstance(note, Mapping):
            skipped.append(f"{where}: notes[{index}]: not an object")
            continue
        try:
            at = cw_time(
                note.get("dateCreated") or (note.get("_info") or {}).get("dateEntered"),
                f"{where}: notes[{index}].dateCreated",
            )
        except TicketError as exc:
            skipped.append(str(exc))
            continue
        dated.append((at, index, note))
    dated.sort(key=lambda item: (item[0], item[1]))
    for at, _, note in dated:
        public = bool(note.get("detailDescriptionFlag")) or bool(note.get("resolutionFlag"))
        member = note.get("member") if isinstance(note.get("member"), Mapping) else None
        contact = note.get("contact") if isinstance(note.get("contact"), Mapping) else None
        author = str((member or {}).get("identifier") or note.get("createdBy") or "")
        text = str(note.get("text") or "")
        if note.get("detailDescriptionFlag") and not initial_seen:
            initial_seen = True
            if at - created_at <= INITIAL_NOTE_WINDOW:
                continue  # the initial description, not a reply
        if not public:
            events.append(Event(at=at, type="comment", by=author or None))
        elif contact is not None and member is None:
            events.append(Event(at=at, type="public_reply", by="customer"))
        elif member is not None and author.casefold() not in automation and marker not in text:
            events.append(Event(at=at, type="public_reply", by="agent"))
        else:
            events.append(Event(at=at, type="comment", by=author or None))
    return events, skipped
