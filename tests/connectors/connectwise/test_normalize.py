"""Pure ConnectWise mapping: audit text, notes, channels."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sla_connector_psa.connectwise.normalize import (
    channel_of,
    classify_notes,
    initial_description,
    parse_audit,
)

from sla_connector.core.errors import TicketError
from sla_connector.core.ticket import Event

from .support import load

T = datetime(2026, 3, 2, 9, 14, tzinfo=UTC)


def entry(text: str, minute: int = 20, subtype: str = "", by: str = "asmith") -> dict[str, Any]:
    return {
        "text": text,
        "enteredDate": f"2026-03-02T09:{minute:02d}:00Z",
        "enteredBy": by,
        "auditType": "Ticket",
        "auditSubType": subtype,
        "auditSource": "Manage",
    }


@pytest.mark.parametrize(
    ("text", "old", "new"),
    [
        ('Status changed from "New" to "In Progress"', "New", "In Progress"),
        ("Status has been changed from 'New' to 'Waiting to Start'.", "New", "Waiting to Start"),
        ("Status updated from New to Waiting on Customer.", "New", "Waiting on Customer"),
        ('Ticket status set to "Resolved"', None, "Resolved"),
    ],
)
def test_audit_status_wording_variants(text: str, old: str | None, new: str) -> None:
    changes, skipped = parse_audit([entry(text)], "ticket 1")
    assert skipped == []
    assert [(c.field, c.old, c.new) for c in changes] == [("status", old, new)]


def test_audit_uses_subtype_when_text_does_not_name_the_field() -> None:
    changes, _ = parse_audit([entry('Changed from "asmith" to "dlee"', subtype="Owner")], "t")
    assert [(c.field, c.new) for c in changes] == [("owner", "dlee")]


def test_audit_ignores_unrelated_entries_and_sorts_by_time() -> None:
    entries = [
        entry('Status changed from "B" to "C"', minute=40),
        entry('Summary changed from "x" to "y"', minute=10),
        entry('Status changed from "A" to "B"', minute=30),
    ]
    changes, _ = parse_audit(entries, "t")
    assert [c.new for c in changes] == ["B", "C"]


def test_audit_entry_with_a_naive_date_is_skipped_with_a_reason() -> None:
    bad = {**entry('Status changed from "A" to "B"'), "enteredDate": "2026-03-02T09:20:00"}
    changes, skipped = parse_audit([bad, "junk"], "ticket 4")
    assert changes == []
    assert skipped == [
        "ticket 4: audit[0].enteredDate: '2026-03-02T09:20:00' has no UTC offset",
        "ticket 4: audit[1]: not an object",
    ]


def test_audit_that_is_not_a_list_rejects_the_ticket() -> None:
    with pytest.raises(TicketError, match="audit trail: expected a list"):
        parse_audit({"text": "x"}, "ticket 4")


def test_notes_classification_follows_flags_and_author() -> None:
    events, skipped = classify_notes(
        load("notes.json"), T, frozenset({"workflow"}), "[sla-connector]", "ticket 1001"
    )
    assert skipped == []
    assert [(e.type, e.by) for e in events] == [
        ("comment", "workflow"),
        ("comment", "asmith"),
        ("public_reply", "agent"),
        ("public_reply", "customer"),
    ]


def test_member_written_description_long_after_creation_is_a_reply() -> None:
    note = {
        "id": 1,
        "text": "Phoned the user back",
        "detailDescriptionFlag": True,
        "member": {"identifier": "asmith"},
        "dateCreated": "2026-03-02T10:00:00Z",
    }
    events, _ = classify_notes([note], T, frozenset(), "[sla-connector]", "t")
    assert events == [Event(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), "public_reply", by="agent")]


def test_the_initial_description_is_the_first_discussion_note_written_at_creation() -> None:
    internal = {
        "text": "triage",
        "internalAnalysisFlag": True,
        "dateCreated": "2026-03-02T09:14:00Z",
    }
    body = {
        "text": "The whole office is down",
        "detailDescriptionFlag": True,
        "contact": {"id": 1},
        "dateCreated": "2026-03-02T09:15:00Z",
    }
    reply = {**body, "text": "Looking", "member": {"identifier": "a"}}
    reply["dateCreated"] = "2026-03-02T09:40:00Z"
    # Read order is not time order: the description is still the first discussion note.
    assert initial_description([reply, internal, body], T, "t") == "The whole office is down"
    # A first discussion note long after creation is a reply (classify_notes), not a body.
    assert initial_description([reply], T, "t") == ""
    assert initial_description([], T, "t") == ""


def test_resolution_note_by_member_counts_as_a_public_reply() -> None:
    notes = [
        {
            "id": 1,
            "text": "desc",
            "detailDescriptionFlag": True,
            "contact": {"id": 1},
            "dateCreated": "2026-03-02T09:14:00Z",
        },
        {
            "id": 2,
            "text": "Fixed",
            "resolutionFlag": True,
            "member": {"identifier": "a"},
            "dateCreated": "2026-03-02T09:30:00Z",
        },
    ]
    events, _ = classify_notes(notes, T, frozenset(), "[sla-connector]", "t")
    assert [(e.type, e.by) for e in events] == [("public_reply", "agent")]


@pytest.mark.parametrize(
    ("source", "channel"),
    [
        ("Email", "email"),
        ("Phone", "phone"),
        ("Portal", "portal"),
        ("Email Connector", "email"),
        ("RMM Alert", "monitoring"),
        ("Walk-in", "walk-in"),
    ],
)
def test_channel_from_source_name(source: str, channel: str) -> None:
    assert channel_of(source, {}) == channel


def test_channel_map_overrides_the_defaults() -> None:
    assert channel_of("Email", {"email": "portal"}) == "portal"
