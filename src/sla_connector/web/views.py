"""The overview and client views: each one value that the HTML page and ``/api`` both render.

``build_overview`` and ``build_client`` read the source once (tickets, ledger, connector
health) and assemble the figures from ``web.figures``. They block (the source does I/O
and the core evaluates every ticket), so the app calls them from a worker thread.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo

from sla_connector.core.adherence import KINDS, AdherenceCounter, ticket_outcome
from sla_connector.core.calendars import from_us, to_us
from sla_connector.core.evaluate import TicketEvaluation
from sla_connector.core.ledger import NOTIFY_FAILED, LedgerRow
from sla_connector.core.readmodel import (
    Breach,
    BreachLine,
    EscalationLine,
    WithdrawnLine,
    breach_lines,
    escalation_lines,
    withdrawn_lines,
)
from sla_connector.core.secrets import mask_userinfo
from sla_connector.core.vocabulary import ATTEMPTED_STATES, Vocabulary
from sla_connector.web.data import DashboardSource
from sla_connector.web.exposure import Exposure, earliest_month_start, exposures
from sla_connector.web.figures import (
    WINDOWS,
    Cell,
    ClientBlock,
    EvaluationCache,
    TicketLine,
    adherence_blocks,
    client_zone,
    evaluate_all,
    is_open,
    make_cell,
    now_us_of,
    watch_tickets,
)

__all__ = [
    "ClientView",
    "ConnectorLine",
    "NoticeLine",
    "Overview",
    "ReportLine",
    "TrendPoint",
    "build_client",
    "build_overview",
    "trend",
    "week_starts",
    "zone_name",
]

OPEN_LIMIT = 50
LIST_LIMIT = 100  # at-risk and breached-open rows per page; the totals count them all
ESCALATION_LIMIT = 20
BREACH_LIMIT = 100
TREND_WEEKS = 12


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
    failing: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


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
class NoticeLine:
    """An escalation notice that could not be sent (the notification ledger's ``failed``)."""

    key: str
    source: str
    ticket_id: str
    client: str
    step: str
    channel: str
    attempts: int
    created_at: datetime
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
    withdrawn: list[WithdrawnLine]
    failed_notifications: list[NoticeLine] = field(default_factory=list)
    zone: str = "UTC"
    trend: list[TrendPoint] = field(default_factory=list)
    exposure: list[Exposure] = field(default_factory=list)
    client_names: dict[str, str] = field(default_factory=dict)
    psa_links: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One calendar week (Monday to Sunday) of adherence, all tiers together; ``so_far``
    for the current week."""

    start: datetime
    end: datetime
    adherence: dict[str, Cell]
    so_far: bool = False


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
    withdrawn: list[WithdrawnLine]
    zone: str = "UTC"
    exposure: Exposure | None = None
    client_names: dict[str, str] = field(default_factory=dict)
    psa_links: dict[str, str] = field(default_factory=dict)


def _withdrawn(
    source: DashboardSource, ledger: list[LedgerRow], since: int, client: str | None = None
) -> list[WithdrawnLine]:
    """Tickets withdrawn at or after ``since`` (S39), latest first."""
    recent = [w for w in source.withdrawn(client=client) if w.withdrawn_at >= since]
    return list(withdrawn_lines(recent, ledger))[:LIST_LIMIT]


def build_overview(
    source: DashboardSource,
    vocabulary: Vocabulary,
    *,
    zone: tzinfo = UTC,
    cache: EvaluationCache | None = None,
) -> Overview:
    """The overview as of the source's ``now``; times and weeks in ``zone``."""
    policy = source.policy()
    now, now_us = now_us_of(source)
    longest = max(length for _, length in WINDOWS)
    weeks = week_starts(now_us, zone)[0]
    since = min(now_us - longest, weeks, earliest_month_start(policy, now_us) or now_us)
    evaluations = evaluate_all(source, policy, now, since=since, cache=cache)
    watch = watch_tickets(evaluations, vocabulary)
    recent = [
        e
        for e in evaluations
        if is_open(e) or max(decided_instants(e), default=now_us) >= now_us - longest
    ]
    blocks = adherence_blocks(policy, recent, now_us, watch.counts)
    ledger = list(source.ledger(since=now_us - longest))
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
            tuple(health.failing),
            tuple(health.warnings),
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
            [row for row in ledger if row.due_at <= now_us],
            vocabulary,
            states=ATTEMPTED_STATES,
            limit=ESCALATION_LIMIT,
        ),
        connectors=connectors,
        evidence_ok=source.evidence_ok(),
        failed_reports=failed_reports(source),
        withdrawn=_withdrawn(source, ledger, now_us - longest),
        failed_notifications=failed_notifications(source),
        zone=zone_name(zone),
        trend=trend(evaluations, now_us, None, zone),
        exposure=exposures(policy, evaluations, now_us),
        client_names={block.client: block.name for block in blocks},
        psa_links=dict(source.psa_links()),
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


