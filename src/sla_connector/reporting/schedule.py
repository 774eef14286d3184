"""When reports are due, and sending each due report exactly once.

Weekly reports fire at ``reports.weekly.day``/``at`` (default Monday 08:00) and cover the
previous Monday-to-Monday week; monthly ones fire on ``reports.monthly.day``/``at`` and
cover the previous calendar month, and quarterly ones fire on the first
``reports.quarterly.day`` (default Monday) after a calendar quarter ends and cover it, all in
``reports.timezone`` (DESIGN section 7); a client's period is cut in the client's own time
zone (``Target.timezone``). Quarterly runs go to clients' email recipients only (the
client's evidence pack); ``internal`` gets the weekly and monthly all-clients summary. The
runtime turns that configuration into a ``ReportSchedule`` (plain values, secrets already
read) and builds the scheduler's triggers from it; nothing here knows the scheduler.

``due_runs`` is pure: from the schedule, an instant and the runs already recorded it lists
the (kind, period, target) still to send. A target with recorded runs catches up every
period after its last sent one (at most ``max_catch_up``), so a report missed while the
daemon was down goes out once when it is back. A target without any run yet gets every
period due since ``not_before`` (the instant the daemon started serving reports), or only
the latest one when ``not_before`` is None. ``run_due_reports`` claims each run in the
store first, so two processes or two ticks never both send it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sla_connector.core.calendars import to_us
from sla_connector.core.ledger import ReportRun
from sla_connector.core.policy import Policy
from sla_connector.core.vocabulary import Vocabulary
from sla_connector.reporting.compute import build_report
from sla_connector.reporting.delivery import Deliver, Target, scrub
from sla_connector.reporting.pack import Branding, appendix_csv, build_pack
from sla_connector.reporting.periods import (
    KINDS,
    Period,
    PeriodKind,
    monthly_period,
    quarterly_period,
    weekly_period,
)
from sla_connector.reporting.ports import EvidenceVerdict, RunStore
from sla_connector.reporting.render import Attachment, Rendered, render_all, render_pack_pdf

__all__ = [
    "WEEKDAYS",
    "DueRun",
    "ReportSchedule",
    "RunOutcome",
    "archive",
    "due_runs",
    "fire_before",
    "last_fire",
    "period_for",
    "run_due_reports",
]

log = logging.getLogger("sla_connector.reports")

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_CATCH_UP = 6


@dataclass(frozen=True, slots=True)
class ReportSchedule:
    """When reports are due, in which zone, and to whom (``reports`` of the config, resolved).

    ``weekly_day`` is one of ``WEEKDAYS``; ``monthly_day`` is 1-28 (a day every month has).
    """

    timezone: str = "UTC"
    weekly_day: str = "mon"
    weekly_at: time = time(8, 0)
    monthly_day: int = 1
    monthly_at: time = time(8, 0)
    targets: tuple[Target, ...] = ()
    quarterly_day: str = "mon"
    quarterly_at: time = time(8, 0)
    branding: Branding = field(default_factory=Branding)
    archive_dir: str | None = None
    """Where each client's delivered packs are also written (``reports.archive_dir``)."""

    def __post_init__(self) -> None:
        if self.weekly_day not in WEEKDAYS:
            raise ValueError(f"weekly_day {self.weekly_day!r} is not one of {WEEKDAYS}")
        if not 1 <= self.monthly_day <= 28:
            raise ValueError(f"monthly_day {self.monthly_day} is not in 1-28")
        if self.quarterly_day not in WEEKDAYS:
            raise ValueError(f"quarterly_day {self.quarterly_day!r} is not one of {WEEKDAYS}")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def at(self, kind: PeriodKind) -> time:
        """The local time of day at which ``kind`` is due."""
        if kind == "quarterly":
            return self.quarterly_at
        return self.weekly_at if kind == "weekly" else self.monthly_at


