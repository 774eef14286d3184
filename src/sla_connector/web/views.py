"""The overview and client views: each one value that the HTML page and ``/api`` both render.

``build_overview`` and ``build_client`` read the source once (tickets, ledger, connector
health) and assemble the figures from ``web.figures``. They block (the source does I/O
and the core evaluates every ticket), so the app calls them from a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sla_connector.core.adherence import KINDS, AdherenceCounter
from sla_connector.core.calendars import from_us
from sla_connector.core.evaluate import TicketEvaluation
from sla_connector.core.readmodel import (
    Breach,
    BreachLine,
    EscalationLine,
    breach_lines,
    escalation_lines,
)
from sla_connector.core.secrets import mask_userinfo
from sla_connector.core.vocabulary import ATTEMPTED_STATES, Vocabulary
from sla_connector.web.data import DashboardSource
from sla_connector.web.figures import (
    DAY_US,
    WINDOWS,
    Cell,
    ClientBlock,
    TicketLine,
    adherence_blocks,
    evaluate_all,
    make_cell,
    now_us_of,
    watch_tickets,
)

__all__ = [
    "ClientView",
    "ConnectorLine",
    "Overview",
    "ReportLine",
    "TrendPoint",
    "build_client",
    "build_overview",
]

OPEN_LIMIT = 50
LIST_LIMIT = 100  # at-risk and breached-open rows per page; the totals count them all
ESCALATION_LIMIT = 20
BREACH_LIMIT = 100
TREND_WEEKS = 12
WEEK_US = 7 * DAY_US


@dataclass(frozen=True, slots=True)
class ConnectorLine:
    """A connector's poll health as the overview shows it."""

    name: str
    leading: bool
    ok: bool | None
    last_poll_at: datetime | None
    last_error: str | None
    polls: int
    poll_errors: int
    last_poll_seconds: float


@dataclass(frozen=True, slots=True)
class ReportLine:
    """A report delivery that failed (shown until a later run of the same period succeeds)."""

    kind: str
    period_start: datetime
    recipient: str
    state: str
    finished_at: datetime | None
    detail: str


@dataclass(frozen=True, slots=True)
class Overview:
    """Everything on the overview page and in ``/api/overview``."""

    now: datetime
    windows: tuple[str, ...]
    at_risk_fraction: float
    clients: list[ClientBlock]
    open_total: int
    at_risk_total: int
    breached_open_total: int
    open: list[TicketLine]
    at_risk: list[TicketLine]
    breached_open: list[TicketLine]
    escalations: list[EscalationLine]
    connectors: list[ConnectorLine]
    evidence_ok: bool
    failed_reports: list[ReportLine]


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One week of a client's trend, all tiers together."""

    start: datetime
    end: datetime
    adherence: dict[str, Cell]


@dataclass(frozen=True, slots=True)
class ClientView:
    """Everything on a client's page and in ``/api/clients/{key}``."""

    now: datetime
    windows: tuple[str, ...]
    client: ClientBlock
    trend: list[TrendPoint]
    breaches: list[BreachLine]
    open: list[TicketLine]
    at_risk: list[TicketLine]
    breached_open: list[TicketLine]
    escalations: list[EscalationLine]


def build_overview(source: DashboardSource, vocabulary: Vocabulary) -> Overview:
    """The overview as of the source's ``now``."""
    policy = source.policy()
    now, now_us = now_us_of(source)
    longest = max(length for _, length in WINDOWS)
    evaluations = evaluate_all(source, policy, now, since=now_us - longest)
    watch = watch_tickets(evaluations, vocabulary)
    blocks = adherence_blocks(policy, evaluations, now_us, watch.counts)
    ledger = source.ledger(since=now_us - longest, until=now_us + 1)
    connectors = [
        ConnectorLine(
            name,
            health.leading,
            health.last_poll_ok,
            None if health.last_poll_at is None else health.last_poll_at.astimezone(UTC),
            None if health.last_error is None else mask_userinfo(health.last_error),
            health.polls,
            health.poll_errors,
            health.last_poll_seconds,
        )
        for name, health in sorted(source.connector_status().items())
    ]
    return Overview(
        now=now,
        windows=tuple(name for name, _ in WINDOWS),
        at_risk_fraction=vocabulary.at_risk,
        clients=blocks,
        open_total=len(watch.open),
        at_risk_total=len(watch.at_risk),
        breached_open_total=len(watch.breached_open),
        open=watch.open[:OPEN_LIMIT],
        at_risk=watch.at_risk[:LIST_LIMIT],
        breached_open=watch.breached_open[:LIST_LIMIT],
        escalations=escalation_lines(
            ledger, vocabulary, states=ATTEMPTED_STATES, limit=ESCALATION_LIMIT
        ),
        connectors=connectors,
        evidence_ok=source.evidence_ok(),
        failed_reports=failed_reports(source),
    )


