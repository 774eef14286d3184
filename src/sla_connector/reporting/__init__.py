"""Reports: the adherence a client (or the whole MSP) got in a week or a month, delivered.

``build_report`` / ``compute_report`` recompute the figures with the core from the stored
ticket history; ``render_all`` turns a ``Report`` into an HTML email with a plain-text
alternative, Slack Block Kit and a Teams Adaptive Card (plus ``render_json`` and
``render_csv``); ``Deliverer`` sends them by SMTP and webhooks with retries; and
``run_due_reports`` sends each scheduled report exactly once (DESIGN section 7).
This package reads the store through the Protocols in ``reporting.ports`` and never imports
``sla_connector.store`` itself.
"""

from sla_connector.reporting.compute import INTERNAL, build_report, compute_report
from sla_connector.reporting.delivery import Deliver, Deliverer, DeliveryError, Target, targets
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
    RunOutcome,
    due_runs,
    monthly_trigger,
    period_for,
    run_due_reports,
    weekly_trigger,
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
    "RunOutcome",
    "Target",
    "build_report",
    "compute_report",
    "due_runs",
    "monthly_period",
    "monthly_trigger",
    "period_for",
    "render_all",
    "render_csv",
    "render_html",
    "render_json",
    "render_text",
    "run_due_reports",
    "targets",
    "weekly_period",
    "weekly_trigger",
]