def failed_notifications(source: DashboardSource) -> list[NoticeLine]:
    """Notices the notification ledger gave up on, oldest first."""
    return [
        NoticeLine(
            n.key,
            n.source,
            n.ticket_id,
            n.client,
            n.step,
            n.channel,
            n.attempts,
            from_us(n.created_at),
            n.detail,
        )
        for n in source.notifications()
        if n.state == NOTIFY_FAILED
    ]


def week_starts(now_us: int, zone: tzinfo, weeks: int = TREND_WEEKS) -> list[int]:
    """The local Mondays 00:00 (µs) of the ``weeks`` calendar weeks ending with the one
    holding ``now_us``, oldest first (Monday to Sunday, in ``zone``)."""
    today = from_us(now_us).astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    days = [monday - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    return [to_us(datetime.combine(day, time(), zone)) for day in days]


def decided_instants(evaluation: TicketEvaluation) -> set[int]:
    """Every instant at which one of the ticket's outcomes (a clock, or S22's) was decided."""
    clocks = (evaluation.response, *evaluation.resolutions)
    found = {clock.decided_at for clock in clocks if clock.decided_at is not None}
    outcome = ticket_outcome(evaluation)
    if outcome is not None:
        found.add(outcome[1])
    return found


def trend(
    evaluations: Iterable[TicketEvaluation],
    now_us: int,
    target: float | None,
    zone: tzinfo,
) -> list[TrendPoint]:
    """Adherence per calendar week (Monday to Sunday in ``zone``), all tiers together, the
    current week so far last."""
    starts = week_starts(now_us, zone)
    buckets = []
    for index, start in enumerate(starts):
        end = now_us if index == len(starts) - 1 else starts[index + 1] - 1
        buckets.append((start, end, AdherenceCounter(start, end)))
    for evaluation in evaluations:
        # only the weeks in which one of its outcomes was decided (one or two, not twelve)
        for index in {bisect_right(starts, at) - 1 for at in decided_instants(evaluation)}:
            if 0 <= index < len(buckets):
                buckets[index][2].add(evaluation)
    points = []
    for start, end, counter in buckets:
        sums = {kind: [0, 0] for kind in KINDS}
        for row in counter.rows():
            sums[row.kind][0] += row.met
            sums[row.kind][1] += row.breached
        points.append(
            TrendPoint(
                from_us(start),
                from_us(end),
                {kind: make_cell(met, bad, target) for kind, (met, bad) in sums.items()},
                end == now_us,
            )
        )
    return points


def _breaches(evaluations: list[TicketEvaluation], since: int, now_us: int) -> list[Breach]:
    """Every clock that breached in [since, now_us]."""
    return [
        Breach(evaluation.ticket, clock, still_open=evaluation.resolution.stopped_at is None)
        for evaluation in evaluations
        for clock in (evaluation.response, *evaluation.resolutions)
        if clock.breached_at is not None and since <= clock.breached_at <= now_us
    ]


def build_client(
    source: DashboardSource,
    client: str,
    vocabulary: Vocabulary,
    *,
    zone: tzinfo = UTC,
    cache: EvaluationCache | None = None,
) -> ClientView | None:
    """A client's page as of ``now``, in the client's time zone (else ``zone``); None when
    the client is neither configured nor seen."""
    policy = source.policy()
    now, now_us = now_us_of(source)
    zone = client_zone(policy, client, zone)
    weeks = week_starts(now_us, zone)[0]
    since = min(weeks, earliest_month_start(policy, now_us) or weeks)
    evaluations = [
        e
        for e in evaluate_all(source, policy, now, client=client, since=since, cache=cache)
        if e.ticket.client == client
    ]
    if client not in policy.clients and not evaluations:
        return None
    watch = watch_tickets(evaluations, vocabulary)
    block = adherence_blocks(policy, evaluations, now_us, watch.counts, only_client=client)[0]
    ledger = list(source.ledger(since=weeks, client=client))
    withdrawn = _withdrawn(source, ledger, weeks, client)
    ledger = [row for row in ledger if row.due_at <= now_us]
    breaches = breach_lines(policy, _breaches(evaluations, weeks, now_us), ledger, vocabulary)
    found = exposures(policy, evaluations, now_us, only_client=client)
    return ClientView(
        now=now,
        windows=tuple(name for name, _ in WINDOWS),
        client=block,
        trend=trend(evaluations, now_us, block.target, zone),
        breaches=list(reversed(breaches))[:BREACH_LIMIT],
        open=watch.open[:OPEN_LIMIT],
        at_risk=watch.at_risk[:LIST_LIMIT],
        breached_open=watch.breached_open[:LIST_LIMIT],
        escalations=escalation_lines(
            ledger, vocabulary, states=ATTEMPTED_STATES, limit=ESCALATION_LIMIT
        ),
        withdrawn=withdrawn,
        zone=zone_name(zone),
        exposure=found[0] if found else None,
        client_names={client: block.name},
        psa_links=dict(source.psa_links()),
    )


def zone_name(zone: tzinfo) -> str:
    """The IANA name of a zone (``Europe/London``), as pages label their times."""
    return getattr(zone, "key", None) or str(zone)
