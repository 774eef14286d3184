"""The evidence pack: one client's month or quarter, as a procurement lead files it.

``build_pack`` computes the client's ``Report`` for the period (the same figures as the
email, from ``compute_report``) and, in the same pass over the tickets, what the pack adds:
the trend over the last 12 periods, the holds (pauses that counted, S36), the breach
register with exclusions and every clock decided in the period (the appendix); the
evidence-log range, head and key the figures were cross-checked against are the report's
own ``EvidenceAttestation``. It also gathers the methodology:
each tier's targets as the contract states them, the calendars and holidays used, the time
zone, and what pauses a clock. ``render_pack_html`` renders it with the templates the
emails use (``reporting/templates``); ``reporting.pdf`` turns that HTML into the PDF.

Everything here is read from the store through ``ReportStore`` and the policy; nothing
reads configuration (the runtime hands in a ``Branding``).
"""

from __future__ import annotations

import base64
import csv
import io
import mimetypes
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sla_connector.core.adherence import KINDS, PauseCounter
from sla_connector.core.calendars import BusinessCalendar, from_us
from sla_connector.core.credits import format_money
from sla_connector.core.evaluate import TicketEvaluation
from sla_connector.core.exclusions import Exclusion
from sla_connector.core.policy import Policy
from sla_connector.core.readmodel import (
    ALL_TIERS,
    BreachLine,
    TierCounter,
    TierFigures,
    tier_name,
    tier_order,
)
from sla_connector.core.statements import CreditStatement
from sla_connector.core.ticket import format_instant
from sla_connector.core.vocabulary import ALL_CLOCKS_MET, Vocabulary
from sla_connector.reporting import formats
from sla_connector.reporting.compute import build_report
from sla_connector.reporting.model import Adherence, EvidenceAttestation, Report, adherence
from sla_connector.reporting.periods import Period
from sla_connector.reporting.ports import EvidenceVerdict, ReportStore

__all__ = [
    "APPENDIX_CSV_COLUMNS",
    "PDF_APPENDIX_ROWS",
    "PDF_REGISTER_ROWS",
    "TREND_PERIODS",
    "Branding",
    "CalendarMethod",
    "ClockLine",
    "HoldLine",
    "Pack",
    "RegisterLine",
    "TierHolds",
    "TierMethod",
    "TrendPoint",
    "appendix_csv",
    "build_pack",
    "formats_money",
    "month_label",
    "pack_filename",
    "trend_periods",
]

TREND_PERIODS = 12
"""Periods in the pack's trend chart, the pack's own one last."""
PDF_APPENDIX_ROWS = 300
"""Clocks listed in the PDF's appendix; the appendix CSV always has them all."""
PDF_REGISTER_ROWS = 150
"""Breaches listed in the PDF's register (worst first); the breach CSV has them all."""
LONGEST_HOLDS = 10
APPENDIX_CSV_COLUMNS = (
    "source",
    "ticket_id",
    "tier",
    "clock",
    "cycle",
    "started_at",
    "decided_at",
    "outcome",
    "business_seconds",
    "target_seconds",
    "excluded_reason",
)


@dataclass(frozen=True, slots=True)
class Branding:
    """The MSP's name, logo (a file path) and colours, from ``reports.branding``."""

    msp_name: str = "Your managed service provider"
    logo: str | None = None
    primary_colour: str = "#1d4ed8"
    accent_colour: str = "#f59e0b"

    def logo_uri(self) -> str | None:
        """The logo as a ``data:`` URI (the PDF and the HTML file then stand alone)."""
        if self.logo is None:
            return None
        path = Path(self.logo)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One period of the trend: its label and adherence per kind."""

    label: str
    response: Adherence
    resolution: Adherence
    ticket: Adherence


@dataclass(frozen=True, slots=True)
class TierHolds:
    """Pauses that counted in one tier: how many and how much business time."""

    tier: str
    tier_name: str
    holds: int
    paused_seconds: float
    reasons: tuple[tuple[str, int, float], ...]
    """(waiting status, holds, business seconds), the longest total first."""


@dataclass(frozen=True, slots=True)
class HoldLine:
    """One hold: a ticket's clock paused for a reason, from start to end."""

    source: str
    ticket_id: str
    tier: str
    reason: str
    start: datetime
    end: datetime
    paused_seconds: float


@dataclass(frozen=True, slots=True)
class RegisterLine:
    """A breach as the register shows it, with its exclusion (if the contract excuses it)."""

    breach: BreachLine
    exclusion: Exclusion | None


