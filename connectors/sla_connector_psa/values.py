"""Reading values out of a PSA's JSON: aware times, integer ids, priorities mapped to tiers.

Each vendor writes times its own way (ConnectWise ``2026-11-02T09:14:00Z``, Jira
``2026-11-02T09:14:00.000+0000``) but every connector needs the same rule: an ISO 8601 time
with a UTC offset, never a guessed zone (SEMANTICS S24), and a message naming the field.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sla_connector.core.errors import TicketError

__all__ = ["UnmappedReporter", "aware_time", "optional_int", "tier_of"]

log = logging.getLogger("sla_connector_psa.http")


def aware_time(value: Any, what: str, form: str = "an ISO 8601 time") -> datetime:
    """``value`` as an aware datetime; missing, malformed or naive raises ``TicketError``."""
    if not isinstance(value, str) or not value:
        raise TicketError(f"{what}: missing")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise TicketError(f"{what}: {value!r} is not {form}") from None
    if parsed.utcoffset() is None:
        raise TicketError(f"{what}: {value!r} has no UTC offset")
    return parsed


def optional_int(value: Any) -> int | None:
    """An integer id given as a number or a string of digits; anything else is None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def tier_of(priority_map: Mapping[str, str], priority_name: str) -> str | None:
    """The tier whose PSA priority (``priority_map``: tier -> name) is ``priority_name``,
    compared case-insensitively; None when no tier maps to it."""
    wanted = priority_name.casefold()
    for tier, name in priority_map.items():
        if name.casefold() == wanted:
            return tier
    return None


class UnmappedReporter:
    """Logs an unmapped PSA value once per (kind, value), not once per ticket."""

    def __init__(self, name: str, logger: logging.Logger | None = None) -> None:
        self.name = name
        self.seen: set[tuple[str, str]] = set()
        self._log = logger or log

    def report(self, kind: str, value: str) -> None:
        """Warn the first time ``value`` of ``kind`` turns up without a mapping."""
        key = (kind, value)
        if key in self.seen:
            return
        self.seen.add(key)
        self._log.warning("unmapped %s %s in connector %s", kind, value, self.name)
