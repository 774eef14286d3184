"""The dashboard's figures, computed by re-evaluating tickets with the core.

Adherence is the shared tier read model (``core.readmodel.tier_figures``, the one the
reports use), for rolling windows ending at the source's ``now``: a clock counts in a
window when its outcome was decided in [now - window, now]. Rows are per client and per
the ticket's tier at ``now`` (SEMANTICS S21), in the read model's tier order and names,
plus an all-tiers row per client. The values are plain frozen dataclasses that the HTML
templates, the JSON API and /metrics all read, so the three always show the same numbers;
"at risk" is ``core.vocabulary``'s, and escalations are the shared read model
(``core.readmodel``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sla_connector.core.adherence import KINDS
from sla_connector.core.calendars import from_us, to_us
from sla_connector.core.evaluate import ClockResult, TicketEvaluation, evaluate
from sla_connector.core.exclusions import RecordedExclusions
from sla_connector.core.policy import Policy
from sla_connector.core.readmodel import (
    ALL_TIERS,
    TierFigures,
    TierLine,
    Window,
    client_name,
    tier_figures,
    tier_order,
)
from sla_connector.core.ticket import Ticket
from sla_connector.core.vocabulary import COMBINED_METRIC, Vocabulary, current_clocks
from sla_connector.web.data import DashboardSource

__all__ = [
    "ALL_TIERS",
    "DASH",
    "KIND_LABELS",
    "WINDOWS",
    "Cell",
    "ClientBlock",
    "EvaluationCache",
    "TicketLine",
    "TicketWatch",
    "TierRow",
    "adherence_blocks",
    "client_zone",
    "evaluate_all",
    "make_cell",
    "now_us_of",
    "percent",
    "target_text",
    "ticket_url",
    "watch_tickets",
]

DAY_US = 86_400 * 1_000_000
WINDOWS: tuple[tuple[str, int], ...] = (("7d", 7 * DAY_US), ("30d", 30 * DAY_US))
KIND_LABELS = {"response": "Response", "resolution": "Resolution", "ticket": COMBINED_METRIC}
DASH = "\u2013"  # shown where there is no figure


@dataclass(frozen=True, slots=True)
class Cell:
    """One adherence figure with its verdict against the contract target, in words too."""

    met: int
    breached: int
    adherence: float | None
    target: float | None
    status: str  # "meets" | "below" | "no-data" | "no-target"
    text: str
    label: str


def percent(value: float) -> str:
    """``0.9667`` as ``96.7%``; whole targets as ``98%``."""
    return f"{value * 100:.1f}%"


def target_text(target: float | None) -> str:
    return "none" if target is None else f"{target * 100:g}%"


def make_cell(met: int, breached: int, target: float | None) -> Cell:
    """The figure and a textual verdict, so colour is never the only signal."""
    decided = met + breached
    if decided == 0:
        return Cell(met, breached, None, target, "no-data", DASH, "no clocks decided")
    value = met / decided
    if target is None:
        return Cell(met, breached, value, None, "no-target", percent(value), "no contract target")
    verdict = "meets" if value >= target else "below"
    label = f"{verdict} {target_text(target)}"
    return Cell(met, breached, value, target, verdict, percent(value), label)


@dataclass(frozen=True, slots=True)
class TierRow:
    """A dashboard row: a client's tier (or ``all`` tiers) as the read model counted it
    (``core.readmodel.TierLine``), as adherence[kind][window] cells, and its live counts."""

    client: str
    tier: str
    tier_name: str
    target: float | None
    adherence: dict[str, dict[str, Cell]]
    open: int
    at_risk: int
    breached_open: int


@dataclass(frozen=True, slots=True)
class ClientBlock:
    """A client's contract target and one line per tier, the all-tiers line last."""

    client: str
    name: str
    target: float | None
    tiers: list[TierRow]


@dataclass(frozen=True, slots=True)
class TicketLine:
    """An open ticket as the lists show it: the clock that matters most and when it breaches."""

    source: str
    id: str
    client: str
    tier: str
    subject: str
    clock: str
    state: str
    due_at: datetime | None
    seconds_left: float | None
    used: float | None
    breached_at: datetime | None
    url: str


def ticket_url(source: str, ticket_id: str) -> str:
    return f"/tickets/{quote(source, safe='')}/{quote(ticket_id, safe='')}"