@dataclass(frozen=True, slots=True)
class ClockLine:
    """One clock decided in the period (the appendix)."""

    source: str
    ticket_id: str
    tier: str
    clock: str
    cycle: int
    started_at: datetime
    decided_at: datetime
    outcome: str
    business_seconds: float
    target_seconds: float
    excluded_reason: str


@dataclass(frozen=True, slots=True)
class TierMethod:
    """How one tier is measured for the client: targets as stated, calendar, pauses."""

    tier: str
    name: str
    response: str
    resolution: str
    calendar: str
    pauses: str


@dataclass(frozen=True, slots=True)
class CalendarMethod:
    """A calendar the figures used: its zone, opening hours and the period's holidays."""

    name: str
    timezone: str
    hours: str
    holidays_source: str | None
    holidays: tuple[date, ...]


@dataclass(frozen=True, slots=True)
class Pack:
    """Everything one evidence pack shows, in its order."""

    report: Report
    branding: Branding
    summary: tuple[str, ...]
    trend: tuple[TrendPoint, ...]
    register: tuple[RegisterLine, ...]
    holds: tuple[TierHolds, ...]
    longest_holds: tuple[HoldLine, ...]
    tiers: tuple[TierMethod, ...]
    calendars: tuple[CalendarMethod, ...]
    paused_statuses: tuple[tuple[str, tuple[str, ...]], ...]
    clocks: tuple[ClockLine, ...]

    @property
    def attestation(self) -> EvidenceAttestation | None:
        """The evidence-log range, head hash and key the figures were checked against."""
        return self.report.evidence

    @property
    def statements(self) -> tuple[CreditStatement, ...]:
        return self.report.credits

    @property
    def filename(self) -> str:
        return pack_filename(self.report)

    @property
    def appendix_name(self) -> str:
        return self.filename.removesuffix(".pdf") + "-clocks.csv"


def pack_filename(report: Report) -> str:
    """``acme-monthly-2026-10.pdf`` or ``acme-quarterly-2026-Q4.pdf`` (the archive's names)."""
    return f"{report.scope}-{report.kind}-{report.period.slug}.pdf"


def trend_periods(period: Period, count: int = TREND_PERIODS) -> list[Period]:
    """The ``count`` periods ending with ``period``, oldest first."""
    found = [period]
    while len(found) < count:
        found.append(found[-1].previous())
    return found[::-1]


@dataclass(slots=True)
class _Collector:
    """What the pack needs beyond the report, gathered from each evaluated ticket."""

    period: Period
    trend: list[Period]
    counter: TierCounter = field(init=False)
    pauses: PauseCounter = field(init=False)
    holds: list[HoldLine] = field(default_factory=list)
    clocks: list[ClockLine] = field(default_factory=list)
    excluded: dict[tuple[str, str, str], Exclusion] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # One window per trend period, named by its position; a period is half-open.
        self.counter = TierCounter(
            {str(i): (p.start_us, p.end_us - 1) for i, p in enumerate(self.trend)}
        )
        self.pauses = PauseCounter(self.period.start_us, self.period.end_us - 1)

    def __call__(self, ev: TicketEvaluation) -> None:
        self.counter.add(ev)
        self.pauses.add(ev)
        ticket = ev.ticket
        for kind, exclusion in ev.exclusions.items():
            self.excluded[(ticket.source, ticket.id, kind)] = exclusion
        start, end = self.period.start_us, self.period.end_us
        for clock in (ev.response, *ev.resolutions):
            decided = clock.decided_at
            if decided is not None and start <= decided < end:
                excluded = ev.exclusions.get(clock.kind)
                self.clocks.append(
                    ClockLine(
                        source=ticket.source,
                        ticket_id=ticket.id,
                        tier=clock.breach_tier or clock.tier,
                        clock=clock.kind,
                        cycle=clock.cycle,
                        started_at=from_us(clock.started_at),
                        decided_at=from_us(decided),
                        outcome=clock.state,
                        business_seconds=clock.elapsed_us / 1e6,
                        target_seconds=clock.target_us / 1e6,
                        excluded_reason="" if excluded is None else excluded.reason,
                    )
                )
        for cycle in ev.resolutions:
            for pause in cycle.pauses:
                if start <= pause.start < end:
                    self.holds.append(
                        HoldLine(
                            source=ticket.source,
                            ticket_id=ticket.id,
                            tier=ev.tier,
                            reason=pause.reason,
                            start=from_us(pause.start),
                            end=from_us(pause.end),
                            paused_seconds=pause.business_us / 1e6,
                        )
                    )


