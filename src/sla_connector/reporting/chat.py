"""Chat renderings of a report: a Slack Block Kit message and a Microsoft Teams Adaptive Card.

Both are plain data (posted as JSON to an incoming webhook), built here rather than in a
template so the platform limits are enforced on the structure itself: Slack takes at most
50 blocks, 3000 characters per section text and 150 per header; a Teams message must stay
under about 28 KB. Long lists are cut with a line saying how many were left out (the email
and the CSV export have them all).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson

from sla_connector.reporting.escaping import slack_escape, teams_escape
from sla_connector.reporting.formats import (
    duration,
    lateness,
    local_formatter,
    pct,
    subject,
    trend,
    verdict,
)
from sla_connector.reporting.model import Adherence, BreachLine, Report

__all__ = [
    "SLACK_MAX_BLOCKS",
    "SLACK_MAX_HEADER",
    "SLACK_MAX_SECTION",
    "TEAMS_MAX_BYTES",
    "slack_message",
    "teams_message",
]

SLACK_MAX_BLOCKS = 50
SLACK_MAX_SECTION = 3000
SLACK_MAX_HEADER = 150
SLACK_MAX_FIELD = 2000
TEAMS_MAX_BYTES = 27_000
_LISTED = 15
_KINDS = (("response", "Response"), ("resolution", "Resolution"), ("ticket", "Both clocks met"))
_Local = Callable[[datetime | None], str]
_Item = tuple[str, str]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_escape = slack_escape


def _cell_text(cell: Adherence) -> str:
    target = "" if cell.target is None else f" (target {pct(cell.target)})"
    counts = f"{cell.met} met / {cell.breached} breached"
    return f"{pct(cell.rate)}{target}, {verdict(cell)}; {counts}; {trend(cell.trend)}"


def breach_item(b: BreachLine, local: _Local, *, msp: bool) -> _Item:
    """One breach: (ticket, what happened and what the escalations did)."""
    steps = ", ".join(f"{e.step} to {e.recipient} {e.state} {lateness(e)}" for e in b.escalations)
    text = f"{b.clock} breached {local(b.breached_at)} ({b.tier})"
    text += " still open" if b.still_open else ""
    if b.subject:
        text += f" - {_clip(b.subject, 80)}"
    text += f"; escalations: {steps}" if steps else "; no escalation recorded"
    return f"{b.source}/{b.ticket_id}" + (f" [{b.client}]" if msp else ""), text


def _listing(report: Report, local: _Local) -> list[tuple[str, list[_Item]]]:
    """The titled lists both chat messages show, as (label, detail) items."""
    msp = report.client is None
    tiers = [
        (
            f"{t.tier} {t.tier_name}",
            f"response {pct(t.response.rate)}, resolution {pct(t.resolution.rate)}, "
            f"both {pct(t.ticket.rate)}; {t.created} created; mean respond "
            f"{duration(t.mean_respond_s)}, resolve {duration(t.mean_resolve_s)}",
        )
        for t in report.tiers
        if t.created or t.ticket.decided or t.response.decided or t.resolution.decided
    ]
    clients = [
        (
            c.name,
            f"tickets {pct(c.ticket.rate)} (target {pct(c.target)}), "
            f"{c.breaches} breaches, {c.at_risk} at risk",
        )
        for c in report.clients_by_concern
    ]
    escalations = [
        (
            f"{e.step} on {e.source}/{e.ticket_id}",
            f"to {e.recipient}: {e.state}, {lateness(e)}",
        )
        for e in report.escalations
    ]
    risks = [
        (
            f"{a.source}/{a.ticket_id}" + (f" [{a.client}]" if msp else ""),
            f"{a.clock} {a.tier}: {a.used * 100:.0f}% used, breaches in "
            f"{duration(a.seconds_to_breach)} ({local(a.due_at)})",
        )
        for a in report.at_risk
    ]
    sections = [("By tier", tiers)]
    if report.client is None:
        sections.append(("By client", clients))
    sections += [
        (
            f"Breaches ({len(report.breaches)})",
            [breach_item(b, local, msp=msp) for b in report.breaches],
        ),
        (f"Escalations fired ({len(report.escalations)})", escalations),
        (f"At risk now ({len(report.at_risk)})", risks),
    ]
    return sections


def _capped(items: Sequence[_Item], limit: int) -> list[_Item]:
    if not items:
        return [("none", "")]
    if len(items) <= limit:
        return list(items)
    more = f"{len(items) - limit} more"
    return [*items[:limit], (more, "see the email or the CSV export")]


def _chunks(title: str, items: list[_Item]) -> list[str]:
    """Section texts of at most ``SLACK_MAX_SECTION`` characters, the title on the first."""
    chunks: list[str] = []
    current = f"*{_escape(title)}*"
    for label, detail in items:
        line = f"*{_escape(label)}*" + (f": {_escape(detail)}" if detail else "")
        item = "\n• " + _clip(line, SLACK_MAX_SECTION - 10)
        if len(current) + len(item) > SLACK_MAX_SECTION:
            chunks.append(current)
            current = item.lstrip("\n")
        else:
            current += item
    chunks.append(current)
    return chunks


def slack_message(report: Report, *, listed: int = _LISTED) -> dict[str, Any]:
    """The Block Kit payload of an incoming webhook, within Slack's limits."""
    local = local_formatter(report.timezone)
    title = subject(report)
    head: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(title, SLACK_MAX_HEADER)}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": _escape(
                        f"{report.scope_name} | {local(report.period.start)} to "
                        f"{local(report.period.end)} | compared with {report.previous_period.label}"
                    ),
                }
            ],
        },
        {
            "type": "section",
            "fields": [
                {
                    "type": "mrkdwn",
                    "text": _clip(
                        f"*{name}*\n{_escape(_cell_text(getattr(report.total, kind)))}",
                        SLACK_MAX_FIELD,
                    ),
                }
                for kind, name in _KINDS
            ]
            + [
                {"type": "mrkdwn", "text": f"*Tickets created*\n{report.total.created}"},
            ],
        },
        {"type": "divider"},
    ]
    body: list[dict[str, Any]] = []
    for name, items in _listing(report, local):
        for text in _chunks(name, _capped(items, listed)):
            body.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    tail = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": _clip(_escape(report.evidence_statement), 3000)}],
    }
    room = SLACK_MAX_BLOCKS - len(head) - 1
    if len(body) > room:
        dropped = len(body) - room + 1
        body = [
            *body[: room - 1],
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"{dropped} more sections left out; see the email."}
                ],
            },
        ]
    return {"text": _clip(_escape(title), 3000), "blocks": [*head, *body, tail]}


