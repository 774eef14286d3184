"""The Jira poll cursor and the JQL it turns into: an overlapping window plus de-duplication.

JQL compares ``updated`` at minute precision, in the API user's profile time zone, and the
enhanced search is eventually consistent. So each poll asks again from a minute-aligned
instant ``overlap`` before the newest ``updated`` seen, and skips the issue versions it has
already delivered: the cursor remembers every ``(key, updated)`` pair at or after that
instant. Nothing is missed (the window overlaps) and nothing is counted twice (the pairs).
Pure functions on plain values, so the bookkeeping is tested without HTTP.

A project the search refused (an archived or unknown project makes Jira answer 400 for the
whole query) is searched on its own from then on: ``lagging`` keeps, per such project, the
instant its own window starts (``None``: it still needs its full read), until a search of it
succeeds and it rejoins the others.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo

__all__ = ["JqlCursor", "jql_quote", "jql_wall_time", "poll_jql"]

_VERSION = 1


@dataclass(frozen=True, slots=True)
class JqlCursor:
    """Newest ``updated`` delivered, and the versions delivered inside the overlap window."""

    updated: datetime | None = None
    seen: frozenset[tuple[str, datetime]] = frozenset()
    lagging: Mapping[str, datetime | None] = field(default_factory=dict)

    def lag(self, projects: Iterable[str], start: datetime | None) -> JqlCursor:
        """Projects that must be searched on their own from ``start`` (None: full read)."""
        lagging = dict(self.lagging)
        for project in projects:
            lagging.setdefault(project, start)
        return replace(self, lagging=lagging)

    def caught_up(self, project: str) -> JqlCursor:
        return replace(self, lagging={k: v for k, v in self.lagging.items() if k != project})

    def window_start(self, overlap: timedelta) -> datetime | None:
        """The instant the next poll asks from: minute-aligned, ``overlap`` earlier."""
        if self.updated is None:
            return None
        floored = self.updated.astimezone(UTC).replace(second=0, microsecond=0)
        return floored - overlap

    def delivered(self, key: str, updated: datetime) -> bool:
        """Whether this version of the issue was already handed out."""
        return (key, updated.astimezone(UTC)) in self.seen

    def advance(self, versions: Iterable[tuple[str, datetime]], overlap: timedelta) -> JqlCursor:
        """The cursor after delivering ``versions``; prunes pairs the next window excludes."""
        seen = set(self.seen)
        newest = self.updated
        for key, updated in versions:
            instant = updated.astimezone(UTC)
            seen.add((key, instant))
            if newest is None or instant > newest:
                newest = instant
        moved = JqlCursor(newest, frozenset())
        start = moved.window_start(overlap)
        kept = frozenset(pair for pair in seen if start is None or pair[1] >= start)
        return JqlCursor(newest, kept, self.lagging)

    def encode(self) -> str:
        """The opaque string the runtime persists."""
        data: dict[str, object] = {
            "v": _VERSION,
            "updated": None if self.updated is None else self.updated.isoformat(),
            "seen": sorted([key, instant.isoformat()] for key, instant in self.seen),
        }
        if self.lagging:
            data["lag"] = {
                k: None if v is None else v.isoformat() for k, v in sorted(self.lagging.items())
            }
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> JqlCursor:
        """Inverse of ``encode``; raises ``ValueError`` on anything else."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != _VERSION:
            raise ValueError("not a jira_sm cursor")
        updated_raw = data.get("updated")
        updated = None if updated_raw is None else _aware(str(updated_raw))
        seen_raw = data.get("seen") or []
        if not isinstance(seen_raw, list):
            raise ValueError("cursor 'seen' is not a list")
        seen = frozenset((str(key), _aware(str(instant))) for key, instant in seen_raw)
        lag_raw = data.get("lag") or {}
        if not isinstance(lag_raw, dict):
            raise ValueError("cursor 'lag' is not an object")
        lagging = {str(k): None if v is None else _aware(str(v)) for k, v in lag_raw.items()}
        return cls(updated, seen, lagging)


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"cursor time {text!r} has no offset")
    return value.astimezone(UTC)


def jql_quote(value: str) -> str:
    """A JQL string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def jql_wall_time(instant: datetime, zone: tzinfo) -> str:
    """``yyyy-MM-dd HH:mm`` in ``zone`` that Jira reads as an instant at or before ``instant``.

    In a repeated (fall-back) hour Jira may read the wall time as the later of the two
    instants, which would skip an hour of changes; step back an hour in that case.
    """
    local = instant.astimezone(zone).replace(second=0, microsecond=0)
    naive = local.replace(tzinfo=None)
    readings = [naive.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
    if max(readings) > instant:
        local = (instant - timedelta(hours=1)).astimezone(zone).replace(second=0, microsecond=0)
    return local.strftime("%Y-%m-%d %H:%M")


def poll_jql(
    projects: Iterable[str],
    cursor: JqlCursor | None,
    *,
    zone: tzinfo,
    overlap: timedelta,
    now: datetime,
    full_read_lookback: timedelta,
) -> str:
    """The JQL of one poll: a window after the cursor, or the start-up full read.

    The full read (no cursor yet) takes every issue not in a done status category plus
    everything updated within ``full_read_lookback``: open tickets however old, recently
    resolved ones for the reports, and not years of history.
    """
    scope = "project in (" + ", ".join(jql_quote(p) for p in projects) + ")"
    start = None if cursor is None else cursor.window_start(overlap)
    return window_jql(scope, start, zone=zone, now=now, full_read_lookback=full_read_lookback)


def window_jql(
    scope: str,
    start: datetime | None,
    *,
    zone: tzinfo,
    now: datetime,
    full_read_lookback: timedelta,
) -> str:
    """The JQL for ``scope`` from ``start`` (None: the full read)."""
    if start is None:
        since = jql_wall_time(now - full_read_lookback, zone)
        return (
            f"{scope} AND (statusCategory != Done OR updated >= {jql_quote(since)}) "
            "ORDER BY updated ASC"
        )
    return f"{scope} AND updated >= {jql_quote(jql_wall_time(start, zone))} ORDER BY updated ASC"
