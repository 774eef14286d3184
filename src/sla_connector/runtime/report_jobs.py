"""Reports in the running daemon: the configuration resolved into plain values, and the jobs.

``reporting`` takes plain values and reads no configuration, environment or scheduler;
this module is where ``reports`` and ``notify`` become a ``ReportSchedule``, its
``Target``s (webhook URLs read from the variables the config names) and an ``SmtpServer``
(credentials read likewise), and where the APScheduler triggers of that schedule are built.
Secrets are read again at every run, so a rotated ``*_FILE`` secret is used without a
restart, and remembered so that no log line shows them (``runtime.redaction``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from sla_connector.core.policy import Policy
from sla_connector.core.ports import Clock
from sla_connector.core.vocabulary import Vocabulary
from sla_connector.reporting import (
    INTERNAL,
    Deliverer,
    ReportSchedule,
    SmtpServer,
    Target,
    run_due_reports,
)
from sla_connector.reporting.compute import client_timezone
from sla_connector.reporting.delivery import Channel
from sla_connector.reporting.pack import Branding
from sla_connector.runtime.redaction import read_secret
from sla_connector.runtime.timeline import Timeline
from sla_connector.settings.services import (
    BrandingConfig,
    NotifyConfig,
    RecipientConfig,
    ReportsConfig,
)
from sla_connector.store import Store

__all__ = [
    "ReportJob",
    "branding_of",
    "deliverer_for",
    "monthly_trigger",
    "quarterly_trigger",
    "report_schedule",
    "report_targets",
    "smtp_server",
    "weekly_trigger",
]

log = logging.getLogger("sla_connector.runtime")
Environ = Mapping[str, str] | None


def _webhook(recipient: str, channel: Channel, variable: str, environ: Environ) -> Target:
    key = f"reports.recipients.{recipient}.{channel}_webhook_env"
    url, problem = read_secret(variable, key, environ)
    if url is None and problem is None:
        problem = f"{key}: environment variable {variable} (or {variable}_FILE) is not set"
    return Target(recipient, channel, webhook_url=url, problem=problem)


def report_targets(
    recipients: Mapping[str, RecipientConfig],
    *,
    only: str | None = None,
    environ: Environ = None,
    policy: Policy | None = None,
    timezone: str | None = None,
) -> tuple[Target, ...]:
    """Every configured (recipient, channel) in config order; ``only`` keeps one recipient.

    With ``policy``, a client's targets carry the client's time zone (``client_timezone``:
    its contract's, else its calendar's, else ``timezone``).
    """
    found: list[Target] = []
    for key, config in recipients.items():
        if only is not None and key != only:
            continue
        zone = None
        if policy is not None and key != INTERNAL:
            zone = client_timezone(policy, key, timezone or "UTC")
        targets: list[Target] = []
        if config.email:
            targets.append(Target(key, "email", addresses=tuple(config.email)))
        if config.slack_webhook_env:
            targets.append(_webhook(key, "slack", config.slack_webhook_env, environ))
        if config.teams_webhook_env:
            targets.append(_webhook(key, "teams", config.teams_webhook_env, environ))
        found += [replace(target, timezone=zone) for target in targets]
    return tuple(found)


def branding_of(branding: BrandingConfig) -> Branding:
    """``reports.branding`` as the plain value the packs take."""
    return Branding(
        msp_name=branding.msp_name,
        logo=branding.logo,
        primary_colour=branding.primary_colour,
        accent_colour=branding.accent_colour,
    )


def report_schedule(
    reports: ReportsConfig, environ: Environ = None, policy: Policy | None = None
) -> ReportSchedule:
    """``reports`` as the plain schedule ``reporting`` runs, webhook URLs read now."""
    return ReportSchedule(
        timezone=reports.timezone,
        weekly_day=reports.weekly.day,
        weekly_at=reports.weekly.at,
        monthly_day=reports.monthly.day,
        monthly_at=reports.monthly.at,
        quarterly_day=reports.quarterly.day,
        quarterly_at=reports.quarterly.at,
        targets=report_targets(
            reports.recipients, environ=environ, policy=policy, timezone=reports.timezone
        ),
        branding=branding_of(reports.branding),
        archive_dir=reports.archive_dir,
    )


def smtp_server(notify: NotifyConfig, environ: Environ = None) -> SmtpServer | None:
    """``notify.smtp`` with its username and password read now; None when not configured.

    An unset credential variable means no credential (the server's refusal then says why);
    one whose ``_FILE`` cannot be read makes every email fail with ``problem``.
    """
    smtp = notify.smtp
    if smtp is None:
        return None
    credentials: list[str | None] = []
    problems: list[str] = []
    for variable, key in ((smtp.username_env, "username_env"), (smtp.password_env, "password_env")):
        value, problem = (None, None)
        if variable:
            value, problem = read_secret(variable, f"notify.smtp.{key}", environ)
        credentials.append(value)
        problems += [problem] if problem else []
    return SmtpServer(
        host=smtp.host,
        sender=smtp.sender,
        port=smtp.port,
        starttls=smtp.starttls,
        ssl=smtp.ssl,
        username=credentials[0],
        password=credentials[1],
        problem="; ".join(problems) or None,
    )


def deliverer_for(notify: NotifyConfig, *, environ: Environ = None, **options: Any) -> Deliverer:
    """The ``Deliverer`` of ``notify`` (``options`` as ``Deliverer`` takes them)."""
    return Deliverer(smtp_server(notify, environ), **options)


def _cron(schedule: ReportSchedule, **fields: Any) -> CronTrigger:
    return CronTrigger(timezone=schedule.zone, **fields)


def weekly_trigger(schedule: ReportSchedule) -> CronTrigger:
    """The APScheduler trigger of the weekly report (local time, DST-aware)."""
    at = schedule.weekly_at
    return _cron(
        schedule, day_of_week=schedule.weekly_day, hour=at.hour, minute=at.minute, second=at.second
    )


def monthly_trigger(schedule: ReportSchedule) -> CronTrigger:
    """The APScheduler trigger of the monthly report."""
    at = schedule.monthly_at
    return _cron(
        schedule, day=schedule.monthly_day, hour=at.hour, minute=at.minute, second=at.second
    )


def quarterly_trigger(schedule: ReportSchedule) -> CronTrigger:
    """The APScheduler trigger of the quarterly pack: the first ``quarterly_day`` of the
    quarter's first month, which is the first such day after the previous quarter ended
    (APScheduler 3 ANDs ``day`` and ``day_of_week``)."""
    at = schedule.quarterly_at
    return _cron(
        schedule,
        month="1,4,7,10",
        day="1-7",
        day_of_week=schedule.quarterly_day,
        hour=at.hour,
        minute=at.minute,
        second=at.second,
    )


@dataclass
class ReportJob:
    """Sends every due report run: at the cron times, and hourly to catch up after downtime.

    The schedule and the deliverer are resolved from the configuration at every run;
    ``delivery`` holds ``Deliverer`` options (tests pass a virtual ``sleep``).
    """

    reports: ReportsConfig
    notify: NotifyConfig
    policy: Policy
    store: Store
    clock: Clock
    started: datetime
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    environ: Environ = None
    delivery: Mapping[str, Any] = field(default_factory=dict)

    async def __call__(self) -> None:
        schedule = report_schedule(self.reports, self.environ, self.policy)
        deliverer = deliverer_for(self.notify, environ=self.environ, **self.delivery)
        outcomes = await run_due_reports(
            self.store,
            self.policy,
            schedule,
            self.clock.now(),
            deliverer,
            vocabulary=self.vocabulary,
            not_before=self.started,
        )
        for outcome in outcomes:
            log.info(
                "report run",
                extra={"event": "report", "state": outcome.state, "kind": outcome.kind},
            )

    def arm(self, timeline: Timeline) -> None:
        """Register the weekly and monthly triggers and the hourly sweep (retries, catch-up)."""
        schedule = report_schedule(self.reports, self.environ)
        timeline.cron("report:weekly", weekly_trigger(schedule), self)
        timeline.cron("report:monthly", monthly_trigger(schedule), self)
        timeline.cron("report:quarterly", quarterly_trigger(schedule), self)
        timeline.every("report:sweep", timedelta(hours=1), self)
