"""A ticket's ``explain`` as a value: tier and rule, each clock's timeline, the escalations.

The same facts ``sla-connector explain`` prints (``cli.explain.render``), structured for
the ticket page and ``/api/tickets/{source}/{id}``; clock times are also given in the
calendar's local time, as ``explain`` shows them, because that is how the contract reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from sla_connector.core.calendars import from_us, to_us
from sla_connector.core.durations import describe_duration, format_seconds
from sla_connector.core.evaluate import ClockResult, evaluate
from sla_connector.core.policy import Policy
from sla_connector.core.readmodel import EscalationLine, client_name, escalation_lines
from sla_connector.core.vocabulary import Vocabulary
from sla_connector.web.data import DashboardSource, fill_ticket_url
from sla_connector.web.figures import client_zone, is_open

__all__ = ["ClockView", "StepView", "TicketView", "TimelineEntry", "build_ticket"]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One thing that happened to a clock, at an instant and in the calendar's wall time."""

    at: datetime
    local: str
    label: str


@dataclass(frozen=True, slots=True)
class ClockView:
    """One clock cycle as ``explain`` shows it."""

    kind: str
    title: str
    cycle: int
    state: str
    tier: str
    tier_name: str
    calendar: str
    target_seconds: float
    elapsed_seconds: float
    remaining_seconds: float
    target_text: str
    used_text: str
    remaining_text: str
    due_at: datetime | None
    due_local: str | None
    stopped_at: datetime | None
    breached_at: datetime | None
    breached_local: str | None
    breach_tier: str | None
    timeline: list[TimelineEntry]


@dataclass(frozen=True, slots=True)
class StepView:
    """A triggered escalation step from the plan, joined with its ledger state if any."""

    key: str
    step: str
    tier: str
    cycle: int
    to: str
    state: str
    triggered_at: datetime
    due_at: datetime
    reason: str
    actions: list[str]
    ledger_state: str | None


@dataclass(frozen=True, slots=True)
class TierChangeView:
    at: datetime
    tier: str
    manual: bool


@dataclass(frozen=True, slots=True)
class TicketView:
    """Everything on a ticket's page."""

    now: datetime
    source: str
    id: str
    client: str
    client_name: str
    subject: str
    status: str
    created_at: datetime
    open: bool
    tier: str
    tier_name: str
    rule: str | None
    classified_tier: str
    floor_applied: bool
    tier_changes: list[TierChangeView]
    unknown_priorities: list[str]
    clocks: list[ClockView]
    steps: list[StepView]
    ledger: list[EscalationLine]
    zone: str = "UTC"
    psa_url: str | None = None


def _local(micros: int | None, zone: tzinfo) -> str | None:
    if micros is None:
        return None
    return from_us(micros).astimezone(zone).strftime("%a %d %b %Y %H:%M:%S %Z")


def _clock(result: ClockResult, policy: Policy, client: str, title: str, zone: tzinfo) -> ClockView:
    terms = policy.terms(client, result.tier)

    def local(micros: int | None) -> str | None:
        return _local(micros, zone)

    return ClockView(
        kind=result.kind,
        title=title,
        cycle=result.cycle,
        state=result.state,
        tier=result.tier,
        tier_name=terms.tier.name,
        calendar=terms.calendar.name or terms.calendar.tz.key,
        target_seconds=result.target_us / 1e6,
        elapsed_seconds=result.elapsed_us / 1e6,
        remaining_seconds=result.remaining_us / 1e6,
        target_text=describe_duration(terms.tier.target(result.kind)),
        used_text=format_seconds(result.elapsed_us / 1e6),
        remaining_text=format_seconds(result.remaining_us / 1e6),
        due_at=None if result.due_at is None else from_us(result.due_at),
        due_local=local(result.due_at),
        stopped_at=None if result.stopped_at is None else from_us(result.stopped_at),
        breached_at=None if result.breached_at is None else from_us(result.breached_at),
        breached_local=local(result.breached_at),
        breach_tier=result.breach_tier,
        timeline=[
            TimelineEntry(from_us(at), local(at) or "", label) for at, label in result.timeline
        ],
    )


def build_ticket(
    source: DashboardSource,
    source_name: str,
    ticket_id: str,
    vocabulary: Vocabulary,
    *,
    zone: tzinfo = UTC,
) -> TicketView | None:
    """The ticket's explanation as of the source's ``now``, every time in the client's time
    zone (else ``zone``); None when the ticket is unknown."""
    ticket = source.ticket(source_name, ticket_id)
    if ticket is None:
        return None
    policy = source.policy()
    now = source.now()
    evaluation = evaluate(ticket, policy, now, exclusions=source.exclusions())
    rows = [
        row
        for row in source.ledger(since=to_us(ticket.created_at), client=ticket.client)
        if row.source == ticket.source and row.ticket_id == ticket.id
    ]
    ledger_state = {row.key: row.state for row in rows}
    client = ticket.client
    zone = client_zone(policy, client, zone)
    clocks = [_clock(evaluation.response, policy, client, "Response clock", zone)]
    clocks += [_clock(c, policy, client, "Resolution clock", zone) for c in evaluation.resolutions]
    steps = [
        StepView(
            key=plan.key,
            step=plan.step.name,
            tier=plan.tier,
            cycle=plan.cycle,
            to=plan.to,
            state=plan.state,
            triggered_at=from_us(plan.triggered_at),
            due_at=from_us(plan.due_at),
            reason=plan.reason,
            actions=list(plan.step.actions),
            ledger_state=ledger_state.get(plan.key),
        )
        for plan in evaluation.steps
    ]
    tier = evaluation.tier
    return TicketView(
        now=from_us(evaluation.now),
        source=ticket.source,
        id=ticket.id,
        client=client,
        client_name=client_name(policy, client),
        subject=ticket.subject,
        status=ticket.status,
        created_at=ticket.created_at.astimezone(UTC),
        open=is_open(evaluation),
        tier=tier,
        tier_name=policy.tiers[tier].name if tier in policy.tiers else tier,
        rule=evaluation.rule,
        classified_tier=evaluation.classification.tier,
        floor_applied=evaluation.classification.floor_applied,
        tier_changes=[
            TierChangeView(c.at.astimezone(UTC), c.tier, c.manual) for c in evaluation.tier_changes
        ],
        unknown_priorities=list(evaluation.unknown_priorities),
        clocks=clocks,
        steps=steps,
        ledger=escalation_lines(rows, vocabulary),
        zone=getattr(zone, "key", None) or str(zone),
        psa_url=fill_ticket_url(source.psa_links(), ticket.source, ticket.id),
    )