def failed_reports(source: DashboardSource) -> list[ReportLine]:
    """Failed deliveries whose (kind, period, recipient) has no sent run."""
    runs = list(source.report_runs())
    sent = {(r.kind, r.period_start, r.recipient) for r in runs if r.state == "sent"}
    return [
        ReportLine(
            r.kind,
            from_us(r.period_start),
            r.recipient,
            r.state,
            None if r.finished_at is None else from_us(r.finished_at),
            r.detail,
        )
        for r in runs
        if r.state == "failed" and (r.kind, r.period_start, r.recipient) not in sent
    ]


def _trend(
    evaluations: list[TicketEvaluation], now_us: int, target: float | None
) -> list[TrendPoint]:
    """``TREND_WEEKS`` weekly points of adherence ending at ``now_us``, all tiers together."""
    buckets = []
    for week in range(TREND_WEEKS):
        start = now_us - (TREND_WEEKS - week) * WEEK_US
        end = now_us if week == TREND_WEEKS - 1 else start + WEEK_US - 1
        buckets.append((start, end, AdherenceCounter(start, end)))
    for evaluation in evaluations:
        for _, _, counter in buckets:
            counter.add(evaluation)
    trend = []
    for start, end, counter in buckets:
        sums = {kind: [0, 0] for kind in KINDS}
        for row in counter.rows():
            sums[row.kind][0] += row.met
            sums[row.kind][1] += row.breached
        trend.append(
            TrendPoint(
                from_us(start),
                from_us(end),
                {kind: make_cell(met, bad, target) for kind, (met, bad) in sums.items()},
            )
        )
    return trend


def _breaches(evaluations: list[TicketEvaluation], since: int, now_us: int) -> list[Breach]:
    """Every clock that breached in [since, now_us]."""
    return [
        Breach(evaluation.ticket, clock, still_open=evaluation.resolution.stopped_at is None)
        for evaluation in evaluations
        for clock in (evaluation.response, *evaluation.resolutions)
        if clock.breached_at is not None and since <= clock.breached_at <= now_us
    ]


def build_client(source: DashboardSource, client: str, vocabulary: Vocabulary) -> ClientView | None:
    """A client's page as of ``now``; None when the client is neither configured nor seen."""
    policy = source.policy()
    now, now_us = now_us_of(source)
    since = now_us - TREND_WEEKS * WEEK_US
    evaluations = [
        e
        for e in evaluate_all(source, policy, now, client=client, since=since)
        if e.ticket.client == client
    ]
    if client not in policy.clients and not evaluations:
        return None
    watch = watch_tickets(evaluations, vocabulary)
    block = adherence_blocks(policy, evaluations, now_us, watch.counts, only_client=client)[0]
    ledger = list(source.ledger(since=since, until=now_us + 1, client=client))
    breaches = breach_lines(policy, _breaches(evaluations, since, now_us), ledger, vocabulary)
    return ClientView(
        now=now,
        windows=tuple(name for name, _ in WINDOWS),
        client=block,
        trend=_trend(evaluations, now_us, block.target),
        breaches=list(reversed(breaches))[:BREACH_LIMIT],
        open=watch.open[:OPEN_LIMIT],
        at_risk=watch.at_risk[:LIST_LIMIT],
        breached_open=watch.breached_open[:LIST_LIMIT],
        escalations=escalation_lines(
            ledger, vocabulary, states=ATTEMPTED_STATES, limit=ESCALATION_LIMIT
        ),
    )
