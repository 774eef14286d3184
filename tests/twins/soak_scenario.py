"""Soak scenarios: tickets over N minutes of real time, and the writes they must cause.

The policy has fake-time targets (P1 response 60 s, P2 120 s, 24x7). Its ladders:

- ``p1-at-risk`` / ``p2-at-risk``: at 50 % of the response target, ``actions: [notify]``
  (notify-only: never a write to the PSA);
- ``p1-director``: 30 s after the P1 response breach, reassign to the account director,
  internal note, tag;
- ``p2-lead``: at the P2 response breach, internal note and tag.

``expected_steps`` computes which steps must be written, and when, from the scenario and
the instants the twin stamped (whole seconds, as Zendesk shows them) with plain
arithmetic on these rules, never through ``sla_connector.core``: a breach step is due at
created + target + after; a public agent reply at or before the response due instant
means no breach (SEMANTICS S01, S07); a resolution strictly before a step's due instant
cancels it (S18); a deleted ticket's steps are withdrawn (issue 12 "tickets that go
away"). Generated margins keep every instant at least 5 s from a boundary.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "KINDS",
    "Action",
    "ExpectedStep",
    "PolicySpec",
    "Scenario",
    "TicketPlan",
    "expected_steps",
    "generate",
    "policy_mapping",
]

# kind -> (weight, tiers it applies to)
KINDS: dict[str, tuple[float, tuple[str, ...]]] = {
    "breach": (0.40, ("P1", "P2")),  # nobody answers: the breach step must be written
    "late_reply": (0.08, ("P1",)),  # an answer after the breach: the step still fires
    "customer_noise": (0.10, ("P1", "P2")),  # the customer writes again early: still a breach
    "answered": (0.17, ("P1", "P2")),  # an agent answers after at-risk, before the breach
    "answered_early": (0.05, ("P1", "P2")),  # an agent answers before at-risk
    "resolved": (0.12, ("P1", "P2")),  # solved before the step is due: cancelled
    "deleted": (0.08, ("P1", "P2")),  # deleted before the step is due: withdrawn
}


@dataclass(frozen=True)
class PolicySpec:
    """The fake-time targets, in seconds."""

    p1_response: int = 60
    p2_response: int = 120
    director_after: int = 30
    at_risk: float = 0.5

    def response(self, tier: str) -> int:
        return self.p1_response if tier == "P1" else self.p2_response

    def breach_step(self, tier: str) -> tuple[str, int]:
        """The breach step's name and its delay after the breach."""
        return ("p1-director", self.director_after) if tier == "P1" else ("p2-lead", 0)


@dataclass(frozen=True)
class Action:
    """Something a person does in Zendesk at ``at`` seconds into the run."""

    at: float
    label: str
    kind: str  # create | agent_reply | customer_reply | solve | delete


@dataclass(frozen=True)
class TicketPlan:
    label: str
    tier: str
    kind: str
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class ExpectedStep:
    label: str
    ticket: str
    step: str
    due: float  # Unix seconds
    must_write: bool
    reason: str  # breach | late_reply | notify_only | answered | resolved | deleted


@dataclass
class Scenario:
    seed: int
    duration: float  # seconds the run lasts
    policy: PolicySpec
    tickets: list[TicketPlan]
    actions: list[Action] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.actions:
            self.actions = sorted((a for t in self.tickets for a in t.actions), key=lambda a: a.at)


def _plan(
    label: str, tier: str, kind: str, start: float, spec: PolicySpec, rnd: random.Random
) -> TicketPlan:
    response = spec.response(tier)
    at_risk = spec.at_risk * response
    _, after = spec.breach_step(tier)
    actions = [Action(start, label, "create")]

    def at(low: float, high: float, what: str) -> None:
        actions.append(Action(start + rnd.uniform(low, high), label, what))

    if kind == "late_reply":
        at(response + 5, response + after - 5, "agent_reply")
    elif kind == "customer_noise":
        at(8, min(at_risk, 40), "customer_reply")
    elif kind == "answered":
        at(at_risk + 5, response - 5, "agent_reply")
    elif kind == "answered_early":
        at(5, at_risk - 5, "agent_reply")
    elif kind in ("resolved", "deleted"):
        what = "solve" if kind == "resolved" else "delete"
        if after >= 15:
            at(response + 5, response + after - 5, what)  # breached, cancelled before due
        else:
            at(at_risk + 5, response - 5, what)  # before the breach
    return TicketPlan(label, tier, kind, tuple(actions))


