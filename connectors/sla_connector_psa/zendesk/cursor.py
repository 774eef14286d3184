"""The Zendesk poll cursor: where the ticket export and the ticket event stream resume.

The cursor the runtime persists is opaque to it: ``zd1:`` plus compact JSON with the export's
``after_cursor`` (or the ``start_time`` of a full read that has not got one yet) and the
``start_time`` of the event stream, plus the ids of tickets whose history failed and must be
read again (``r``), so a ticket the export has moved past is never forgotten.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace

__all__ = ["ZendeskCursor", "decode_cursor", "encode_cursor"]

_PREFIX = "zd1:"


@dataclass(frozen=True, slots=True)
class ZendeskCursor:
    """Where the next poll resumes: the ticket export and the ticket event stream."""

    events: int  # start_time (Unix seconds) of the next ticket event read
    export: str | None = None  # after_cursor of the cursor-based ticket export
    start_time: int | None = None  # export start_time while no after_cursor is known
    retry: tuple[int, ...] = ()  # tickets whose history failed: read them again

    def with_retry(self, ids: Iterable[int]) -> ZendeskCursor:
        return replace(self, retry=tuple(sorted(set(ids))))


def encode_cursor(cursor: ZendeskCursor) -> str:
    """The opaque string the runtime stores."""
    data: dict[str, object] = {"e": cursor.events}
    if cursor.export is not None:
        data["c"] = cursor.export
    if cursor.start_time is not None:
        data["s"] = cursor.start_time
    if cursor.retry:
        data["r"] = list(cursor.retry)
    return _PREFIX + json.dumps(data, separators=(",", ":"), sort_keys=True)


def decode_cursor(text: str) -> ZendeskCursor:
    """Parse a cursor made by ``encode_cursor``; anything else raises ``ValueError``."""
    if not text.startswith(_PREFIX):
        raise ValueError(f"not a Zendesk cursor: {text[:40]!r}")
    try:
        data = json.loads(text[len(_PREFIX) :])
    except ValueError:
        raise ValueError(f"not a Zendesk cursor: {text[:40]!r}") from None
    if not isinstance(data, dict):
        raise ValueError(f"not a Zendesk cursor: {text[:40]!r}")
    events = data.get("e")
    export = data.get("c")
    start = data.get("s")
    if isinstance(events, bool) or not isinstance(events, int):
        raise ValueError("Zendesk cursor without an event stream position")
    if export is not None and not isinstance(export, str):
        raise ValueError("Zendesk cursor with a malformed export cursor")
    if start is not None and (isinstance(start, bool) or not isinstance(start, int)):
        raise ValueError("Zendesk cursor with a malformed start_time")
    if export is None and start is None:
        raise ValueError("Zendesk cursor without an export position")
    retry = data.get("r") or []
    if not isinstance(retry, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in retry
    ):
        raise ValueError("Zendesk cursor with a malformed retry list")
    return ZendeskCursor(events=events, export=export, start_time=start, retry=tuple(retry))
