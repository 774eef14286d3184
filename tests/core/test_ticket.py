"""The canonical ticket and its validation (DESIGN section 3, SEMANTICS S24)."""

from __future__ import annotations

from typing import Any

import pytest

from sla_connector.core.errors import TicketError
from sla_connector.core.ticket import parse_ticket


def _data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "48213",
        "source": "zd",
        "client": "acme",
        "subject": "Email server down",
        "created_at": "2026-11-02T09:14:00Z",
        "events": [
            {"at": "2026-11-02T09:20:00Z", "type": "public_reply", "by": "agent"},
            {"at": "2026-11-02T11:02:00+01:00", "type": "status", "to": "pending"},
        ],
        "custom_field": 7,
    }
    data.update(overrides)
    return data


def test_parse_round_trips_and_keeps_unknown_fields_in_extra() -> None:
    ticket = parse_ticket(_data(), {"zd"})
    assert ticket.extra == {"custom_field": 7}
    again = parse_ticket(ticket.to_json(), {"zd"})
    assert again == ticket
    assert ticket.to_json()["events"][1]["at"] == "2026-11-02T10:02:00Z"


def test_tags_and_notes_are_canonical_fields_that_round_trip() -> None:
    ticket = parse_ticket(_data(tags=["vip", "sla-p1-c1"], notes=["[sla-connector k]"]), {"zd"})
    assert ticket.tags == ("vip", "sla-p1-c1")
    assert ticket.notes == ("[sla-connector k]",)
    assert "tags" not in ticket.extra
    assert parse_ticket(ticket.to_json(), {"zd"}) == ticket
    assert "tags" not in parse_ticket(_data(), {"zd"}).to_json()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"created_at": "2026-11-02T09:14:00"}, "no UTC offset"),
        ({"events": [{"at": "2026-11-02T09:00:00Z", "type": "comment"}]}, "before created_at"),
        (
            {
                "events": [
                    {"at": "2026-11-02T11:00:00Z", "type": "comment"},
                    {"at": "2026-11-02T10:00:00Z", "type": "comment"},
                ]
            },
            "out of order",
        ),
        ({"source": "nowhere"}, "names no configured connector"),
        ({"events": [{"at": "2026-11-02T10:00:00Z", "type": "status"}]}, "needs the new status"),
        ({"events": [{"at": "2026-11-02T10:00:00Z", "type": "teleport"}]}, "is not one of"),
        ({"created_at": "yesterday"}, "not an RFC 3339 time"),
        ({"id": None}, "id: missing"),
        ({"tags": "vip"}, "tags: expected a list of strings"),
        ({"notes": [{"text": "x"}]}, "notes: expected a list of strings"),
    ],
)
def test_s24_bad_input_is_rejected_with_a_reason(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(TicketError, match=message):
        parse_ticket(_data(**overrides), {"zd"})


def test_s24_non_object_is_rejected() -> None:
    with pytest.raises(TicketError, match="expected a JSON object"):
        parse_ticket([1, 2], {"zd"})
