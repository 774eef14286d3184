"""Policies built directly from core values, so core tests do not depend on the YAML loader."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sla_connector.core.calendars import BusinessCalendar
from sla_connector.core.durations import parse_duration
from sla_connector.core.policy import (
    Client,
    EscalationStep,
    Policy,
    Rule,
    StatusSets,
    Tier,
    TierOverride,
)
from sla_connector.core.ticket import parse_ticket

UK_OFFICE = {
    "timezone": "Europe/London",
    "hours": {"mon-fri": ["08:00-18:00"]},
    "holidays": {"country": "GB", "subdivision": "ENG"},
}
US_EAST = {
    "timezone": "America/New_York",
    "hours": {"mon-fri": ["07:00-19:00"]},
    "holidays": {"country": "US"},
}

SEED_STEPS = {
    "P1": (
        EscalationStep(
            name="account-director",
            on="breach",
            to="account_director",
            actions=("reassign", "set_priority", "note", "tag", "notify"),
            after=timedelta(minutes=30),
        ),
    ),
    "P2": (
        EscalationStep(
            name="senior-engineer",
            on="breach",
            to="senior_engineer",
            actions=("reassign", "note", "tag", "notify"),
            after=timedelta(hours=2),
        ),
    ),
    "P3": (
        EscalationStep(
            name="team-lead",
            on="breach",
            to="team_lead",
            actions=("reassign", "note", "tag", "notify"),
            after="next_business_day",
        ),
    ),
}


def make_policy(
    *,
    reopen: str = "resume",
    rules: tuple[Rule, ...] = (),
    clients: dict[str, Client] | None = None,
    escalations: dict[str, tuple[EscalationStep, ...]] | None = None,
    respect_manual_priority: bool = True,
    p3_resolution: str = "3bd",
    extra_calendars: dict[str, dict[str, Any]] | None = None,
) -> Policy:
    calendars = {
        "always": BusinessCalendar.from_config({"always_open": True}, "always"),
        "uk-office": BusinessCalendar.from_config(UK_OFFICE, "uk-office"),
        "us-east": BusinessCalendar.from_config(US_EAST, "us-east"),
    }
    for name, entry in (extra_calendars or {}).items():
        calendars[name] = BusinessCalendar.from_config(entry, name)
    tiers = {
        "P1": Tier("P1", "Critical", 1, parse_duration("15m"), parse_duration("4h"), "always"),
        "P2": Tier("P2", "High", 2, parse_duration("1h"), parse_duration("8h"), "uk-office"),
        "P3": Tier(
            "P3", "Standard", 3, parse_duration("4h"), parse_duration(p3_resolution), "uk-office"
        ),
    }
    return Policy(
        calendars=calendars,
        tiers=tiers,
        default_tier="P3",
        rules=rules,
        clients=clients or {},
        roles={
            "account_director": "dana@msp.example",
            "senior_engineer": "sam@msp.example",
            "team_lead": "terry@msp.example",
        },
        escalations=SEED_STEPS if escalations is None else escalations,
        sources={
            "zd": StatusSets.of(
                responded=("acknowledged",),
                paused=("pending", "hold"),
                resolved=("solved", "closed"),
            )
        },
        reopen=reopen,  # type: ignore[arg-type]
        respect_manual_priority=respect_manual_priority,
    )


ACME = Client(
    key="acme",
    tier="enterprise",
    floor="P2",
    calendar="us-east",
    tiers={"P1": TierOverride(response=parse_duration("10m"))},
    roles={"account_director": "alex@msp.example"},
)


def ticket(created: str, *events: tuple[str, str, str] | tuple[str, str], **fields: Any):  # type: ignore[no-untyped-def]
    """A zd ticket: events as (at, type, to-or-by)."""
    parsed_events = []
    for item in events:
        at, kind, *rest = item
        value = rest[0] if rest else None
        event: dict[str, Any] = {"at": at, "type": kind}
        if kind == "public_reply":
            event["by"] = value or "agent"
        elif value is not None:
            event["to"] = value
        parsed_events.append(event)
    data = {
        "id": fields.pop("id", "T1"),
        "source": "zd",
        "client": fields.pop("client", "globex"),
        "subject": fields.pop("subject", "Printer jam"),
        "created_at": created,
        "events": parsed_events,
        **fields,
    }
    return parse_ticket(data)
