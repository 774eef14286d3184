"""``sla-connector explain``: why a ticket is where it is, in words an account manager reads.

Shows the tier and the rule that decided it, each clock's timeline (started, paused,
resumed, stopped, due, breached, business time used against the target), its pauses by
reason, whether it is excluded from contract objectives (it keeps its outcome, S32), and
the escalation plan.

Without ``--tickets`` it reads the state store the daemon keeps (shadow mode included):
the ticket as last seen, the same explanation, then its ledger in plain words (each step
planned, written, recorded as would-fire, cancelled or failed, and when) and its entries
in the evidence log.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sla_connector.cli.common import (
    ExitCode,
    Rejected,
    add_command,
    add_now_argument,
    open_existing_store,
    parse_now,
    read_tickets,
)
from sla_connector.cli.exclude import recorded_exclusions
from sla_connector.core.calendars import from_us
from sla_connector.core.durations import format_seconds
from sla_connector.core.evaluate import ClockResult, TicketEvaluation, evaluate
from sla_connector.core.exclusions import Exclusion
from sla_connector.core.ledger import LedgerRow
from sla_connector.core.policy import Policy
from sla_connector.core.vocabulary import CANCELLED, DONE, FAILED, FIRING, PLANNED, WOULD_FIRE
from sla_connector.settings import AppConfig, load_config
from sla_connector.store import EvidenceEntry

__all__ = ["ledger_lines", "register", "render", "run"]


def register(commands: Any) -> None:
    parser = add_command(
        commands,
        "explain",
        run,
        summary="tier, rule, clock timeline and escalation plan of one ticket",
        description="Explain one ticket: its tier, clocks and escalations.",
    )
    parser.add_argument(
        "--tickets", metavar="FILE", help="JSONL tickets (default: the state store)"
    )
    add_now_argument(parser)
    parser.add_argument("ticket", metavar="TICKET", help="ticket id, or SOURCE/ID")


def run(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config))
    policy = config.policy
    now = parse_now(args.now)
    source, _, wanted = args.ticket.rpartition("/")
    if not args.tickets:
        return _from_store(config, source, wanted, now)
    for _, item in read_tickets(args.tickets, set(policy.sources), progress=False):
        if isinstance(item, Rejected) or item.id != wanted or (source and item.source != source):
            continue
        evaluation = evaluate(item, policy, now, exclusions=recorded_exclusions(config))
        sys.stdout.write(render(evaluation, policy))
        return ExitCode.OK
    print(f"sla-connector: ticket {args.ticket} not found in {args.tickets}", file=sys.stderr)
    return ExitCode.FINDINGS


def _from_store(config: AppConfig, source: str, wanted: str, now: datetime) -> int:
    """The ticket as the daemon last saw it, its ledger and its evidence entries."""
    policy = config.policy
    with open_existing_store(config) as store:
        sources = [source] if source else list(config.connectors)
        row = next(
            (found for name in sources if (found := store.get_ticket(name, wanted)) is not None),
            None,
        )
        if row is None:
            where = source or ", ".join(sources) or "no connector"
            print(
                f"sla-connector: ticket {wanted} is not in the store (sources: {where}); "
                "give SOURCE/ID, or --tickets FILE for a ticket the daemon has not seen",
                file=sys.stderr,
            )
            return ExitCode.FINDINGS
        ticket = row.ticket()
        evaluation = evaluate(ticket, policy, now, exclusions=recorded_exclusions(config))
        ledger = [
            step
            for step in store.ledger(client=row.client)
            if step.source == row.source and step.ticket_id == row.id
        ]
        evidence = [
            entry for entry in store.evidence() if _concerns(entry.payload, row.source, row.id)
        ]
    zone = ZoneInfo(config.reports.timezone)
    seen = "open" if row.is_open else "closed"
    sys.stdout.write(
        f"As last seen in the store: updated {_when(row.updated_at, zone)} ({seen})\n\n"
    )
    sys.stdout.write(render(evaluation, policy))
    sys.stdout.write("\n" + "\n".join(ledger_lines(ledger, zone)) + "\n")
    sys.stdout.write("\n" + "\n".join(_evidence_lines(evidence, zone)) + "\n")
    return ExitCode.OK


def _concerns(payload: Mapping[str, Any], source: str, ticket_id: str) -> bool:
    if payload.get("source") == source and payload.get("ticket") == ticket_id:
        return True
    outcomes = payload.get("outcomes")
    return isinstance(outcomes, list) and any(
        isinstance(o, Mapping) and o.get("source") == source and o.get("ticket") == ticket_id
        for o in outcomes
    )


def ledger_lines(steps: list[LedgerRow], zone: ZoneInfo) -> list[str]:
    """Each ledger step of one ticket in plain words."""
    if not steps:
        return ["Ledger: no escalation step planned for this ticket"]
    lines = ["Ledger (what the daemon did with each step):"]
    for step in steps:
        due = _when(step.due_at, zone)
        head = f"  {step.step} (cycle {step.cycle}) -> {step.recipient}, due {due}"
        lines.append(f"{head}: {_ledger_words(step, zone)}")
    return lines


def _ledger_words(step: LedgerRow, zone: ZoneInfo) -> str:
    at = _when(step.fired_at, zone)
    late = ""
    if step.lateness_us is not None and step.lateness_us > 0:
        late = f", {format_seconds(step.lateness_us / 1e6)} after it fell due"
    detail = f" ({step.detail})" if step.detail else ""
    words = {
        PLANNED: "planned: it fires at its due time if the clock is still breached then",
        FIRING: f"being written now (claimed {_when(step.claimed_at, zone)})",
        DONE: f"written to the PSA {at}{late}",
        WOULD_FIRE: f"fell due {at}{late}; shadow mode (dry_run): recorded, nothing written",
        CANCELLED: f"cancelled {at}{detail}",
        FAILED: f"failed after {step.attempts} attempt(s), {at}{detail}",
    }
    return words.get(step.state, f"{step.state}{detail}")


def _evidence_lines(entries: list[EvidenceEntry], zone: ZoneInfo) -> list[str]:
    if not entries:
        return ["Evidence log: no entry for this ticket"]
    lines = ["Evidence log (hash-chained entries about this ticket):"]
    for entry in entries:
        payload = entry.payload
        if entry.kind == "escalation":
            step, cycle = payload.get("step"), payload.get("cycle")
            what = f"escalation {step} (cycle {cycle}): {payload.get('state')}"
        elif entry.kind == "clock_outcomes":
            decided = [
                f"{o.get('clock')} {o.get('outcome')}"
                for o in payload.get("outcomes", [])
                if isinstance(o, Mapping)
            ]
            what = "clock outcome " + ", ".join(decided)
        else:
            what = entry.kind
        lines.append(f"  #{entry.seq} {_when(entry.at, zone)}: {what} (hash {entry.hash[:12]})")
    return lines


def _when(micros: int | None, zone: ZoneInfo) -> str:
    if micros is None:
        return "-"
    local = from_us(micros).astimezone(zone)
    return local.strftime("%a %d %b %Y %H:%M:%S %Z")


def _clock(result: ClockResult, policy: Policy, client: str, title: str) -> list[str]:
    terms = policy.terms(client, result.tier)
    zone = terms.calendar.tz
    target = format_seconds(result.target_us / 1e6)
    used = format_seconds(result.elapsed_us / 1e6)
    lines = [
        f"{title} (cycle {result.cycle}) — {result.state.upper()}",
        f"  target {target} of business time under {result.tier} "
        f"({terms.tier.name}), calendar {terms.calendar.name or zone.key}",
    ]
    for at, label in result.timeline:
        lines.append(f"  {_when(at, zone):32} {label}")
    lines.append(f"  used {used} of {target}")
    if result.state == "paused":
        lines.append(
            f"  paused: {format_seconds(result.remaining_us / 1e6)} of business time remain"
        )
    elif result.due_at is not None:
        lines.append(f"  due {_when(result.due_at, zone)}")
    if result.breached_at is not None:
        lines.append(f"  breached {_when(result.breached_at, zone)} under {result.breach_tier}")
    if result.pauses:
        by_reason: Counter[str] = Counter()
        for pause in result.pauses:
            by_reason[pause.reason] += pause.business_us
        shown = ", ".join(
            f"{reason} {format_seconds(us / 1e6)}" for reason, us in by_reason.items()
        )
        total = format_seconds(sum(by_reason.values()) / 1e6)
        lines.append(f"  paused {total} of business time: {shown}")
    return lines


def _excluded(exclusion: Exclusion | None) -> list[str]:
    if exclusion is None:
        return []
    when = "" if exclusion.at is None else f", {_iso(from_us(exclusion.at))}"
    return [
        f"  excluded from contract objectives and credits: {exclusion.reason} "
        f"(approved by {exclusion.by}{when}); the outcome above stands"
    ]


def render(evaluation: TicketEvaluation, policy: Policy) -> str:
    """The explanation as plain text."""
    ticket = evaluation.ticket
    client = ticket.client
    now = from_us(evaluation.now)
    lines = [
        f"Ticket {ticket.source}/{ticket.id}: {ticket.subject}",
        f"Client {client or '-'}; evaluated at {_iso(now)}",
        "",
    ]
    classification = evaluation.classification
    decided = (
        f"rule '{classification.rule}'" if classification.rule else "no rule matched (default tier)"
    )
    lines.append(f"Tier in force: {evaluation.tier} ({policy.tiers[evaluation.tier].name})")
    lines.append(f"  classified {classification.tier} by {decided}")
    if classification.floor_applied:
        lines.append(f"  raised to the client's floor {classification.tier}")
    for change in evaluation.tier_changes[1:]:
        lines.append(f"  {_iso(change.at)} changed to {change.tier} by a person in the PSA")
    for unknown in evaluation.unknown_priorities:
        lines.append(f"  ignored priority {unknown!r}: not a configured tier")
    contract = policy.client(client).contract
    if contract is not None and evaluation.version is not None:
        start = contract.versions[evaluation.version].start
        since = "" if start.year <= 1 else f" (in force from {start.isoformat()})"
        lines.append(f"  measured by contract version {evaluation.version + 1}{since}")
    lines.append("")
    lines.extend(_clock(evaluation.response, policy, client, "Response clock"))
    lines.extend(_excluded(evaluation.exclusions.get("response")))
    for cycle in evaluation.resolutions:
        lines.append("")
        lines.extend(_clock(cycle, policy, client, "Resolution clock"))
        lines.extend(_excluded(evaluation.exclusions.get("resolution")))
    lines.append("")
    if not evaluation.steps:
        lines.append("Escalations: none triggered")
    else:
        lines.append("Escalations:")
        for plan in evaluation.steps:
            lines.append(
                f"  {plan.step.name} ({plan.tier}, cycle {plan.cycle}) -> {plan.to}: {plan.state}; "
                f"triggered {_iso(from_us(plan.triggered_at))} ({plan.reason}), "
                f"due {_iso(from_us(plan.due_at))}; actions {', '.join(plan.step.actions)}"
            )
    return "\n".join(lines) + "\n"


def _iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")
