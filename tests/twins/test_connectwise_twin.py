"""The ConnectWise twin behaves as the spec and psa-apis.md say, shown with plain httpx.

Each test names the behaviour; ``tests/twins/connectwise/`` cites its source.
"""

from __future__ import annotations

import httpx
import pytest

from tests.twins.clock import ManualClock
from tests.twins.connectwise import ConnectWiseTwin
from tests.twins.connectwise.conditions import ConditionError, parse_conditions
from tests.twins.faults import FaultKind


def ids(answer: httpx.Response) -> list[int]:
    assert answer.status_code == 200, answer.text
    return [row["id"] for row in answer.json()]


def test_conditions_are_actually_applied(
    connectwise: ConnectWiseTwin, cw_api: httpx.Client, clock: ManualClock
) -> None:
    first = connectwise.create_ticket("Mail down")
    other = connectwise.create_ticket("Printer", board="Projects")
    clock.advance(120)
    connectwise.set_status(first, "In Progress")
    cutoff = "[" + connectwise.ticket(other)["_info"]["lastUpdated"] + "]"
    assert ids(
        cw_api.get("/service/tickets", params={"conditions": 'board/name = "Projects"'})
    ) == [other]
    recent = {"conditions": f"lastUpdated > {cutoff}"}
    assert ids(cw_api.get("/service/tickets", params=recent)) == [first]
    both = {
        "conditions": f"(closedFlag = false OR lastUpdated > {cutoff}) AND id in ({first},{other})"
    }
    assert ids(cw_api.get("/service/tickets", params=both)) == [first, other]
    none = {"conditions": 'summary like "%kettle%"'}
    assert ids(cw_api.get("/service/tickets", params=none)) == []


def test_an_unreadable_condition_answers_400(cw_api: httpx.Client) -> None:
    answer = cw_api.get("/service/tickets", params={"conditions": "lastUpdated >> [x"})
    assert answer.status_code == 400


def test_condition_parser_precedence_and_lists() -> None:
    record = {"id": 3, "board": {"name": "Service Desk"}, "closedFlag": True}
    assert parse_conditions('id = 1 OR id = 3 AND board/name = "service desk"')(record)
    assert not parse_conditions("(id = 1 OR id = 3) AND closedFlag = false")(record)
    assert parse_conditions("id not in (1, 2)")(record)
    with pytest.raises(ConditionError):
        parse_conditions("id in 1, 2")


def test_fields_project_and_paging_answers_a_link_header(
    connectwise: ConnectWiseTwin, cw_api: httpx.Client
) -> None:
    for n in range(5):
        connectwise.create_ticket(f"t{n}")
    page = cw_api.get("/service/tickets", params={"fields": "id,_info/lastUpdated", "pageSize": 2})
    assert [set(row) for row in page.json()] == [{"id", "_info"}] * 2
    assert set(page.json()[0]["_info"]) == {"lastUpdated"}
    assert 'rel="next"' in page.headers["Link"] and 'rel="last"' in page.headers["Link"]
    forward = cw_api.get("/service/tickets", params={"pageId": 1002, "pageSize": 10})
    assert ids(forward) == [1003, 1004, 1005]


def test_a_patch_adds_audit_entries_by_the_api_member(
    connectwise: ConnectWiseTwin, cw_api: httpx.Client
) -> None:
    ticket = connectwise.create_ticket("Mail down", priority="Priority 2 - High")
    critical = next(
        p["id"] for p in cw_api.get("/service/priorities").json() if p["level"] == "Critical"
    )
    answer = cw_api.patch(
        f"/service/tickets/{ticket}",
        json=[{"op": "replace", "path": "priority/id", "value": critical}],
    )
    assert answer.status_code == 200
    assert answer.json()["_info"]["updatedBy"] == "SLAConnector"
    trail = cw_api.get("/system/audittrail", params={"type": "Ticket", "id": ticket}).json()
    assert (
        trail[-1]["text"] == 'Priority changed from "Priority 2 - High" to "Priority 1 - Critical"'
    )
    assert (trail[-1]["enteredBy"], trail[-1]["auditSubType"]) == ("SLAConnector", "Priority")
    api_members = cw_api.get("/system/members", params={"conditions": 'licenseClass = "A"'}).json()
    assert {m["identifier"] for m in api_members} == {"SLAConnector", "automate"}