def generate(
    *, seed: int, minutes: float, tickets: int | None = None, policy: PolicySpec | None = None
) -> Scenario:
    """A seeded scenario: ``tickets`` (default 10.5 a minute) created over the run."""
    spec = policy or PolicySpec()
    rnd = random.Random(seed)
    count = tickets if tickets is not None else round(10.5 * minutes)
    longest = max(spec.p2_response, spec.p1_response + spec.director_after)
    last_create = max(20.0, minutes * 60 - longest - 30)
    kinds = list(KINDS)
    plans = []
    for n in range(count):
        tier = "P1" if rnd.random() < 0.65 else "P2"
        allowed = [k for k in kinds if tier in KINDS[k][1]]
        kind = rnd.choices(allowed, [KINDS[k][0] for k in allowed])[0]
        start = 5.0 + (last_create - 5.0) * n / max(1, count - 1) + rnd.uniform(-1.0, 1.0)
        plans.append(_plan(f"t{n:03d}", tier, kind, max(2.0, start), spec, rnd))
    return Scenario(seed, last_create + longest + 25, spec, plans)


def expected_steps(
    scenario: Scenario, stamped: dict[str, dict[str, float]], ids: dict[str, str]
) -> list[ExpectedStep]:
    """Every step the scenario triggers, with its due instant and whether it must be written.

    ``stamped[label][kind]`` is the whole-second instant the twin recorded for that action
    (``create``, ``agent_reply``, ``solve``, ``delete``, ``customer_reply``); ``ids`` maps a
    label to the twin's ticket id.
    """
    spec = scenario.policy
    steps: list[ExpectedStep] = []
    for plan in scenario.tickets:
        times = stamped.get(plan.label, {})
        if "create" not in times:
            continue
        created, ticket = times["create"], ids[plan.label]
        response_due = created + spec.response(plan.tier)
        reply = times.get("agent_reply")
        stopped = min(
            (t for t in (reply, times.get("solve"), times.get("delete")) if t is not None),
            default=None,
        )
        at_risk_due = created + spec.at_risk * spec.response(plan.tier)
        at_risk = "p1-at-risk" if plan.tier == "P1" else "p2-at-risk"
        if stopped is None or stopped > at_risk_due:
            steps.append(
                ExpectedStep(plan.label, ticket, at_risk, at_risk_due, False, "notify_only")
            )
        name, after = spec.breach_step(plan.tier)
        due = response_due + after
        if reply is not None and reply <= response_due:
            steps.append(ExpectedStep(plan.label, ticket, name, due, False, "answered"))
        elif "solve" in times and times["solve"] < due:
            steps.append(ExpectedStep(plan.label, ticket, name, due, False, "resolved"))
        elif "delete" in times and times["delete"] < due:
            steps.append(ExpectedStep(plan.label, ticket, name, due, False, "deleted"))
        else:
            reason = "late_reply" if reply is not None else "breach"
            steps.append(ExpectedStep(plan.label, ticket, name, due, True, reason))
    return steps


def policy_mapping(spec: PolicySpec, *, p1_priority: str = "urgent") -> dict[str, Any]:
    """The policy part of the daemon's configuration, from the same numbers (a ticket of
    priority ``p1_priority``, the PSA's own name, is P1)."""
    at = f"{round(spec.at_risk * 100)}%"
    note = "SLA breach on {{ ticket.id }} ({{ tier }}): escalated to {{ recipient }}."
    return {
        "calendars": {"always": {"always_open": True}},
        "tiers": {
            "P1": {
                "name": "Critical",
                "severity": 1,
                "response": f"{spec.p1_response}s",
                "resolution": "4h",
                "calendar": "always",
            },
            "P2": {
                "name": "High",
                "severity": 2,
                "response": f"{spec.p2_response}s",
                "resolution": "8h",
                "calendar": "always",
            },
        },
        "classification": {
            "default_tier": "P2",
            "respect_manual_priority": False,
            "rules": [{"name": "urgent", "tier": "P1", "source_priority": [p1_priority]}],
        },
        "clients": {"globex": {"name": "Globex"}},
        "roles": {"account_director": "dana@msp.example", "team_lead": "terry@msp.example"},
        "escalations": {
            "P1": [
                {
                    "name": "p1-at-risk",
                    "on": "response_at_risk",
                    "at": at,
                    "to": "team_lead",
                    "actions": ["notify"],
                },
                {
                    "name": "p1-director",
                    "on": "response_breach",
                    "after": f"{spec.director_after}s",
                    "to": "account_director",
                    "actions": ["reassign", "note", "tag"],
                    "tag": "sla-escalated",
                    "note": note,
                },
            ],
            "P2": [
                {
                    "name": "p2-at-risk",
                    "on": "response_at_risk",
                    "at": at,
                    "to": "team_lead",
                    "actions": ["notify"],
                },
                {
                    "name": "p2-lead",
                    "on": "response_breach",
                    "to": "team_lead",
                    "actions": ["note", "tag"],
                    "note": note,
                },
            ],
        },
    }