class EvaluationCache:
    """Evaluations of resolved tickets, reused while the ticket and its exclusions stay the
    same: a resolved ticket's outcomes do not move with ``now`` (a reopen changes the
    ticket), so a page over 12 weeks of history evaluates only what changed."""

    def __init__(self, limit: int = 250_000) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._found: dict[tuple[str, str], tuple[Ticket, object, TicketEvaluation]] = {}

    def prime(self, evaluation: TicketEvaluation) -> None:
        """Remember an evaluation made elsewhere, without recorded exclusions (the demo's
        history, evaluated as it is stored)."""
        if evaluation.resolution.stopped_at is not None:
            key = (evaluation.ticket.source, evaluation.ticket.id)
            with self._lock:
                self._found[key] = (evaluation.ticket, None, evaluation)

    def evaluate(
        self, ticket: Ticket, policy: Policy, now: datetime, excluded: RecordedExclusions
    ) -> TicketEvaluation:
        key = (ticket.source, ticket.id)
        mine = excluded.get(key)
        found = self._found.get(key)
        if found is not None and found[0] == ticket and found[1] == mine:
            return found[2]
        evaluation = evaluate(ticket, policy, now, exclusions=excluded)
        stopped = evaluation.resolution.stopped_at
        if stopped is not None and stopped <= to_us(now):
            with self._lock:
                if len(self._found) >= self._limit:
                    self._found.clear()
                self._found[key] = (ticket, mine, evaluation)
        return evaluation


def evaluate_all(
    source: DashboardSource,
    policy: Policy,
    now: datetime,
    *,
    client: str | None = None,
    since: int | None = None,
    cache: EvaluationCache | None = None,
) -> list[TicketEvaluation]:
    """Evaluate every ticket the source returns for the period, as of ``now``, with the
    exclusions recorded in the store (and those of PSA tags)."""
    excluded = source.exclusions()
    tickets = source.tickets(client=client, since=since)
    if cache is None:
        return [evaluate(t, policy, now, exclusions=excluded) for t in tickets]
    return [cache.evaluate(t, policy, now, excluded) for t in tickets]


def client_zone(policy: Policy, client: str, default: tzinfo) -> tzinfo:
    """The client's time zone: its contract's, else its calendar's, else ``default``."""
    known = policy.clients.get(client)
    if known is None:
        return default
    if known.contract is not None:
        return ZoneInfo(known.contract.timezone)
    calendar = policy.calendars.get(known.calendar or "")
    return calendar.tz if calendar is not None else default


def is_open(evaluation: TicketEvaluation) -> bool:
    """Open while the latest resolution cycle has not stopped."""
    return evaluation.resolution.stopped_at is None


def _line(
    evaluation: TicketEvaluation, clock: ClockResult, breached_at: int | None = None
) -> TicketLine:
    ticket = evaluation.ticket
    left = None if clock.due_at is None else (clock.due_at - evaluation.now) / 1e6
    used = clock.elapsed_us / clock.target_us if clock.target_us > 0 else None
    return TicketLine(
        source=ticket.source,
        id=ticket.id,
        client=ticket.client,
        tier=evaluation.tier,
        subject=ticket.subject,
        clock=clock.kind,
        state=clock.state,
        due_at=None if clock.due_at is None else from_us(clock.due_at),
        seconds_left=left,
        used=used,
        breached_at=None if breached_at is None else from_us(breached_at),
        url=ticket_url(ticket.source, ticket.id),
    )


def _soonest(line: TicketLine) -> tuple[float, str]:
    """Sort key: soonest breach first, clocks with no due instant (paused) last."""
    return (line.seconds_left if line.seconds_left is not None else float("inf"), line.id)


@dataclass(frozen=True, slots=True)
class TicketWatch:
    """The open tickets sorted into lists, and their counts per (client, tier)."""

    open: list[TicketLine]
    at_risk: list[TicketLine]
    breached_open: list[TicketLine]
    counts: dict[tuple[str, str], tuple[int, int, int]]


