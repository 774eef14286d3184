"""Pure normalisation: Jira issue JSON (+ changelog, comments) -> canonical ticket."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from sla_connector_psa.jira_sm.normalize import (
    AUTOMATION_FOR_JIRA,
    NormalizeContext,
    adf_to_text,
    changelog_is_complete,
    comments_are_complete,
    issue_to_ticket,
)

from sla_connector.core.calendars import to_us
from sla_connector.core.clocks import build_runs
from sla_connector.core.errors import TicketError
from sla_connector.core.policy import StatusSets
from sla_connector.core.ticket import Event, parse_ticket

from .support import EMMA_ID, SELF_ID, load


def at(hm: str) -> datetime:
    hour, minute, *rest = (int(p) for p in hm.split(":"))
    return datetime(2026, 11, 2, hour, minute, rest[0] if rest else 0, tzinfo=UTC)


def issue(page: str, key: str) -> dict[str, Any]:
    found = [i for i in load(page)["issues"] if i.get("key") == key]
    return copy.deepcopy(found[0])


def context(reports: list[tuple[str, str]] | None = None, **kwargs: Any) -> NormalizeContext:
    sink = reports if reports is not None else []
    defaults: dict[str, Any] = {
        "source": "jsm",
        "client_field": "customfield_10002",
        "client_map": {"Acme Corp": "acme"},
        "priority_map": {"P1": "Highest", "P2": "High", "P3": "Medium"},
        "users": {"emma@msp.example": EMMA_ID},
        "self_account_id": SELF_ID,
        "report_unmapped": lambda kind, value: sink.append((kind, value)),
    }
    return NormalizeContext(**{**defaults, **kwargs})


def test_issue_with_changelog_becomes_the_canonical_ticket_in_time_order() -> None:
    ticket = issue_to_ticket(issue("search_page2.json", "ITSD-1"), context())
    assert (ticket.id, ticket.source, ticket.client) == ("ITSD-1", "jsm", "acme")
    assert ticket.subject == "Email server down for all staff"
    assert ticket.description == "Nobody can send or receive mail since 09:00."
    assert (ticket.status, ticket.source_priority) == ("Resolved", "Highest")
    assert ticket.created_at == at("09:14")
    assert list(ticket.events) == [
        Event(at("09:14"), "status", to="Waiting for support"),  # born status
        Event(at("09:16"), "public_reply", by="customer"),  # the reporter
        Event(at("09:17"), "comment", by="automation"),  # automatic acknowledgement
        Event(at("09:20"), "public_reply", by="agent"),  # first response
        Event(at("10:02"), "status", to="Waiting for customer"),
        Event(at("10:02"), "assignee", to="emma@msp.example"),
        Event(at("11:00"), "comment", by="agent"),  # internal note
        Event(at("13:30"), "status", to="In Progress"),
        Event(at("15:10"), "priority", to="P2"),  # human change; 15:30 was our own write
        Event(at("16:45"), "status", to="Resolved"),
    ]
    assert ticket.extra["assignee_account_id"] == EMMA_ID
    assert ticket.tags == ("email",)  # labels are the canonical tags
    assert "labels" not in ticket.extra


def test_canonical_json_round_trips_through_the_audit_parser() -> None:
    ticket = issue_to_ticket(issue("search_page2.json", "ITSD-1"), context())
    assert parse_ticket(ticket.to_json(), known_sources={"jsm"}).events == ticket.events


def test_status_history_gives_pause_intervals_and_first_response() -> None:
    ticket = issue_to_ticket(issue("search_page2.json", "ITSD-1"), context())
    sets = StatusSets.of(paused=("Waiting for customer",), resolved=("Resolved",))
    response, cycles = build_runs(ticket, sets, "resume", to_us(at("18:00")))
    assert response.stop == to_us(at("09:20"))
    assert cycles[0].running == [
        (to_us(at("09:14")), to_us(at("10:02"))),
        (to_us(at("13:30")), to_us(at("16:45"))),
    ]
    assert cycles[0].stop == to_us(at("16:45"))


def test_ticket_born_in_a_paused_status_gets_a_status_event_at_creation() -> None:
    ticket = issue_to_ticket(issue("search_page1.json", "ITSD-2"), context())
    assert list(ticket.events) == [Event(at("10:30"), "status", to="Waiting for customer")]


def test_unmapped_organization_becomes_lowercased_name_and_is_reported() -> None:
    reports: list[tuple[str, str]] = []
    ticket = issue_to_ticket(issue("search_page1.json", "ITSD-2"), context(reports))
    assert ticket.client == "initech"
    assert reports == [("organization", "Initech")]


def test_organization_mapping_ignores_case_and_takes_the_first_mapped_name() -> None:
    raw = issue("search_page1.json", "ITSD-2")
    raw["fields"]["customfield_10002"] = [
        {"id": "2", "name": "Initech"},
        {"id": "1", "name": "ACME CORP"},
    ]
    assert issue_to_ticket(raw, context()).client == "acme"


def test_issue_without_organization_gets_the_default_client() -> None:
    raw = issue("search_page1.json", "ITSD-2")
    raw["fields"]["customfield_10002"] = []
    assert issue_to_ticket(raw, context(default_client="internal")).client == "internal"


def test_project_as_client_field_maps_the_project_key() -> None:
    raw = issue("search_page1.json", "ITSD-2")
    ticket = issue_to_ticket(raw, context(client_field="project", client_map={"ITSD": "msp"}))
    assert ticket.client == "msp"


def test_unmapped_priority_change_is_reported_not_emitted() -> None:
    reports: list[tuple[str, str]] = []
    ticket = issue_to_ticket(issue("search_page3.json", "ITSD-5"), context(reports))
    assert [e for e in ticket.events if e.type == "priority"] == []
    assert ("priority", "Low") in reports


def test_priority_change_by_an_app_account_is_not_a_manual_priority() -> None:
    raw = issue("search_page2.json", "ITSD-1")
    for history in raw["changelog"]["histories"]:
        if history["id"] == "30003":
            history["author"] = {"accountId": "557058:f581", "accountType": "app"}
    ticket = issue_to_ticket(raw, context())
    assert [e for e in ticket.events if e.type == "priority"] == []


def test_without_known_own_account_our_priority_write_would_count_as_human() -> None:
    ticket = issue_to_ticket(issue("search_page2.json", "ITSD-1"), context(self_account_id=None))
    assert [e.to for e in ticket.events if e.type == "priority"] == ["P2", "P1"]


def test_public_comment_by_a_known_customer_account_is_a_customer_reply() -> None:
    raw = issue("search_page2.json", "ITSD-1")
    participant = {"accountId": "qm:participant", "accountType": "customer"}
    comment = raw["fields"]["comment"]["comments"][2]  # Emma's public reply at 09:20
    comment["author"] = participant
    ticket = issue_to_ticket(raw, context())
    replies = [(e.at, e.by) for e in ticket.events if e.type == "public_reply"]
    assert replies == [(at("09:16"), "customer"), (at("09:20"), "customer")]


def test_public_comment_from_an_outside_email_is_a_customer_reply() -> None:
    raw = issue("search_page2.json", "ITSD-1")
    comment = raw["fields"]["comment"]["comments"][2]
    comment["jsdAuthorCanSeeRequest"] = False
    comment["author"] = {"accountId": "5b10outsider", "accountType": "atlassian"}
    ticket = issue_to_ticket(raw, context())
    assert [e.by for e in ticket.events if e.type == "public_reply"] == ["customer", "customer"]


def test_servicedesk_comments_replace_truncated_embedded_ones() -> None:
    raw = issue("search_page1.json", "ITSD-4")
    assert not comments_are_complete(raw)
    ticket = issue_to_ticket(
        raw, context(), jsm_comments=load("jsm_comments_ITSD-4.json")["values"]
    )
    assert [(e.at, e.type, e.by or e.to) for e in ticket.events] == [
        (at("12:00"), "status", "Waiting for support"),
        (at("12:05"), "public_reply", "customer"),  # the reporter
        (at("12:20"), "comment", "agent"),  # public: false
        (at("12:30"), "status", "In Progress"),
        (at("12:40"), "public_reply", "agent"),
    ]


@pytest.mark.parametrize("author", [AUTOMATION_FOR_JIRA, "557058:custom-app"])
def test_servicedesk_comment_by_an_app_account_is_not_an_agent_reply(author: str) -> None:
    raw = issue("search_page1.json", "ITSD-4")
    comments = load("jsm_comments_ITSD-4.json")["values"]
    comments[2]["author"] = {"accountId": author, "displayName": "Automation"}
    ctx = context(automation_accounts=frozenset({"557058:custom-app"}))
    ticket = issue_to_ticket(raw, ctx, jsm_comments=comments)
    assert [e.by for e in ticket.events if e.type == "public_reply"] == ["customer"]
    assert Event(at("12:40"), "comment", by="automation") in ticket.events


def test_full_changelog_replaces_truncated_expansion() -> None:
    raw = issue("search_page2.json", "ITSD-3")
    assert not changelog_is_complete(raw)
    truncated = issue_to_ticket(raw, context())
    assert truncated.events[0].to == "Waiting for customer"  # wrong without the full history
    full = (
        load("changelog_ITSD-3_start0.json")["values"]
        + load("changelog_ITSD-3_start2.json")["values"]
    )
    ticket = issue_to_ticket(raw, context(), histories=full)
    assert [(e.at, e.to) for e in ticket.events if e.type == "status"] == [
        (at("11:00"), "Waiting for support"),
        (at("11:30"), "Waiting for customer"),
        (at("12:00"), "In Progress"),
        (at("14:00:30"), "Resolved"),
    ]


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda i: i["fields"].pop("created"), "fields.created: missing"),
        (lambda i: i.pop("key"), "key missing"),
        (lambda i: i["fields"].update(created="2026-11-02T09:00:00.000"), "no UTC offset"),
        (lambda i: i["fields"].update(created="yesterday"), "is not a timestamp"),
        (lambda i: i["fields"].update(status=None), "fields.status missing"),
        (lambda i: i.update(fields="oops"), "fields missing or not an object"),
    ],
)
def test_unreadable_issue_is_rejected_with_the_reason(mutate: Any, reason: str) -> None:
    raw = issue("search_page1.json", "ITSD-2")
    mutate(raw)
    with pytest.raises(TicketError, match=reason):
        issue_to_ticket(raw, context())


def test_adf_description_flattens_to_text_and_strings_pass_through() -> None:
    doc = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [{"type": "text", "text": "VPN "}, {"type": "text", "text": "down"}],
            },
            {"type": "paragraph", "content": [{"type": "text", "text": "since 9"}]},
        ],
    }
    assert adf_to_text(doc) == "VPN down\nsince 9"
    assert adf_to_text("plain") == "plain"
    assert adf_to_text(None) == ""