@dataclass(frozen=True, slots=True)
class DueRun:
    """One report to send: its kind and period, when it was due, and to whom."""

    kind: PeriodKind
    period: Period
    fire_at: datetime
    target: Target

    @property
    def period_start(self) -> int:
        return self.period.start_us


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What became of one due run: ``sent``, ``failed``, or ``skipped`` (claimed elsewhere)."""

    kind: str
    period_start: int
    recipient: str
    state: str
    detail: str
    late_by: timedelta


def _at(day: date, at: time, zone: ZoneInfo) -> datetime:
    # A report time inside a DST gap resolves as zoneinfo does with fold=0 (SEMANTICS S05).
    local = datetime.combine(day, at, tzinfo=zone)
    return local.astimezone(zone)


def _fire_on_or_before(kind: PeriodKind, schedule: ReportSchedule, day: date) -> date:
    """The latest local date <= ``day`` on which ``kind`` fires."""
    if kind == "weekly":
        wanted = WEEKDAYS.index(schedule.weekly_day)
        return day - timedelta(days=(day.weekday() - wanted) % 7)
    if kind == "quarterly":
        wanted = WEEKDAYS.index(schedule.quarterly_day)
        start = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
        fire = start + timedelta(days=(wanted - start.weekday()) % 7)
        if fire <= day:
            return fire
        earlier = (start - timedelta(days=1)).replace(day=1)
        earlier = earlier.replace(month=(earlier.month - 1) // 3 * 3 + 1)
        return earlier + timedelta(days=(wanted - earlier.weekday()) % 7)
    if day.day >= schedule.monthly_day:
        return day.replace(day=schedule.monthly_day)
    last_month = day.replace(day=1) - timedelta(days=1)
    return last_month.replace(day=schedule.monthly_day)


def last_fire(kind: PeriodKind, schedule: ReportSchedule, now: datetime) -> datetime:
    """The latest instant <= ``now`` at which ``kind`` was due (aware, in the report zone)."""
    zone = schedule.zone
    day = now.astimezone(zone).date()
    fire = _at(_fire_on_or_before(kind, schedule, day), schedule.at(kind), zone)
    if fire > now:
        fire = fire_before(kind, schedule, fire)
    return fire


def fire_before(kind: PeriodKind, schedule: ReportSchedule, fire: datetime) -> datetime:
    """The due instant of ``kind`` just before the due instant ``fire``."""
    zone = schedule.zone
    day = fire.astimezone(zone).date() - timedelta(days=1)
    return _at(_fire_on_or_before(kind, schedule, day), schedule.at(kind), zone)


def period_for(kind: PeriodKind, fire_instant: datetime, timezone: str | None = None) -> Period:
    """The period a report due at ``fire_instant`` covers (in ``timezone``, else the instant's)."""
    zone = ZoneInfo(timezone) if timezone is not None else fire_instant.tzinfo
    if not isinstance(zone, ZoneInfo):
        raise ValueError("period_for needs a time zone name or an instant in a ZoneInfo zone")
    if kind == "weekly":
        return weekly_period(fire_instant, zone)
    if kind == "quarterly":
        return quarterly_period(fire_instant, zone)
    return monthly_period(fire_instant, zone)


def _anchor(runs: Sequence[ReportRun], kind: str, run_key: str) -> int | None:
    """The period start after which periods are still owed to this target, None if no runs.

    Sent or in-flight runs end the debt; failed runs stay owed (a later tick retries them).
    """
    mine = [r for r in runs if r.kind == kind and r.recipient == run_key]
    done = [r.period_start for r in mine if r.state != "failed"]
    if done:
        return max(done)
    if mine:
        return min(r.period_start for r in mine) - 1
    return None


def due_runs(
    schedule: ReportSchedule,
    now: datetime,
    runs: Sequence[ReportRun],
    *,
    not_before: datetime | None = None,
    max_catch_up: int = MAX_CATCH_UP,
) -> list[DueRun]:
    """The runs to send at ``now``, oldest period first (pure)."""
    due: list[DueRun] = []
    for target in schedule.targets:
        for kind in KINDS:
            if kind == "quarterly" and (target.client is None or target.channel != "email"):
                continue  # the quarterly pack is a client's, emailed; chat gets the summaries
            anchor = _anchor(runs, kind, target.run_key)
            fire = last_fire(kind, schedule, now)
            owed: list[DueRun] = []
            while len(owed) < max_catch_up:
                period = period_for(kind, fire, target.timezone or schedule.timezone)
                if anchor is not None:
                    if period.start_us <= anchor:
                        break  # sent (or being sent) already
                elif not_before is None:
                    if owed:
                        break  # a target never served gets the latest period only
                elif fire < not_before:
                    break  # due before this target was served at all
                owed.append(DueRun(kind, period, fire, target))
                fire = fire_before(kind, schedule, fire)
            due.extend(reversed(owed))
    due.sort(key=lambda run: (run.fire_at, run.kind, run.target.run_key))
    return due


async def run_due_reports(
    store: RunStore,
    policy: Policy,
    schedule: ReportSchedule,
    now: datetime,
    deliver: Deliver,
    *,
    vocabulary: Vocabulary | None = None,
    not_before: datetime | None = None,
    max_catch_up: int = MAX_CATCH_UP,
) -> list[RunOutcome]:
    """Claim, build, deliver and record every due report run; returns what happened.

    A report is built once per (kind, period, scope) and shared by its targets. A delivery
    failure is recorded as ``failed`` (and retried by a later call); it never stops the
    other runs.
    """
    at = to_us(now)
    runs = await asyncio.to_thread(store.report_runs)
    outcomes: list[RunOutcome] = []
    rendered: dict[tuple[str, int, str | None], Rendered] = {}
    evidence: list[EvidenceVerdict] = []
    for run in due_runs(schedule, now, runs, not_before=not_before, max_catch_up=max_catch_up):
        kind, start, key = run.kind, run.period_start, run.target.run_key
        late_by = now - run.fire_at
        if not await asyncio.to_thread(store.claim_report, kind, start, key, at=at):
            outcomes.append(RunOutcome(kind, start, key, "skipped", "claimed elsewhere", late_by))
            continue
        try:
            cache_key = (kind, start, run.target.client)
            if cache_key not in rendered:
                if not evidence:
                    evidence.append(await asyncio.to_thread(store.verify_evidence))
                rendered[cache_key] = await asyncio.to_thread(
                    _render,
                    store,
                    policy,
                    schedule,
                    run,
                    now=now,
                    evidence=evidence[0],
                    vocabulary=vocabulary,
                )
            detail = await deliver(rendered[cache_key], run.target)
            state = "sent"
        except Exception as exc:  # a job boundary: record the failure, go on with the others
            # Recorded, logged and shown on the dashboard: never with the webhook URL in it.
            message = scrub(str(exc), run.target.webhook_url)
            state, detail = "failed", f"{type(exc).__name__}: {message}"[:500]
            log.warning("report %s %s to %s failed: %s", kind, run.period.slug, key, detail)
        else:
            log.info("report %s %s sent to %s (%s)", kind, run.period.slug, key, detail)
        await asyncio.to_thread(
            store.finish_report, kind, start, key, state=state, at=at, detail=detail
        )
        outcomes.append(RunOutcome(kind, start, key, state, detail, late_by))
    return outcomes


def _render(
    store: RunStore,
    policy: Policy,
    schedule: ReportSchedule,
    run: DueRun,
    *,
    now: datetime,
    evidence: EvidenceVerdict,
    vocabulary: Vocabulary | None,
) -> Rendered:
    client = run.target.client
    timezone = run.target.timezone or schedule.timezone
    if client is None or run.kind == "weekly":
        report = build_report(
            store,
            policy,
            run.period,
            now,
            client=client,
            timezone=timezone,
            evidence=evidence,
            vocabulary=vocabulary,
        )
        return render_all(report)
    # A client's month or quarter: the evidence pack, attached and archived.
    pack = build_pack(
        store,
        policy,
        run.period,
        now,
        client=client,
        timezone=timezone,
        branding=schedule.branding,
        evidence=evidence,
        vocabulary=vocabulary,
    )
    pdf = render_pack_pdf(pack)
    if schedule.archive_dir is not None:
        archive(Path(schedule.archive_dir), pack.filename, pdf)
    return render_all(
        pack.report,
        (
            Attachment(pack.filename, "application/pdf", pdf),
            Attachment(pack.appendix_name, "text/csv", appendix_csv(pack).encode()),
        ),
    )


def archive(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` as ``folder/name`` atomically (a reader never sees half a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    partial = folder / f".{name}.partial"
    partial.write_bytes(data)
    os.replace(partial, target)
    return target
