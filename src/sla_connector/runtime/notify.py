"""Escalation notifications: a Slack incoming webhook (Block Kit), or the log only."""

from __future__ import annotations

import logging

import httpx

from sla_connector.core.durations import format_seconds
from sla_connector.runtime.escalator import Notice, Notifier
from sla_connector.settings import resolve_secret

__all__ = ["log_notifier", "slack_notifier"]

log = logging.getLogger("sla_connector.notify")


async def log_notifier(notice: Notice) -> None:
    log.info(
        "escalation notice", extra={"event": "notify", "key": notice.key, "to": notice.recipient}
    )


def slack_notifier(webhook_env: str, client: httpx.AsyncClient | None = None) -> Notifier:
    """Post each escalation to the Slack webhook named by ``webhook_env``."""
    http = client or httpx.AsyncClient(timeout=10.0)

    async def notify(notice: Notice) -> None:
        url = resolve_secret(webhook_env)
        if not url:
            log.warning(
                "Slack notification skipped: environment variable %s is not set", webhook_env
            )
            return
        ticket = notice.ticket
        late = f" (late by {format_seconds(notice.lateness_us / 1e6)})" if notice.late else ""
        text = (
            f":rotating_light: SLA escalation *{notice.step}* ({notice.tier}) on "
            f"{ticket.source}/{ticket.id} for {ticket.client}: {notice.reason}. "
            f"Escalated to {notice.recipient}{late}."
        )
        body = {
            "text": text,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}},
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": (ticket.subject or "-")[:300]}],
                },
            ],
        }
        response = await http.post(url, json=body)
        response.raise_for_status()

    return notify
