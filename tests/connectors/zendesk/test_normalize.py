"""Pure normalisation: Zendesk audits / ticket events JSON -> canonical ticket events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sla_connector_psa.zendesk.normalize import (
    Audit,
    NormalizeContext,
    build_ticket,
    parse_audit,
    parse_ticket_event,
)

from sla_connector.core.calendars import to_us
from sla_connector.core.clocks import build_runs
from sla_connector.core.errors import TicketError
from sla_connector.core.policy import StatusSets
from sla_connector.core.ticket import Event

from .support import load

ROLES = {
    7001: "end-user",
    7002: "end-user",
    7003: "end-user",
    9001: "agent",
    9002: "admin",
    9003: "agent",
    9100: "admin",
    9200: "agent",
}
ORGS = {501: "Globex", 502: "Acme Corp", 503: "Initech"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-11-02T{text}+00:00")


def context(**overrides: Any) -> NormalizeContext:
    values: dict[str, Any] = {
        "source": "zd",
        "client_map": {"Globex": "globex", "Acme Corp": "acme"},
        "priority_tiers": {"urgent": "P1", "high": "P2", "normal": "P3", "low": "P4"},
        "people": {"9001": "alex@msp.example"},
        "user_roles": ROLES,
        "org_names": ORGS,
        "automation_user_ids": frozenset({9200}),
        "self_user_id": 9100,
    }
    values.update(overrides)
    return NormalizeContext(**values)


def stream(ticket_id: int) -> list[Audit]:
    items = (
        load("ticket_events_1.json")["ticket_events"]
        + load("ticket_events_2.json")["ticket_events"]
    )
    audits = [parse_ticket_event(item) for item in items]
    return [a for a in audits if a is not None and a.ticket_id == ticket_id]


def ticket_raw(ticket_id: int) -> dict[str, Any]:
    for name in ("export_page1.json", "export_page2.json", "export_page3.json"):
        for raw in load(name)["tickets"]:
            if raw["id"] == ticket_id:
                return dict(raw)
    raise KeyError(ticket_id)


def test_stream_history_becomes_the_design_event_sequence() -> None:
    ticket = build_ticket(ticket_raw(101), stream(101), context())
    assert ticket.events == (
        Event(at("09:00:30"), "comment"),  # trigger's public auto-reply: not a response (S07)
        Event(at("09:20:00"), "public_reply", by="agent"),
        Event(at("09:20:00"), "status", to="open"),
        Event(at("09:20:00"), "assignee", to="alex@msp.example"),
        Event(at("10:02:00"), "public_reply", by="agent"),
        Event(at("10:02:00"), "status", to="pending"),
        Event(at("13:30:00"), "public_reply", by="customer"),
        Event(at("13:30:00"), "status", to="open"),
        Event(at("15:10:00"), "priority", to="P2"),
        Event(at("15:30:00"), "comment"),  # our own note; our priority bump is not a human's
        Event(at("16:45:00"), "public_reply", by="agent"),
        Event(at("16:45:00"), "status", to="solved"),
    )
    assert (ticket.id, ticket.source, ticket.client, ticket.channel) == (
        "101",
        "zd",
        "globex",
        "email",
    )
    assert (ticket.status, ticket.source_priority) == ("solved", "urgent")
    assert ticket.extra["assignee_id"] == 9001
    assert ticket.tags == ("email", "outage")  # the canonical tags
    assert "tags" not in ticket.extra


def test_status_history_gives_pause_intervals_and_first_response() -> None:
    ticket = build_ticket(ticket_raw(101), stream(101), context())
    sets = StatusSets.of(paused=("pending", "hold"), resolved=("solved", "closed"))
    response, cycles = build_runs(ticket, sets, "resume", to_us(at("18:00:00")))
    assert response.stop == to_us(at("09:20:00"))  # the agent's reply, not the 09:00:30 trigger
    assert len(cycles) == 1
    assert cycles[0].running == [
        (to_us(at("09:00:00")), to_us(at("10:02:00"))),
        (to_us(at("13:30:00")), to_us(at("16:45:00"))),
    ]
    assert cycles[0].stop == to_us(at("16:45:00"))


def test_audits_and_event_stream_describe_an_update_identically() -> None:
    from_audits = parse_audit(load("audits_102_page2.json")["audits"][0])
    from_stream = next(a for a in stream(102) if a.id == 2003)
    assert from_audits == from_stream
    assert [(e.kind, e.field, e.value, e.public) for e in from_audits.entries] == [
        ("comment", "", None, True),
        ("change", "status", "open", False),
    ]


def test_ticket_created_by_an_agent_is_born_open_and_its_description_is_no_reply() -> None:
    audits = [
        parse_audit(raw)
        for name in ("audits_102_page1.json", "audits_102_page2.json")
        for raw in load(name)["audits"]
    ]
    ticket = build_ticket(ticket_raw(102), audits, context())
    created = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    assert ticket.events == (
        Event(created, "status", to="open"),
        Event(created, "assignee", to="alex@msp.example"),
        Event(datetime(2026, 9, 1, 8, 30, tzinfo=UTC), "status", to="hold"),
        Event(at("11:00:00"), "public_reply", by="agent"),
        Event(at("11:00:00"), "status", to="open"),
    )
    assert (ticket.client, ticket.channel) == ("acme", "phone")


def test_ticket_born_pending_gets_a_status_event_at_created_at() -> None:
    ticket = build_ticket(ticket_raw(105), stream(105), context())
    assert ticket.events[0] == Event(at("14:00:00"), "status", to="pending")
    assert [e.type for e in ticket.events] == ["status", "assignee"]  # description: no reply


def test_automation_user_comment_is_not_an_agent_reply() -> None:
    ticket = build_ticket(ticket_raw(103), stream(103), context())
    assert [
        (e.at, e.type, e.by) for e in ticket.events if e.type in ("public_reply", "comment")
    ] == [(at("12:10:00"), "comment", None), (at("12:20:00"), "public_reply", "agent")]


def test_same_bot_without_automation_config_would_count_as_agent() -> None:
    ticket = build_ticket(ticket_raw(103), stream(103), context(automation_user_ids=frozenset()))
    replies = [e.at for e in ticket.events if e.type == "public_reply"]
    assert replies == [at("12:10:00"), at("12:20:00")]


def test_unknown_author_role_is_not_taken_for_an_agent() -> None:
    ticket = build_ticket(
        ticket_raw(103),
        stream(103),
        context(user_roles={k: v for k, v in ROLES.items() if k != 9003}),
    )
    assert [e.by for e in ticket.events if e.type == "public_reply"] == ["customer"]


def test_priority_changes_by_trigger_and_by_this_connector_are_not_manual() -> None:
    audits = stream(101)
    raw_trigger = load("ticket_events_2.json")["ticket_events"][2]  # audit 1006
    raw_trigger["via"] = "Rule"
    raw_trigger["child_events"][0]["via"] = "Rule"
    audits = [a for a in audits if a.id != 1006] + [parse_ticket_event(raw_trigger)]  # type: ignore[list-item]
    ticket = build_ticket(ticket_raw(101), audits, context())
    assert [e for e in ticket.events if e.type == "priority"] == []
    without_self = build_ticket(ticket_raw(101), stream(101), context(self_user_id=None))
    assert [e.to for e in without_self.events if e.type == "priority"] == ["P2", "P1"]


def test_unmapped_priority_and_organization_are_reported_and_the_ticket_kept() -> None:
    reported: list[tuple[str, str]] = []
    ctx = context(priority_tiers={"urgent": "P1"}, report=lambda k, v: reported.append((k, v)))
    ticket = build_ticket(ticket_raw(101), stream(101), ctx)
    assert [e for e in ticket.events if e.type == "priority"] == []
    assert ("priority", "high") in reported
    initech = build_ticket(ticket_raw(103), stream(103), ctx)
    assert initech.client == "initech"
    assert ("organization", "Initech") in reported


def test_ticket_without_organization_gets_the_default_client() -> None:
    raw = ticket_raw(105) | {"organization_id": None}
    assert build_ticket(raw, stream(105), context(default_client="internal")).client == "internal"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"created_at": None}, "created_at: missing"),
        ({"created_at": "2026-11-02T12:40:00"}, "no UTC offset"),
        ({"created_at": "yesterday"}, "not an RFC 3339 time"),
        ({"id": "abc"}, "expected an integer id"),
        ({"status": None}, "status: missing"),
    ],
)
def test_malformed_ticket_is_rejected_with_a_reason(change: dict[str, Any], message: str) -> None:
    with pytest.raises(TicketError, match=message):
        build_ticket(ticket_raw(105) | change, stream(105), context())


def test_update_dated_before_created_at_is_moved_to_created_at() -> None:
    raw = ticket_raw(105) | {"created_at": "2026-11-02T14:30:00Z"}  # an imported ticket
    ticket = build_ticket(raw, stream(105), context())
    assert ticket.events[0] == Event(at("14:30:00"), "status", to="pending")


def test_malformed_audit_is_a_ticket_error() -> None:
    raw = load("audits_102_page2.json")["audits"][0] | {"created_at": "2026-11-02 11:00"}
    with pytest.raises(TicketError, match="audit 2003: created_at"):
        parse_audit(raw)


def test_stream_item_without_child_events_is_ignored() -> None:
    # The spec's own example of this endpoint is a metric-event-shaped record.
    assert (
        parse_ticket_event(
            {
                "id": 926256957613,
                "instance_id": 1,
                "metric": "agent_work_time",
                "ticket_id": 155,
                "time": "2020-10-26T12:53:12Z",
                "type": "measure",
            }
        )
        is None
    )
