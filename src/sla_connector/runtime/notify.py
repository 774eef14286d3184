"""Escalation notices: a Slack incoming webhook (Block Kit), or the log only.

A notice goes out through the same delivery code as the reports (``reporting.Deliverer``),
so it has the same guarantees: the webhook URL is a secret read from the variable
``notify.slack.webhook_env`` names (or its ``_FILE``) at send time, and no error message,
log line or record ever contains it. A notice is best effort: one attempt, never held up
by retries, and the PSA write it follows stands whatever happens to it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sla_connector.core.durations import format_seconds
from sla_connector.reporting import Deliverer, slack_escape
from sla_connector.runtime.escalator import Notice, Notifier
from sla_connector.runtime.redaction import read_secret

__all__ = ["log_notifier", "notice_message", "notice_text", "slack_notifier"]

log = logging.getLogger("sla_connector.notify")
_WEBHOOK_KEY = "notify.slack.webhook_env"


async def log_notifier(notice: Notice) -> None:
    log.info(
        "escalation notice", extra={"event": "notify", "key": notice.key, "to": notice.recipient}
    )


def notice_text(notice: Notice) -> str:
    """One line: the step, the ticket, why, to whom, and "late by" when it fired late.

    Every value from the ticket or the configuration is escaped for Slack mrkdwn, so a
    ticket cannot ping ``<!channel>`` or hide a link (``reporting.escaping``)."""
    ticket, e = notice.ticket, slack_escape
    late = f" (late by {format_seconds(notice.lateness_us / 1e6)})" if notice.late else ""
    return (
        f":rotating_light: SLA escalation *{e(notice.step)}* ({e(notice.tier)}) on "
        f"{e(ticket.source)}/{e(ticket.id)} for {e(ticket.client)}: {e(notice.reason)}. "
        f"Escalated to {e(notice.recipient)}{late}."
    )


def notice_message(notice: Notice) -> dict[str, Any]:
    """The Block Kit message of a notice (within Slack's section and context limits)."""
    text = notice_text(notice)
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": _subject(notice.ticket.subject)}],
            },
        ],
    }


def _subject(subject: str) -> str:
    """The subject for the context block: escaped, one line, within Slack's 300 characters
    (never cut inside an entity such as ``&lt;``)."""
    text = slack_escape(" ".join((subject or "-").split()))
    if len(text) <= 300:
        return text
    text = text[:299]
    amp = text.rfind("&")
    if amp > text.rfind(";"):
        text = text[:amp]
    return text + "…"


def slack_notifier(
    webhook_env: str,
    *,
    environ: Mapping[str, str] | None = None,
    deliverer: Deliverer | None = None,
) -> Notifier:
    """Post each escalation to the Slack webhook named by ``webhook_env``.

    A failed post raises ``DeliveryError`` (its message names the status, never the URL);
    the escalator logs it and keeps the PSA write.
    """
    courier = deliverer or Deliverer(attempts=1, timeout=10.0)

    async def notify(notice: Notice) -> None:
        url, problem = read_secret(webhook_env, _WEBHOOK_KEY, environ)
        if url is None:
            reason = problem or f"environment variable {webhook_env} is not set"
            log.warning("Slack notification skipped: %s", reason)
            return
        await courier.post("slack", url, notice_message(notice), what=f"notice {notice.key}")

    return notify