def _fact_set(items: list[_Item]) -> dict[str, Any]:
    facts = [
        {"title": teams_escape(label), "value": teams_escape(detail) or " "}
        for label, detail in items
    ]
    return {"type": "FactSet", "facts": facts}


def _teams_card(report: Report, listed: int) -> dict[str, Any]:
    local = local_formatter(report.timezone)
    columns = []
    for kind, name in _KINDS:
        cell: Adherence = getattr(report.total, kind)
        good = {True: "Good", False: "Attention", None: "Default"}[cell.meets_target]
        target = "no target" if cell.target is None else f"target {pct(cell.target)}"
        columns.append(
            {
                "type": "Column",
                "width": "stretch",
                "items": [
                    {"type": "TextBlock", "text": name, "weight": "Bolder", "wrap": True},
                    {
                        "type": "TextBlock",
                        "text": pct(cell.rate),
                        "size": "ExtraLarge",
                        "color": good,
                    },
                    {
                        "type": "TextBlock",
                        "text": f"{target}, {verdict(cell)}",
                        "wrap": True,
                        "isSubtle": True,
                        "spacing": "None",
                    },
                    {
                        "type": "TextBlock",
                        "text": trend(cell.trend),
                        "wrap": True,
                        "isSubtle": True,
                        "spacing": "None",
                    },
                ],
            }
        )
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": teams_escape(subject(report)),
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
            "style": "heading",
        },
        {
            "type": "TextBlock",
            "isSubtle": True,
            "wrap": True,
            "text": f"{local(report.period.start)} to {local(report.period.end)}; "
            f"{report.total.created} tickets created; compared with {report.previous_period.label}",
        },
        {"type": "ColumnSet", "columns": columns},
    ]
    for name, items in _listing(report, local):
        body.append(
            {"type": "TextBlock", "text": name, "weight": "Bolder", "wrap": True, "separator": True}
        )
        body.append(_fact_set(_capped(items, listed)))
    body.append(
        {
            "type": "TextBlock",
            "text": report.evidence_statement,
            "wrap": True,
            "isSubtle": True,
            "separator": True,
        }
    )
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
    }


def teams_message(report: Report, *, listed: int = _LISTED) -> dict[str, Any]:
    """An Adaptive Card in the message envelope Teams Workflows and incoming webhooks take."""
    while True:
        message = {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": _teams_card(report, listed),
                }
            ],
        }
        if listed <= 1 or len(orjson.dumps(message)) <= TEAMS_MAX_BYTES:
            return message
        listed //= 2
