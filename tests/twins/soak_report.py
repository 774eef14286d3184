"""What a soak run did, read from the twin's journal against the expected write set.

Definitions (one place for all of them):

- an *update* is one API request whose write changed the ticket (no-op retries, such as
  re-adding a tag already there, do not count); it belongs to the step whose marker or
  ``sla-<step>-c<cycle>`` tag it carries;
- *written*: a step that must be written has at least one update; *missed*: it has none;
- *duplicates*: updates of a step beyond its first that wrote the same field to the same
  value again (a step written in several requests, one field each, is not a duplicate);
- *extra*: updates by the integration for steps that must not be written (notify-only,
  answered, resolved, deleted) or that carry no known step; where a PSA takes a step in
  several requests (ConnectWise: owner PATCH, note, tag note; Jira: edit, comment), an
  update without a marker within ``group_window`` seconds of a marked one on the same
  ticket belongs to that step;
- *early*: a step's first update applied more than 1 s before its due instant;
- *lateness*: first update applied minus due instant, over written steps; also over the
  steps whose ticket the daemon had been shown by an export at least 15 s before due, and
  (with kills) over the steps that fell due while the daemon had been up for 2 s or more.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.twins.journal import Journal
from tests.twins.soak_scenario import ExpectedStep

__all__ = ["SoakReport", "percentile", "render_table"]

EARLY_TOLERANCE = 1.0
VISIBLE_BEFORE = 15.0
UP_FOR = 2.0


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` 0.5 for p50, 0.99 for p99); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass
class SoakReport:
    name: str
    must_write: int
    notify_only: int
    must_not_fire: int
    written: int
    missed: list[ExpectedStep]
    duplicates: int
    extra: list[str]
    early: list[str]
    lateness: list[float]
    lateness_visible: list[float]
    lateness_up: list[float]
    lateness_up_visible: list[float] = field(default_factory=list)  # both of the above
    kills: int = 0
    kills_in_flight: int = 0
    fault_rate: float = 0.0
    faults: dict[str, int] = field(default_factory=dict)
    vendor_429: int = 0
    requests: int = 0
    starts: int = 0
    notes: list[str] = field(default_factory=list)
    late_by_step: dict[str, float] = field(default_factory=dict)  # key -> first update - due

    @classmethod
    def build(
        cls,
        name: str,
        journal: Journal,
        expected: Iterable[ExpectedStep],
        *,
        integration: str,
        uptimes: Sequence[tuple[float, float]] = (),
        group_window: float = 0.0,
    ) -> SoakReport:
        expected = list(expected)
        by_key = {f"{e.ticket}:{e.step}:c1": e for e in expected}
        updates: dict[str, dict[int, float]] = defaultdict(dict)  # step -> request -> applied
        marked: dict[str, list[float]] = defaultdict(list)  # ticket -> times of marked writes
        repeats: dict[tuple[str, str, str], set[int]] = defaultdict(set)  # (step, kind, value)
        loose: dict[int, tuple[str, float]] = {}  # request -> (ticket, applied)
        for write in journal.api_writes():
            if write.principal != integration or not write.changed or write.request is None:
                continue
            if write.step:
                updates[write.step].setdefault(write.request, write.at)
                marked[write.ticket].append(write.at)
                repeats[(write.step, write.kind, write.value)].add(write.request)
            else:
                loose.setdefault(write.request, (write.ticket, write.at))
        unkeyed = {
            request
            for request, (ticket, at) in loose.items()
            if not any(abs(at - other) <= group_window for other in marked[ticket])
        }
        first_seen: dict[str, float] = {}
        for request in journal.requests():
            for ticket in request.exposed:
                first_seen.setdefault(ticket, request.at)
        report = cls(
            name,
            must_write=sum(e.must_write for e in expected),
            notify_only=sum(e.reason == "notify_only" for e in expected),
            must_not_fire=sum(not e.must_write and e.reason != "notify_only" for e in expected),
            written=0,
            missed=[],
            duplicates=0,
            extra=[f"request {r}: no step marker" for r in sorted(unkeyed)],
            early=[],
            lateness=[],
            lateness_visible=[],
            lateness_up=[],
        )
        for key, applied in sorted(updates.items()):
            step = by_key.get(key)
            if step is None or not step.must_write:
                why = step.reason if step else "unknown step"
                report.extra.extend(f"{key} ({why})" for _ in applied)
                continue
            report.duplicates += max(
                (
                    len(requests) - 1
                    for (step_key, _, _), requests in repeats.items()
                    if step_key == key
                ),
                default=0,
            )
        for step in expected:
            if not step.must_write:
                continue
            landed = updates.get(f"{step.ticket}:{step.step}:c1")
            if not landed:
                report.missed.append(step)
                continue
            report.written += 1
            late = min(landed.values()) - step.due
            if late < -EARLY_TOLERANCE:
                report.early.append(f"{step.ticket}:{step.step} {late:+.1f}s")
            report.lateness.append(late)
            report.late_by_step[f"{step.ticket}:{step.step}:c1"] = late
            visible = first_seen.get(step.ticket, math.inf) <= step.due - VISIBLE_BEFORE
            up = any(start + UP_FOR <= step.due < end for start, end in uptimes)
            if visible:
                report.lateness_visible.append(late)
            if up:
                report.lateness_up.append(late)
            if visible and up:
                report.lateness_up_visible.append(late)
        return report

    def row(self) -> dict[str, Any]:
        def seconds(values: list[float], share: float) -> str:
            found = percentile(values, share)
            return "-" if found is None else f"{found:.1f} s"

        return {
            "run": self.name,
            "written": f"{self.written}/{self.must_write}",
            "missed": len(self.missed),
            "duplicates": self.duplicates,
            "extra": len(self.extra),
            "early": len(self.early),
            "late p50": seconds(self.lateness, 0.5),
            "late p99": seconds(self.lateness, 0.99),
            "late max": seconds(self.lateness, 1.0),
            "p99 (seen >= 15 s before due)": seconds(self.lateness_visible, 0.99),
            "p99 (daemon up >= 2 s at due)": seconds(self.lateness_up, 0.99),
            "p99 (both)": seconds(self.lateness_up_visible, 0.99),
        }

    def details(self, most: int = 12) -> list[str]:
        lines = [
            f"{self.name}: {self.must_write} steps to write, {self.notify_only} notify-only, "
            f"{self.must_not_fire} that must not fire; {self.starts} daemon starts, "
            f"{self.kills} SIGKILLs ({self.kills_in_flight} while a write was held), "
            f"{self.requests} requests, faults {dict(self.faults) or 'none'}, "
            f"{self.vendor_429} rate-limit 429s from the twin"
        ]
        lines += [f"  missed {m.ticket}:{m.step} ({m.reason})" for m in self.missed[:most]]
        lines += [f"  extra {e}" for e in self.extra[:most]]
        lines += [f"  early {e}" for e in self.early[:most]]
        lines += [f"  note: {n}" for n in self.notes]
        return lines


def render_table(reports: Sequence[SoakReport]) -> str:
    """A Markdown table, one row per run."""
    rows = [r.row() for r in reports]
    if not rows:
        return ""
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    lines += ["| " + " | ".join(str(row[h]) for h in head) + " |" for row in rows]
    return "\n".join(lines)
