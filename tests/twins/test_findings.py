"""One test per numbered finding of issue 12, each against a vendor's twin.

Every test builds the shipped connector through the registry (``tests/twins/connectors.py``)
and drives it over loopback HTTP against a twin built from the vendor's documentation; each
failed on the code as it was before issue 12 (the lead's report lists how) and passes now.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from sla_connector.core.errors import TicketGoneError, WriteConflictError
from sla_connector.core.ports import Connector, PollPage
from sla_connector.core.ticket import Ticket
from tests.twins.clock import ManualClock
from tests.twins.connectors import (
    TwinTime,
    connectwise_connector,
    jira_connector,
    zendesk_connector,
)
from tests.twins.connectwise import ConnectWiseTwin
from tests.twins.faults import FaultKind
from tests.twins.jira_sm import JiraTwin
from tests.twins.zendesk import ZendeskTwin

pytestmark = pytest.mark.anyio

EXPORT = "/api/v2/incremental/tickets/cursor"


async def poll(connector: Connector, cursor: str | None) -> list[PollPage]:
    return [page async for page in connector.fetch_changed(cursor)]


def tickets(pages: list[PollPage]) -> dict[str, Ticket]:
    return {t.id: t for page in pages for t in page.tickets}


def withdrawn(pages: list[PollPage]) -> dict[str, str]:
    return {w.ticket_id: w.reason for page in pages for w in page.withdrawn}


def statuses(ticket: Ticket) -> list[str | None]:
    return [e.to for e in ticket.events if e.type == "status"]


# -- 1. Zendesk no longer issues API tokens -------------------------------------------------


async def test_finding_1_zendesk_connects_with_oauth_client_credentials_when_tokens_are_off(
    zendesk: ZendeskTwin, clock: ManualClock, env: Any
) -> None:
    zendesk.auth.api_tokens_enabled = False  # 2027-04-30: every API token stops working
    ticket = zendesk.create_ticket("Mail server down", priority="urgent")
    clock.advance(61)
    connector = zendesk_connector(zendesk, TwinTime(clock), oauth=True, environ=env)
    try:
        found = tickets(await poll(connector, None))
        assert str(ticket) in found
        note = f"escalated\n[sla-connector zd:{ticket}:p1-director:1]"
        assert (await connector.add_internal_note(found[str(ticket)], note)).ok
        verdict = await connector.check()
    finally:
        await connector.aclose()
    assert verdict.ok and verdict.details["auth"]["method"] == "oauth_client_credentials"
    [write] = zendesk.journal.api_writes()
    assert write.principal == "oauth:twin-sla" and write.kind == "private_comment"


# -- 2. Jira service accounts go through api.atlassian.com ----------------------------------


@pytest.mark.parametrize("auth", ["oauth", "service_token"])
async def test_finding_2_jira_service_account_works_through_the_gateway(
    jira: JiraTwin, clock: ManualClock, env: Any, auth: str
) -> None:
    key = jira.create_issue("Laptop broken", priority="High")
    connector = jira_connector(jira, TwinTime(clock), auth=auth, environ=env)
    try:
        found = tickets(await poll(connector, None))
        assert (await connector.add_tag(found[key], "sla-lead-c1")).ok
        verdict = await connector.check()
    finally:
        await connector.aclose()
    assert verdict.ok, verdict.summary
    used = {r.path.split("/rest/")[0] for r in jira.journal.requests() if "/rest/" in r.path}
    assert used == {f"/ex/jira/{jira.account.cloud_id}"}  # never the site URL
    assert jira.journal.api_writes()[-1].principal.endswith(jira.account.service_account)


# -- 3. ConnectWise read its own priority change back as a manual one ----------------------


async def test_finding_3_connectwise_does_not_read_its_own_patch_as_a_manual_priority(
    connectwise: ConnectWiseTwin, clock: ManualClock, env: Any
) -> None:
    ticket = connectwise.create_ticket("Mail down", priority="Priority 2 - High")
    connector = connectwise_connector(connectwise, TwinTime(clock), environ=env)
    try:
        found = tickets(await poll(connector, None))[str(ticket)]
        assert (await connector.set_priority(found, "P1")).ok
        again = await connector.fetch_ticket(str(ticket))
    finally:
        await connector.aclose()
    audit = connectwise.state.live(ticket).audit[-1]
    assert audit["enteredBy"] == "SLAConnector" and audit["auditSubType"] == "Priority"
    assert [e for e in again.events if e.type == "priority"] == []


# -- 4. ConnectWise audit-trail wording it cannot read failed silently ----------------------


async def test_finding_4_an_unreadable_audit_trail_is_reported_loudly_with_a_sample(
    connectwise: ConnectWiseTwin,
    clock: ManualClock,
    env: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    connectwise.state.wording = "french"  # a tenant whose Manage writes French audit lines
    connectwise.state.create_ticket(
        "x",
        company="GLOBEX",
        contact=connectwise.account.contacts[0],
        board="Service Desk",
        priority="Priority 2 - High",
        entered_by="Portal",
    )
    ticket = connectwise.create_ticket("Mail down")
    connectwise.state.live(ticket).audit.clear()  # the creation line is localised too
    connectwise.set_status(ticket, "Waiting on Customer")
    connector = connectwise_connector(connectwise, TwinTime(clock), environ=env)
    caplog.set_level(logging.ERROR, logger="sla_connector_psa.connectwise")
    try:
        await poll(connector, None)
        verdict = await connector.check()
    finally:
        await connector.aclose()
    health = connector.health()  # type: ignore[attr-defined]
    assert health.counters["unparsed_audit_trails"] >= 1
    assert any("Statut modifié" in w for w in health.warnings)
    assert any("Statut modifié" in r.getMessage() for r in caplog.records)
    assert any("could not be read" in w for w in verdict.details["warnings"])


# -- 5. ConnectWise replies entered as time entries were ignored ---------------------------


async def test_finding_5_a_reply_logged_as_a_time_entry_is_a_first_response(
    connectwise: ConnectWiseTwin, clock: ManualClock, env: Any
) -> None:
    ticket = connectwise.create_ticket("Mail down")
    clock.advance(600)
    connectwise.time_entry(ticket, "Restarted the mail queue; it works now", discussion=True)
    replied = clock()
    connector = connectwise_connector(
        connectwise, TwinTime(clock), environ=env, first_response="notes"
    )
    try:
        found = await connector.fetch_ticket(str(ticket))
    finally:
        await connector.aclose()
    replies = [e for e in found.events if e.type == "public_reply"]
    assert [(e.by, e.at.timestamp()) for e in replies] == [("agent", int(replied))]


async def test_finding_5_a_server_without_all_notes_falls_back_to_notes_and_says_so(
    connectwise: ConnectWiseTwin, clock: ManualClock, env: Any
) -> None:
    connectwise.app.all_notes_served = False
    ticket = connectwise.create_ticket("Mail down")
    clock.advance(600)
    connectwise.member_reply(ticket, "Looking at it", member="dlee")
    replied = clock()
    connector = connectwise_connector(
        connectwise, TwinTime(clock), environ=env, first_response="notes"
    )
    try:
        pages = await poll(connector, None)
        found = await connector.fetch_ticket(str(ticket))
    finally:
        await connector.aclose()
    assert not withdrawn(pages) and str(ticket) in tickets(pages)  # not taken for deleted
    replies = [e for e in found.events if e.type == "public_reply"]
    assert [(e.by, e.at.timestamp()) for e in replies] == [("agent", int(replied))]
    health = connector.health()  # type: ignore[attr-defined]
    assert any("allNotes" in w for w in health.warnings)


# -- 6. Zendesk custom ticket statuses were invisible --------------------------------------


async def test_finding_6_custom_statuses_can_be_named_and_moves_within_a_category_count(
    zendesk: ZendeskTwin, clock: ManualClock, env: Any
) -> None:
    vendor = zendesk.state.add_custom_status("pending", "Pending - vendor")
    customer = zendesk.state.add_custom_status("pending", "Pending - customer")
    ticket = zendesk.create_ticket("VPN down", priority="high")
    zendesk.set_status(ticket, custom_status_id=vendor)
    clock.advance(120)
    zendesk.set_status(ticket, custom_status_id=customer)  # same category: pending
    clock.advance(61)
    connector = zendesk_connector(
        zendesk,
        TwinTime(clock),
        environ=env,
        paused_statuses=["Pending - customer", "hold"],
        responded_statuses=["Pending - vendor"],
    )
    try:
        found = tickets(await poll(connector, None))[str(ticket)]
    finally:
        await connector.aclose()
    assert statuses(found)[-2:] == ["Pending - vendor", "Pending - customer"]
    assert found.status == "Pending - customer"


async def test_finding_6_a_config_naming_only_categories_never_reads_the_custom_statuses(
    zendesk: ZendeskTwin, clock: ManualClock, env: Any
) -> None:
    # Their labels can change no name then, and a crash-looping daemon spent a request on
    # them in every life (issue 10, the 50-kill soak: 22 of 318 requests).
    vendor = zendesk.state.add_custom_status("pending", "Pending - vendor")
    ticket = zendesk.create_ticket("VPN down", priority="high")
    zendesk.set_status(ticket, custom_status_id=vendor)
    clock.advance(61)
    connector = zendesk_connector(
        zendesk, TwinTime(clock), environ=env, paused_statuses=["pending", "hold"]
    )
    try:
        found = tickets(await poll(connector, None))[str(ticket)]
    finally:
        await connector.aclose()
    assert found.status == "pending"
    assert statuses(found)[-1] == "pending"
    assert not [r for r in zendesk.journal.requests() if "custom_statuses" in r.path]


# -- 7. Jira's search returns at most 40 changelog entries ----------------------------------


async def test_finding_7_jira_reads_the_full_changelog_when_the_search_may_cut_it(
    jira: JiraTwin, clock: ManualClock, env: Any
) -> None:
    key = jira.create_issue("Flaky VPN")
    jira.transition(key, "Waiting for customer")  # the first pause: early history
    for _ in range(30):
        clock.advance(60)
        jira.transition(key, "In Progress")
        jira.transition(key, "Waiting for customer")
    connector = jira_connector(jira, TwinTime(clock), auth="site_token", environ=env)
    try:
        found = tickets(await poll(connector, None))[key]
    finally:
        await connector.aclose()
    assert len(found.events) == 62  # born Open + 61 changes: none lost
    assert statuses(found)[:3] == ["Open", "Waiting for customer", "In Progress"]


# -- 8. Deleted, merged or moved tickets never left the open set ----------------------------


async def test_finding_8_tickets_that_go_away_are_withdrawn_with_their_reason_zendesk(
    zendesk: ZendeskTwin, clock: ManualClock, env: Any
) -> None:
    deleted, merged, target = (zendesk.create_ticket(f"t{n}") for n in range(3))
    spam = zendesk.create_ticket("WIN A PRIZE", requester=zendesk.account.customers[2])
    clock.advance(61)
    connector = zendesk_connector(zendesk, TwinTime(clock), environ=env)
    try:
        cursor = (await poll(connector, None))[-1].cursor
        zendesk.delete_ticket(deleted)
        zendesk.mark_spam(spam)
        zendesk.merge_tickets(target, [merged])
        clock.advance(61)
        gone = withdrawn(await poll(connector, cursor))
        with pytest.raises(TicketGoneError) as caught:
            await connector.fetch_ticket(str(merged))
    finally:
        await connector.aclose()
    assert gone == {str(deleted): "deleted", str(spam): "spam", str(merged): "merged"}
    assert caught.value.reason == "merged"


async def test_finding_8_tickets_that_go_away_are_withdrawn_with_their_reason_connectwise(
    connectwise: ConnectWiseTwin, clock: ManualClock, env: Any
) -> None:
    deleted, merged, moved, parent = (connectwise.create_ticket(f"t{n}") for n in range(4))
    connector = connectwise_connector(connectwise, TwinTime(clock), environ=env)
    try:
        await poll(connector, None)
        connectwise.delete_ticket(deleted)
        connectwise.merge(merged, parent)
        connectwise.move_board(moved, "Projects")
        clock.advance(60)
        gone = withdrawn(await poll(connector, None))  # a full read notices all three
        with pytest.raises(TicketGoneError) as caught:
            await connector.fetch_ticket(str(moved))
    finally:
        await connector.aclose()
    assert gone == {str(deleted): "deleted", str(merged): "merged", str(moved): "out_of_scope"}
    assert caught.value.reason == "out_of_scope"


async def test_finding_8_tickets_that_go_away_are_withdrawn_with_their_reason_jira(
    jira: JiraTwin, clock: ManualClock, env: Any
) -> None:
    deleted, moved = jira.create_issue("a"), jira.create_issue("b")
    connector = jira_connector(jira, TwinTime(clock), auth="site_token", environ=env)
    try:
        await poll(connector, None)
        jira.delete_issue(deleted)
        jira.move_issue(moved, "OPS")
        gone = withdrawn(await poll(connector, None))
    finally:
        await connector.aclose()
    assert gone == {deleted: "deleted", moved: "out_of_scope"}


# -- 9. One bad object stopped everything ---------------------------------------------------


async def test_finding_9_an_archived_jira_project_does_not_stop_the_others(
    jira: JiraTwin, clock: ManualClock, env: Any
) -> None:
    kept = jira.create_issue("Laptop")
    jira.create_issue("Backup", project="OPS")
    jira.archive_project("OPS")
    connector = jira_connector(
        jira, TwinTime(clock), auth="site_token", environ=env, projects=["ITSD", "OPS"]
    )
    try:
        pages = await poll(connector, None)
        health = connector.health()  # type: ignore[attr-defined]
    finally:
        await connector.aclose()
    assert kept in tickets(pages)
    assert [(f.kind, f.object_id) for p in pages for f in p.failures] == [("project", "OPS")]
    assert [(f.kind, f.object_id) for f in health.failures] == [("project", "OPS")]


async def test_finding_9_a_zendesk_ticket_deleted_mid_poll_does_not_abort_the_poll(
    zendesk: ZendeskTwin, clock: ManualClock, env: Any
) -> None:
    first, doomed, last = (zendesk.create_ticket(f"t{n}") for n in range(3))
    clock.advance(61)
    before = zendesk_connector(zendesk, TwinTime(clock), environ=env)
    try:
        cursor = (await poll(before, None))[-1].cursor
    finally:
        await before.aclose()
    for ticket in (first, doomed, last):
        zendesk.customer_comment(ticket, "Any news?")
    clock.advance(61)

    def delete_after_the_export(method: str, path: str) -> None:
        if path == EXPORT:
            zendesk.asgi.after.clear()
            zendesk.delete_ticket(doomed)  # exported as live, gone when its audits are read

    zendesk.asgi.after.append(delete_after_the_export)
    restarted = zendesk_connector(zendesk, TwinTime(clock), environ=env)  # no history yet
    earlier = len(zendesk.journal.requests())  # the first poll's (it may read audits too)
    try:
        pages = await poll(restarted, cursor)
    finally:
        await restarted.aclose()
    later = zendesk.journal.requests()[earlier:]
    audits = [r for r in later if r.path.endswith(f"/{doomed}/audits")]
    assert [r.status for r in audits] == [404]
    assert set(tickets(pages)) == {str(first), str(last)}
    assert withdrawn(pages) == {str(doomed): "deleted"}


# -- 10. Hourly full reads re-read every history --------------------------------------------


async def test_finding_10_a_reconcile_rereads_only_the_histories_that_moved(
    connectwise: ConnectWiseTwin, clock: ManualClock, env: Any
) -> None:
    ids = [connectwise.create_ticket(f"ticket {n}") for n in range(30)]
    connector = connectwise_connector(connectwise, TwinTime(clock), environ=env)
    try:
        await poll(connector, None)
        clock.advance(3600)
        for ticket in ids[:3]:
            connectwise.set_status(ticket, "In Progress")
        before = len(connectwise.journal.requests())
        pages = await poll(connector, None)  # the runtime's next full read
    finally:
        await connector.aclose()
    later = connectwise.journal.requests()[before:]
    audits = [r for r in later if r.path.endswith("/system/audittrail")]
    assert len(audits) == 3  # one history read per changed ticket, none for the other 27
    assert len(tickets(pages)) == 30 and len(later) <= 3 * 2 + 2


# -- 11. Writes overwrote a person's simultaneous change; 409 was never a signal -----------


async def test_finding_11_zendesk_writes_are_safe_updates_and_a_409_is_the_conflict_signal(
    zendesk: ZendeskTwin, clock: ManualClock, env: Any
) -> None:
    ticket = zendesk.create_ticket("Mail down", priority="high")
    clock.advance(61)
    connector = zendesk_connector(zendesk, TwinTime(clock), environ=env)
    try:
        verified = await connector.fetch_ticket(str(ticket))
        clock.advance(5)
        zendesk.update_as_agent(ticket, {"priority": "low"})  # a person, meanwhile
        with pytest.raises(WriteConflictError):
            await connector.set_priority(verified, "P1")
        fresh = await connector.fetch_ticket(str(ticket))
        assert (await connector.set_priority(fresh, "P1")).ok  # re-read, re-verified: once
    finally:
        await connector.aclose()
    assert [w.value for w in zendesk.journal.writes() if w.kind == "priority"] == [
        "low",
        "urgent",
    ]


async def test_finding_11_jira_writes_a_step_in_one_edit_and_connectwise_signals_409(
    jira: JiraTwin, connectwise: ConnectWiseTwin, clock: ManualClock, env: Any
) -> None:
    key = jira.create_issue("Mail down", priority="High")
    jsm = jira_connector(jira, TwinTime(clock), auth="site_token", environ=env)
    try:
        issue = tickets(await poll(jsm, None))[key]
        step = [("reassign", "dana@msp.example"), ("set_priority", "P1"), ("tag", "sla-lead-c1")]
        result = await jsm.apply(issue, step)  # type: ignore[attr-defined]
        assert result.ok, result.detail
    finally:
        await jsm.aclose()
    edits = [r for r in jira.journal.requests() if r.method == "PUT"]
    assert len(edits) == 1
    ticket = connectwise.create_ticket("Printer")
    cw = connectwise_connector(connectwise, TwinTime(clock), environ=env)
    try:
        found = await cw.fetch_ticket(str(ticket))
        connectwise.faults.inject(FaultKind.CONFLICT, method="PATCH")
        with pytest.raises(WriteConflictError):
            await cw.set_priority(found, "P1")
    finally:
        await cw.aclose()


# -- issue 10, item 4: a transient fault on one request never fails the poll ----------------


async def test_issue_10_item_4_a_truncated_audit_body_is_retried_like_a_500(
    zendesk: ZendeskTwin, clock: ManualClock, env: Any
) -> None:
    first, second = zendesk.create_ticket("a"), zendesk.create_ticket("b")
    clock.advance(61)
    before = zendesk_connector(zendesk, TwinTime(clock), environ=env)
    try:
        cursor = (await poll(before, None))[-1].cursor
    finally:
        await before.aclose()
    zendesk.customer_comment(first, "still down")
    zendesk.customer_comment(second, "still down")
    clock.advance(61)
    zendesk.faults.inject(FaultKind.TRUNCATED, path=rf"/tickets/{first}/audits")
    zendesk.faults.inject(FaultKind.SERVER_ERROR, path=rf"/tickets/{second}/audits")
    zendesk.faults.inject(FaultKind.RESET, path=EXPORT)
    restarted = zendesk_connector(zendesk, TwinTime(clock), environ=env)
    try:
        pages = await poll(restarted, cursor)
    finally:
        await restarted.aclose()
    assert set(tickets(pages)) == {str(first), str(second)}
    assert not [p.failures for p in pages if p.failures]
    assert zendesk.faults.injected == {"truncated": 1, "500": 1, "reset": 1}
