"""What a client sees of itself in the portal: its ``PortalView`` and its archived packs.

Built from the same client view as the dashboard (``web.views.build_client``), then cut
down to what a client may read: a breach carries no internal names, roles or addresses,
only whether and how punctually it was escalated. The archive lists only files named
``<client>-monthly-<YYYY-MM>.pdf`` or ``<client>-quarterly-<YYYY>-Q<n>.pdf``, so no other
client's pack (nor any other file) can be listed or served.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from urllib.parse import quote

from sla_connector.core.durations import format_seconds
from sla_connector.core.readmodel import BreachLine
from sla_connector.core.vocabulary import Vocabulary
from sla_connector.web.data import DashboardSource
from sla_connector.web.exposure import Exposure
from sla_connector.web.figures import EvaluationCache, TierRow
from sla_connector.web.views import TrendPoint, build_client

__all__ = ["Pack", "PortalBreach", "PortalView", "build_portal", "list_packs"]

_PACK_RE = re.compile(r"(monthly)-(\d{4})-(0[1-9]|1[0-2])\.pdf|(quarterly)-(\d{4})-Q([1-4])\.pdf")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Pack:
    """One evidence pack in the archive."""

    name: str
    kind: str
    period: str
    title: str
    bytes: int
    url: str


def list_packs(archive_dir: Path | None, client: str) -> list[Pack]:
    """The client's packs in ``archive_dir``, newest period first (only files named
    ``<client>-monthly-<YYYY-MM>.pdf`` or ``<client>-quarterly-<YYYY>-Q<n>.pdf``)."""
    if archive_dir is None or not archive_dir.is_dir():
        return []
    prefix = f"{client}-"
    found: list[tuple[str, Pack]] = []
    for path in archive_dir.iterdir():
        name = path.name
        if not name.startswith(prefix) or not path.is_file():
            continue
        match = _PACK_RE.fullmatch(name[len(prefix) :])
        if match is None:
            continue
        if match.group(1):
            year, month = match.group(2), match.group(3)
            kind, period = "monthly", f"{year}-{month}"
            title, order = f"{_MONTHS[int(month) - 1]} {year}", f"{year}-{month}-m"
        else:
            year, quarter = match.group(5), match.group(6)
            kind, period = "quarterly", f"{year}-Q{quarter}"
            title, order = f"Q{quarter} {year}", f"{year}-{int(quarter) * 3:02d}-q"
        url = f"/portal/{quote(client, safe='')}/packs/{quote(name, safe='')}"
        found.append((order, Pack(name, kind, period, title, path.stat().st_size, url)))
    return [pack for _, pack in sorted(found, key=lambda item: item[0], reverse=True)]


@dataclass(frozen=True, slots=True)
class PortalBreach:
    """A breach as a client reads it: no internal names, roles or addresses."""

    ticket_id: str
    subject: str
    tier: str
    tier_name: str
    clock: str
    breached_at: datetime
    over_seconds: float
    over_text: str
    still_open: bool
    escalated: str


@dataclass(frozen=True, slots=True)
class PortalView:
    """Everything the portal shows of one client (and its JSON)."""

    client: str
    name: str
    now: datetime
    zone: str
    target: float | None
    windows: tuple[str, ...]
    tiers: list[TierRow]
    exposure: Exposure | None
    trend: list[TrendPoint]
    breaches: list[PortalBreach]
    packs: list[Pack]


def _escalated(line: BreachLine) -> str:
    fired = [e for e in line.escalations if e.fired_at is not None]
    if not fired:
        return "escalation scheduled" if line.escalations and line.still_open else "not escalated"
    late = sum(1 for e in fired if e.late)
    count = f"escalated {len(fired)} time{'s' if len(fired) != 1 else ''}"
    return f"{count}, {late} late" if late else f"{count}, on time"


def _tier_name(view_tiers: Sequence[TierRow], tier: str) -> str:
    for line in view_tiers:
        if line.tier == tier:
            return line.tier_name
    return tier


def build_portal(
    source: DashboardSource,
    client: str,
    vocabulary: Vocabulary,
    archive_dir: Path | None,
    *,
    zone: tzinfo,
    cache: EvaluationCache | None,
) -> PortalView | None:
    """The client's portal view, or None when there is no such client."""
    view = build_client(source, client, vocabulary, zone=zone, cache=cache)
    if view is None:
        return None
    tiers = view.client.tiers
    breaches = [
        PortalBreach(
            ticket_id=line.ticket_id,
            subject=line.subject,
            tier=line.tier,
            tier_name=_tier_name(tiers, line.tier),
            clock=line.clock,
            breached_at=line.breached_at.astimezone(UTC),
            over_seconds=line.over_seconds,
            over_text=format_seconds(line.over_seconds),
            still_open=line.still_open,
            escalated=_escalated(line),
        )
        for line in view.breaches
    ]
    return PortalView(
        client=client,
        name=view.client.name,
        now=view.now,
        zone=view.zone,
        target=view.client.target,
        windows=view.windows,
        tiers=tiers,
        exposure=view.exposure,
        trend=view.trend,
        breaches=breaches,
        packs=list_packs(archive_dir, client),
    )
