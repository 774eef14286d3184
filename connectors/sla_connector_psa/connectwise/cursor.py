"""The ConnectWise poll cursor and the condition literals of ``GET /service/tickets``.

The cursor holds the newest ``_info.lastUpdated`` seen (server time), the ids at that edge
(re-read within an ``overlap`` window and de-duplicated on ``(id, lastUpdated)``), the time
of the last full read and the ids whose history read failed. It is opaque to the runtime:
compact JSON with a version. Pure, so the bookkeeping is tested without HTTP.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sla_connector.core.ticket import format_instant
from sla_connector_psa.connectwise.normalize import cw_time

__all__ = ["Cursor", "quote", "when"]


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
