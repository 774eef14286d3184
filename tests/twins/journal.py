"""What a twin saw and did, for tests to read afterwards.

Two kinds of record, both in arrival order and safe to append from the server thread while
a test thread reads:

- ``RequestRecord``: every HTTP request (time, method, path, status the client saw or
  ``None`` when no answer came, the authenticated principal, the injected fault, and the
  ticket ids an export answer delivered);
- ``WriteRecord``: every write the twin applied to its state, one per changed field
  (ticket, kind, value, the ``[sla-connector <key>]`` marker or ``sla-<step>-c<cycle>``
  tag the same update carried, the time it was applied). Writes made through the twin's
  Python methods (the scenario's people) are recorded too, with ``request`` ``None``.

``step_of`` turns a marker or a step tag into the ``StepKey`` a soak compares against its
expected write set.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = [
    "WRITE_KINDS",
    "Journal",
    "RequestRecord",
    "StepKey",
    "WriteRecord",
    "carried_step",
    "step_of",
]

WRITE_KINDS = (
    "tag",
    "tag_removed",
    "private_comment",
    "public_comment",
    "assignee",
    "group",
    "priority",
    "status",
    "custom_status",
)

# The note marker the connector docs define: ``[sla-connector <source>:<ticket>:<step>:<cycle>]``.
MARKER = re.compile(r"\[sla-connector (?P<key>[^\]\s]+)\]")
# The step tag: ``sla-<step>-c<cycle>`` (lower-cased, spaces as ``_``).
STEP_TAG = re.compile(r"^sla-(?P<step>.+)-c(?P<cycle>\d+)$")


@dataclass(frozen=True, slots=True, order=True)
class StepKey:
    """One escalation step of one ticket and resolution cycle."""

    ticket: str
    step: str
    cycle: int = 1

    def __str__(self) -> str:
        return f"{self.ticket}:{self.step}:c{self.cycle}"


def step_of(ticket: str, marker_or_tag: str) -> StepKey | None:
    """The step a marker key (``zd:12:p1-director:1``) or a step tag names, else None."""
    tag = STEP_TAG.match(marker_or_tag)
    if tag:
        return StepKey(ticket, tag["step"], int(tag["cycle"]))
    parts = marker_or_tag.split(":")
    if len(parts) >= 4 and parts[-1].isdigit():
        return StepKey(parts[-3], parts[-2], int(parts[-1]))
    return None


def carried_step(ticket: str, texts: Iterable[str], tags: Iterable[str]) -> tuple[str, str]:
    """The marker (or step tag) an update carries and its canonical key, or ``("", "")``."""
    for text in texts:
        found = MARKER.search(text)
        if found:
            key = step_of(ticket, found["key"])
            return found.group(0), str(key) if key else found["key"]
    for tag in tags:
        key = step_of(ticket, tag)
        if key:
            return tag, str(key)
    return "", ""


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One HTTP request as the twin handled it."""

    seq: int
    at: float
    method: str
    path: str
    query: str
    principal: str
    status: int | None  # None: the client never got an answer (stall, reset)
    fault: str | None
    duration: float
    exposed: tuple[str, ...] = ()  # ticket ids an export answer delivered


@dataclass(frozen=True, slots=True)
class WriteRecord:
    """One field a write changed (or tried to change: ``changed`` False for a no-op)."""

    seq: int
    at: float
    request: int | None  # the RequestRecord.seq, None for the twin's Python methods
    principal: str
    ticket: str
    kind: str
    value: str
    marker: str = ""
    step: str = ""  # str(StepKey) of the marker or tag, "" when the update carried none
    changed: bool = True

    def step_key(self) -> StepKey | None:
        if not self.step:
            return None
        ticket, step, cycle = self.step.rsplit(":", 2)
        return StepKey(ticket, step, int(cycle.removeprefix("c")))


@dataclass
class Journal:
    """The append-only record of one twin's life; every method is thread-safe."""

    _requests: list[RequestRecord] = field(default_factory=list)
    _writes: list[WriteRecord] = field(default_factory=list)
    _pending: dict[int, RequestRecord] = field(default_factory=dict)
    _seq: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self._changed = threading.Condition(self._lock)

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def open_request(self, at: float, method: str, path: str, query: str, principal: str) -> int:
        """Record a request's arrival; returns its sequence number."""
        with self._lock:
            seq = self._next()
            self._pending[seq] = RequestRecord(
                seq, at, method, path, query, principal, None, None, 0.0
            )
            return seq

    def close_request(
        self,
        seq: int,
        *,
        now: float,
        status: int | None,
        fault: str | None,
        principal: str | None = None,
        exposed: Iterable[str] = (),
    ) -> None:
        """Record how a request ended (at most once per request)."""
        with self._changed:
            pending = self._pending.pop(seq, None)
            if pending is None:
                return
            self._requests.append(
                replace(
                    pending,
                    principal=principal or pending.principal,
                    status=status,
                    fault=fault,
                    duration=max(0.0, now - pending.at),
                    exposed=tuple(exposed),
                )
            )
            self._changed.notify_all()

    def record_write(
        self,
        *,
        at: float,
        request: int | None,
        principal: str,
        ticket: str,
        kind: str,
        value: Any,
        marker: str = "",
        step: str = "",
        changed: bool = True,
    ) -> WriteRecord:
        if kind not in WRITE_KINDS:
            raise ValueError(f"unknown write kind {kind!r}")
        text = value if isinstance(value, str) else json.dumps(value)
        with self._changed:
            record = WriteRecord(
                self._next(), at, request, principal, ticket, kind, text, marker, step, changed
            )
            self._writes.append(record)
            self._changed.notify_all()
            return record

    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    def writes(self) -> list[WriteRecord]:
        with self._lock:
            return list(self._writes)

    def api_writes(self) -> list[WriteRecord]:
        """Writes that came in over HTTP (not from the twin's Python methods)."""
        return [w for w in self.writes() if w.request is not None]

    def wait_for(self, predicate: Callable[[_View], bool], timeout: float) -> bool:
        """Block until ``predicate(view)`` is true or ``timeout`` seconds pass."""
        with self._changed:
            return bool(self._changed.wait_for(lambda: predicate(self._unlocked_view()), timeout))

    def _unlocked_view(self) -> _View:
        return _View(self._requests, self._writes)

    def dump(self, path: Path) -> None:
        """Write both record lists as JSON lines (``{"request": ...}`` / ``{"write": ...}``)."""
        with path.open("w") as out:
            for line in self._lines():
                out.write(line + "\n")

    def _lines(self) -> Iterator[str]:
        for request in self.requests():
            yield json.dumps({"request": asdict(request)})
        for write in self.writes():
            yield json.dumps({"write": asdict(write)})


@dataclass(frozen=True)
class _View:
    """What a ``wait_for`` predicate sees (read under the journal's lock)."""

    requests: list[RequestRecord]
    writes: list[WriteRecord]