def _trend(
    client: str, trend: list[Period], figures: TierFigures, target: float | None
) -> tuple[TrendPoint, ...]:
    """Adherence of each trend period over all the client's tiers (the read model's sum)."""
    line = figures.total(figures.lines, client=client, tier=ALL_TIERS, name=ALL_TIERS)
    points = []
    for index, period in enumerate(trend):
        counts = [line.count(kind, str(index)) for kind in KINDS]
        cells = [adherence(c.met, c.breached, 0, 0, target) for c in counts]
        points.append(TrendPoint(period.short_label, *cells))
    return tuple(points)


def _holds(policy: Policy, client: str, collector: _Collector) -> tuple[TierHolds, ...]:
    by_tier: dict[str, list[tuple[str, int, float]]] = {}
    for row in collector.pauses.rows():
        by_tier.setdefault(row.tier, []).append((row.reason, row.pauses, row.business_us / 1e6))
    return tuple(
        TierHolds(
            tier=tier,
            tier_name=tier_name(policy, tier, client),
            holds=sum(r[1] for r in by_tier[tier]),
            paused_seconds=sum(r[2] for r in by_tier[tier]),
            reasons=tuple(sorted(by_tier[tier], key=lambda r: (-r[2], r[0]))),
        )
        for tier in tier_order(policy, by_tier)
    )


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _clock_text(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _hours_text(calendar: BusinessCalendar) -> str:
    if calendar.always_open:
        return "always open (24 hours a day, every day)"
    parts = []
    for day, intervals in sorted(calendar.week.items()):
        if intervals:
            spans = ", ".join(f"{_clock_text(a)}-{_clock_text(b)}" for a, b in intervals)
            parts.append(f"{_DAYS[day]} {spans}")
    return "; ".join(parts)


def _pause_text(policy: Policy, client: str, tier: str, version: int | None) -> str:
    found = policy.terms(client, tier, version).tier
    if not found.pause_allowed:
        return "never pauses (waiting statuses do not stop this tier's clocks)"
    if found.max_pause is not None:
        limit = formats.contract_duration(found.max_pause)
        return f"pauses while waiting, for at most {limit} in one cycle"
    return "pauses while waiting on the customer (no limit)"


def _methodology(
    policy: Policy, client: str, period: Period
) -> tuple[tuple[TierMethod, ...], tuple[CalendarMethod, ...]]:
    contract = policy.client(client).contract
    version = None
    if contract is not None:
        version = contract.version_at(period.start_us)
    tiers, calendars = [], {}
    first, last = period.start.date(), (period.end - timedelta(days=1)).date()
    for tier in tier_order(policy, policy.tiers):
        terms = policy.terms(client, tier, version)
        calendar = terms.calendar
        name = calendar.name or "calendar"
        tiers.append(
            TierMethod(
                tier=tier,
                name=terms.tier.name,
                response=formats.contract_duration(terms.tier.response),
                resolution=formats.contract_duration(terms.tier.resolution),
                calendar=name,
                pauses=_pause_text(policy, client, tier, version),
            )
        )
        if name not in calendars:
            calendars[name] = CalendarMethod(
                name=name,
                timezone=str(calendar.tz),
                hours=_hours_text(calendar),
                holidays_source=calendar.holidays_source,
                holidays=tuple(calendar.closed_dates(first, last)),
            )
    return tuple(tiers), tuple(calendars.values())


def _summary(report: Report, register: tuple[RegisterLine, ...], policy: Policy) -> list[str]:
    """The executive summary, in plain sentences."""
    total, label = report.total, report.period.label
    sentences = []
    cell = total.ticket
    if cell.rate is None:
        sentences.append(f"No ticket's clocks were decided in {label}.")
    else:
        against = (
            f" against a {formats.pct(cell.target)} target ({formats.verdict(cell)})"
            if cell.target is not None
            else ""
        )
        sentences.append(
            f"{ALL_CLOCKS_MET}: {formats.pct(cell.rate)} of the {cell.decided} tickets "
            f"decided in {label}{against}."
        )
        sentences.append(
            f"Response clocks met {formats.pct(total.response.rate)} "
            f"({total.response.met} of {total.response.decided}); resolution clocks met "
            f"{formats.pct(total.resolution.rate)} "
            f"({total.resolution.met} of {total.resolution.decided})."
        )
        unit = {"monthly": "month", "quarterly": "quarter"}.get(report.kind, "period")
        if cell.previous_rate is None:
            sentences.append(f"First {unit} measured: no earlier {unit} to compare.")
        else:
            sentences.append(
                f"{formats.trend(cell.trend).lstrip('▲▼= ').capitalize()} on "
                f"{report.previous_period.label} ({formats.pct(cell.previous_rate)})."
            )
    sentences.append(_top_tier_sentence(report, register, policy))
    for statement in report.credits:
        if statement.total is None:
            continue
        month = month_label(statement.month)
        if not statement.complete:
            sentences.append(
                f"{month} is not over: the service credits so far come to "
                f"{formats_money(statement)}."
            )
        elif statement.total == 0:
            sentences.append(f"No service credit is due for {month}.")
        else:
            sentences.append(f"A service credit of {formats_money(statement)} is due for {month}.")
    return sentences


def month_label(month: str) -> str:
    """``2026-10`` -> ``October 2026``."""
    return datetime.strptime(month, "%Y-%m").strftime("%B %Y")  # noqa: DTZ007 - a label only


def formats_money(statement: CreditStatement) -> str:
    """The statement's total after the cap, as money."""
    if statement.total is None:
        return "nothing"
    return format_money(statement.total, statement.currency)


def _top_tier_sentence(report: Report, register: tuple[RegisterLine, ...], policy: Policy) -> str:
    if not policy.tiers:
        return "No tier is configured."
    top = tier_order(policy, policy.tiers)[0]
    lines = [r.breach for r in register if r.breach.tier == top]
    if not lines:
        return f"No {top} breach."
    steps = [e for b in lines for e in b.escalations if e.fired_at is not None]
    late = sum(1 for e in steps if e.late)
    count = f"{len(lines)} {top} breach" + ("" if len(lines) == 1 else "es")
    if not steps:
        return f"{count}; no escalation was written for them."
    if late == 0:
        both = "both" if len(steps) == 2 else "all" if len(steps) > 2 else "it"
        return (
            f"{count}, {both} escalated on time."
            if len(steps) == len(lines)
            else (f"{count}; {len(steps)} escalations written, all on time.")
        )
    return f"{count}; {len(steps)} escalations written, {late} of them late."


def build_pack(
    store: ReportStore,
    policy: Policy,
    period: Period,
    now: datetime,
    *,
    client: str,
    timezone: str,
    branding: Branding | None = None,
    evidence: EvidenceVerdict | None = None,
    vocabulary: Vocabulary | None = None,
) -> Pack:
    """The evidence pack of ``client`` for ``period`` (a month or a quarter), as of ``now``."""
    trend = trend_periods(period)
    collector = _Collector(period, trend)
    report = build_report(
        store,
        policy,
        period,
        now,
        client=client,
        timezone=timezone,
        evidence=evidence,
        vocabulary=vocabulary,
        observers=(collector,),
        since_us=trend[0].start_us,
    )
    register = tuple(
        RegisterLine(b, collector.excluded.get((b.source, b.ticket_id, b.clock)))
        for b in report.breaches
    )
    tiers, calendars = _methodology(policy, client, period)
    target = report.total.target
    return Pack(
        report=report,
        branding=branding or Branding(),
        summary=tuple(_summary(report, register, policy)),
        trend=_trend(client, trend, collector.counter.figures(policy), target),
        register=register,
        holds=_holds(policy, client, collector),
        longest_holds=tuple(
            sorted(collector.holds, key=lambda h: (-h.paused_seconds, h.ticket_id))[:LONGEST_HOLDS]
        ),
        tiers=tiers,
        calendars=calendars,
        paused_statuses=tuple(
            (source, tuple(sorted(sets.paused))) for source, sets in sorted(policy.sources.items())
        ),
        clocks=tuple(sorted(collector.clocks, key=lambda c: (c.decided_at, c.ticket_id, c.clock))),
    )


def appendix_csv(pack: Pack) -> str:
    """Every clock decided in the period, one row each (times RFC 3339 UTC)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(APPENDIX_CSV_COLUMNS)
    for c in pack.clocks:
        writer.writerow(
            [
                c.source, c.ticket_id, c.tier, c.clock, c.cycle, format_instant(c.started_at),
                format_instant(c.decided_at), c.outcome, f"{c.business_seconds:.0f}",
                f"{c.target_seconds:.0f}", c.excluded_reason,
            ]
        )  # fmt: skip
    return out.getvalue()