def watch_tickets(evaluations: Iterable[TicketEvaluation], vocabulary: Vocabulary) -> TicketWatch:
    """Open, at-risk (a current clock at risk and none breached; sorted by time to breach)
    and breached-open tickets."""
    opened: list[TicketLine] = []
    at_risk: list[TicketLine] = []
    breached: list[TicketLine] = []
    counts: dict[tuple[str, str], list[int]] = {}
    for evaluation in evaluations:
        if not is_open(evaluation):
            continue
        tally = counts.setdefault((evaluation.ticket.client, evaluation.tier), [0, 0, 0])
        tally[0] += 1
        clocks = current_clocks(evaluation)
        broken = [c for c in clocks if c.state == "breached" and c.breached_at is not None]
        running = [c for c in clocks if c.state == "running" and c.due_at is not None]
        if broken:
            first = min(broken, key=lambda c: c.breached_at or 0)
            breached.append(_line(evaluation, first, first.breached_at))
            opened.append(breached[-1])
            tally[2] += 1
            continue
        urgent = min(running, key=lambda c: c.due_at or 0) if running else clocks[-1]
        line = _line(evaluation, urgent)
        opened.append(line)
        risky = [c for c in running if vocabulary.is_at_risk(c)]
        if risky:
            at_risk.append(_line(evaluation, min(risky, key=lambda c: c.due_at or 0)))
            tally[1] += 1
    at_risk.sort(key=_soonest)
    breached.sort(key=lambda line: (line.breached_at or from_us(0), line.id))
    opened.sort(key=_soonest)
    return TicketWatch(
        opened, at_risk, breached, {key: (a, b, c) for key, (a, b, c) in counts.items()}
    )


def _windows(now_us: int) -> dict[str, Window]:
    """The rolling windows, each ending at ``now``."""
    return {name: (now_us - length, now_us) for name, length in WINDOWS}


def _cells(line: TierLine, target: float | None) -> dict[str, dict[str, Cell]]:
    """adherence[kind][window] of a read-model line, with its verdict against ``target``."""
    cells: dict[str, dict[str, Cell]] = {}
    for kind in KINDS:
        counted = {window: line.count(kind, window) for window, _ in WINDOWS}
        cells[kind] = {w: make_cell(c.met, c.breached, target) for w, c in counted.items()}
    return cells


_COUNTS = ("open", "at_risk", "breached_open")  # the live counts of a TierRow


def _client_block(
    policy: Policy,
    client: str,
    tiers: Iterable[str],
    figures: TierFigures,
    counts: dict[tuple[str, str], tuple[int, int, int]],
) -> ClientBlock:
    """A client's tier rows (in severity order) and its all-tiers row."""
    target = policy.clients[client].target_adherence if client in policy.clients else None
    ordered = tier_order(policy, tiers)
    rows: list[TierRow] = []
    for tier in ordered:
        line = figures.line(client, tier)
        opened, risky, broken = counts.get((client, tier), (0, 0, 0))
        rows.append(
            TierRow(
                client, tier, line.tier_name, target, _cells(line, target), opened, risky, broken
            )
        )
    everything = figures.total(
        [(client, tier) for tier in ordered], client=client, tier=ALL_TIERS, name="All tiers"
    )
    tallies = [sum(getattr(row, name) for row in rows) for name in _COUNTS]
    rows.append(
        TierRow(
            client, ALL_TIERS, everything.tier_name, target, _cells(everything, target), *tallies
        )
    )
    return ClientBlock(client, client_name(policy, client), target, rows)


def adherence_blocks(
    policy: Policy,
    evaluations: Sequence[TicketEvaluation],
    now_us: int,
    counts: dict[tuple[str, str], tuple[int, int, int]],
    *,
    only_client: str | None = None,
) -> list[ClientBlock]:
    """One block per client: every configured client shows every tier; other clients
    show the tiers their tickets are in."""
    figures = tier_figures(policy, evaluations, _windows(now_us))
    present: dict[str, set[str]] = {}
    for client, tier in figures.lines:
        present.setdefault(client, set()).add(tier)
    for client, tier in counts:
        present.setdefault(client, set()).add(tier)
    for client in policy.clients:
        present.setdefault(client, set()).update(policy.tiers)
    clients = sorted(present) if only_client is None else [only_client]
    return [
        _client_block(policy, client, present.get(client, set()), figures, counts)
        for client in clients
    ]


def now_us_of(source: DashboardSource) -> tuple[datetime, int]:
    """The source's present as a UTC datetime and in µs."""
    micros = to_us(source.now())
    return from_us(micros), micros
