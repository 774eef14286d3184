"""Reports: the adherence a client (or the whole MSP) got in a week or a month, delivered.

``build_report`` / ``compute_report`` recompute the figures with the core from the stored
ticket history; ``render_all`` turns a ``Report`` into an HTML email with a plain-text
alternative, Slack Block Kit and a Teams Adaptive Card (plus ``render_json`` and
``render_csv``); ``Deliverer`` sends them (and the escalation notices) by SMTP and
webhooks with retries; and ``run_due_reports`` sends each report of a ``ReportSchedule``
exactly once (DESIGN section 7). This package reads the store through the Protocols in
``reporting.ports`` and never imports ``sla_connector.store`` itself; it takes plain values
(addresses, a sender, a secret already read) and imports neither the settings models nor
the scheduler, whose triggers the runtime builds.
"""

from sla_connector.reporting.compute import INTERNAL, build_report, compute_report
from sla_connector.reporting.delivery import (
    Deliver,
    Deliverer,
    DeliveryError,
    SmtpServer,
    Target,
)
from sla_connector.reporting.escaping import header_text, slack_escape, teams_escape
from sla_connector.reporting.model import Report
from sla_connector.reporting.periods import Period, monthly_period, weekly_period
from sla_connector.reporting.render import (
    Rendered,
    render_all,
    render_csv,
    render_html,
    render_json,
    render_text,
)
from sla_connector.reporting.schedule import (
    DueRun,
    ReportSchedule,
    RunOutcome,
    due_runs,
    period_for,
    run_due_reports,
)

__all__ = [
    "INTERNAL",
    "Deliver",
    "Deliverer",
    "DeliveryError",
    "DueRun",
    "Period",
    "Rendered",
    "Report",
    "ReportSchedule",
    "RunOutcome",
    "SmtpServer",
    "Target",
    "build_report",
    "compute_report",
    "due_runs",
    "header_text",
    "monthly_period",
    "period_for",
    "render_all",
    "render_csv",
    "render_html",
    "render_json",
    "render_text",
    "run_due_reports",
    "slack_escape",
    "teams_escape",
    "weekly_period",
]
