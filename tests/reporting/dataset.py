"""A seeded, hand-made dataset whose SLA outcomes are computed here by plain arithmetic.

Every ticket runs on a 24x7 calendar with no pause: an agent reply after ``reply`` minutes
and ``solved`` after ``solve`` minutes (either may not have happened yet at ``now``). So
the expected outcome of each clock needs no business calendar and no core code: met when
it stopped within its target (stopping exactly at the target is met, S01), else breached
at created + target. The reporting tests compare the report against these counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

# tier -> (response minutes, resolution minutes), as in POLICY below.
TARGETS = {"P1": (15, 240), "P2": (60, 480)}
TARGET_ADHERENCE = {"acme": 0.95, "globex": 0.90}

POLICY: dict[str, Any] = {
    "calendars": {"always": {"always_open": True}},
    "tiers": {
        "P1": {"name": "Critical", "severity": 1, "response": "15m", "resolution": "4h",
               "calendar": "always"},
        "P2": {"name": "High", "severity": 2, "response": "1h", "resolution": "8h",
               "calendar": "always"},
    },
    "classification": {
        "default_tier": "P2",
        "rules": [{"name": "urgent", "tier": "P1", "source_priority": ["urgent"]}],
    },
    "clients": {
        "acme": {"name": "ACME Corporation", "target_adherence": "95%"},
        "globex": {"name": "Globex", "target_adherence": "90%"},
    },
    "roles": {"account_director": "dana@msp.example", "senior_engineer": "sam@msp.example"},
    "escalations": {
        "P1": [{"name": "account-director", "on": "breach", "after": "30m",
                "to": "account_director", "actions": ["notify"]}],
        "P2": [{"name": "senior-engineer", "on": "breach", "after": "2h",
                "to": "senior_engineer", "actions": ["notify"]}],
    },
    "connectors": {
        "sim": {"type": "simulator", "resolved_statuses": ["solved", "closed"],
                "paused_statuses": ["pending"]},
    },
}  # fmt: skip


@dataclass(frozen=True)
class Spec:
    """One generated ticket: when it was created, its tier, and reply / solve delays."""

    id: str
    client: str
    tier: str
    created: datetime
    reply: int | None  # minutes after creation, None = no agent reply ever
    solve: int | None  # minutes after creation, None = still open

    def ticket(self, now: datetime) -> dict[str, Any]:
        events: list[dict[str, str]] = []
        for minutes, event in (
            (self.reply, {"type": "public_reply", "by": "agent"}),
            (self.solve, {"type": "status", "to": "solved"}),
        ):
            if minutes is not None and self.created + timedelta(minutes=minutes) <= now:
                at = self.created + timedelta(minutes=minutes)
                events.append({"at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), **event})
        return {
            "id": self.id,
            "source": "sim",
            "client": self.client,
            "subject": f"Ticket {self.id} <{self.tier}> & co",
            "source_priority": "urgent" if self.tier == "P1" else "normal",
            "created_at": self.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "events": events,
        }


def specs(seed: int, count: int, start: datetime, days: int) -> list[Spec]:
    """``count`` tickets created in [start, start + days), reproducible for ``seed``."""
    rng = Random(seed)
    out = []
    for number in range(count):
        created = start + timedelta(minutes=rng.randrange(days * 24 * 60))
        tier = "P1" if rng.random() < 0.3 else "P2"
        response, resolution = TARGETS[tier]
        # Around the targets on purpose, exact hits included.
        reply = rng.choice([None, 1, response - 1, response, response + 1, 2 * response])
        solve = rng.choice([None, resolution // 2, resolution, resolution + 1, 3 * resolution])
        if reply is not None and solve is not None and solve <= reply:
            solve = reply + 1
        out.append(
            Spec(str(5000 + number), rng.choice(["acme", "globex"]), tier, created, reply, solve)
        )
    return sorted(out, key=lambda s: s.created)


def outcome(spec: Spec, kind: str, now: datetime) -> tuple[str, datetime] | None:
    """(met|breached, decided at) of one clock by arithmetic, None while undecided."""
    minutes = spec.reply if kind == "response" else spec.solve
    if kind == "response" and spec.solve is not None:
        # A solve stops the response clock too (DESIGN section 4).
        minutes = spec.solve if minutes is None else min(minutes, spec.solve)
    target = TARGETS[spec.tier][0 if kind == "response" else 1]
    due = spec.created + timedelta(minutes=target)
    if minutes is not None and spec.created + timedelta(minutes=minutes) <= now:
        if minutes <= target:
            return "met", spec.created + timedelta(minutes=minutes)
        return "breached", due
    if due <= now:
        return "breached", due
    return None


def expected(
    all_specs: list[Spec], start: datetime, end: datetime, now: datetime, client: str | None = None
) -> Counter[tuple[str, str, str]]:
    """Counter of (tier, kind, outcome) for clocks decided in [start, end)."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for spec in all_specs:
        if client is not None and spec.client != client:
            continue
        results = {kind: outcome(spec, kind, now) for kind in ("response", "resolution")}
        for kind, result in results.items():
            if result is not None and start <= result[1] < end:
                counts[(spec.tier, kind, result[0])] += 1
        r, s = results["response"], results["resolution"]
        breaches = [x[1] for x in (r, s) if x is not None and x[0] == "breached"]
        combined: tuple[str, datetime] | None = None
        if breaches:
            combined = ("breached", min(breaches))
        elif r is not None and s is not None:
            combined = ("met", max(r[1], s[1]))
        if combined is not None and start <= combined[1] < end:
            counts[(spec.tier, "ticket", combined[0])] += 1
    return counts


def rate(counts: Counter[tuple[str, str, str]], kind: str, tier: str | None = None) -> str:
    """The adherence the report must print, e.g. ``87.5%``."""
    tiers = [tier] if tier else list(TARGETS)
    met = sum(counts[(t, kind, "met")] for t in tiers)
    breached = sum(counts[(t, kind, "breached")] for t in tiers)
    return "n/a" if met + breached == 0 else f"{met / (met + breached) * 100:.1f}%"


UTC_START = datetime(2026, 9, 28, tzinfo=UTC)