def test_time_entries_show_only_under_all_notes(
    connectwise: ConnectWiseTwin, cw_api: httpx.Client
) -> None:
    ticket = connectwise.create_ticket("Mail down")
    connectwise.time_entry(ticket, "Restarted the mail queue; working now")
    notes = cw_api.get(f"/service/tickets/{ticket}/notes").json()
    everything = cw_api.get(f"/service/tickets/{ticket}/allNotes").json()
    assert [n["text"] for n in notes] == ["Mail down"]
    entry = everything[-1]
    assert (entry["noteType"], entry["member"]["identifier"], entry["detailDescriptionFlag"]) == (
        "TimeEntryNote",
        "sng",
        True,
    )


def test_internal_note_post_and_its_journal_marker(
    connectwise: ConnectWiseTwin, cw_api: httpx.Client
) -> None:
    ticket = connectwise.create_ticket("Mail down")
    body = {"text": "[sla-connector] tag: sla-lead-c1", "internalAnalysisFlag": True}
    assert cw_api.post(f"/service/tickets/{ticket}/notes", json=body).status_code == 201
    bad = cw_api.post(f"/service/tickets/{ticket}/notes", json={"text": "x"})
    assert bad.status_code == 400  # one of the three flags is required
    [write] = connectwise.journal.api_writes()
    assert (write.kind, write.step, write.principal) == (
        "private_comment",
        f"{ticket}:lead:c1",
        "api:SLAConnector",
    )


def test_merge_delete_and_a_move_to_another_board(
    connectwise: ConnectWiseTwin, cw_api: httpx.Client
) -> None:
    parent, child = connectwise.create_ticket("Mail down"), connectwise.create_ticket("Mail?")
    moved, gone = connectwise.create_ticket("VPN"), connectwise.create_ticket("Spam-ish")
    connectwise.merge(child, parent)
    connectwise.move_board(moved, "Projects")
    connectwise.delete_ticket(gone)
    merged = cw_api.get(f"/service/tickets/{child}").json()
    assert merged["mergedParentTicket"]["id"] == parent and merged["closedFlag"] is True
    assert cw_api.get(f"/service/tickets/{moved}").json()["board"]["name"] == "Projects"
    assert cw_api.get(f"/service/tickets/{gone}").status_code == 404


def test_a_tenant_wording_the_audit_trail_in_another_language(
    connectwise: ConnectWiseTwin, cw_api: httpx.Client
) -> None:
    connectwise.state.wording = "french"
    ticket = connectwise.create_ticket("Mail down")
    connectwise.set_status(ticket, "In Progress")
    trail = cw_api.get("/system/audittrail", params={"type": "Ticket", "id": ticket}).json()
    assert trail[-1]["text"] == "Statut modifié : « New » → « In Progress »"


def test_keys_and_client_id_are_both_required(connectwise: ConnectWiseTwin) -> None:
    with httpx.Client(base_url=connectwise.base_url, timeout=5) as bare:
        wrong = bare.get(
            "/service/tickets", auth=("mspco+pubKEY0001", "nope"), headers=connectwise.headers()
        )
        no_client = bare.get("/service/tickets", auth=connectwise.basic_auth())
    assert wrong.status_code == 401 and no_client.status_code == 400


def test_injected_faults_include_a_409_conflict(
    connectwise: ConnectWiseTwin, cw_api: httpx.Client
) -> None:
    ticket = connectwise.create_ticket("Mail down")
    connectwise.faults.inject(FaultKind.CONFLICT, method="PATCH")
    op = [{"op": "replace", "path": "status/name", "value": "In Progress"}]
    assert cw_api.patch(f"/service/tickets/{ticket}", json=op).status_code == 409
    assert connectwise.ticket(ticket)["status"]["name"] == "New"  # nothing applied
