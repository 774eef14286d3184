"""The connector contract: one suite, run against every connector, the simulators included.

Each connector's test package builds its ``Case`` (``tests/connectors/<psa>/contract.py``)
on its recorded or mock transport; every test below runs once per connector. What it pins
is what the runtime relies on (``core.ports.Connector`` and docs/architecture.md, "The
contract a connector keeps"): pages and resumable cursors, canonical tickets, writes whose
marker a re-read shows, capabilities found by protocol, ``check()`` verdicts that say what
to fix, errors named by recovery, and ``aclose``; and the signals of issue 12: tickets that
went away are withdrawn with their reason, one failing object is recorded while the rest
of the poll goes on, a 409 is the conflict signal, a truncated body is retried in place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from sla_connector.core.errors import (
    WITHDRAWN_REASONS,
    ConnectorError,
    FatalConnectorError,
    RetriableConnectorError,
    TicketError,
    TicketGoneError,
    WriteConflictError,
)
from sla_connector.core.ports import Connector, HealthReporter, PollPage, StepWriter
from sla_connector.core.ticket import Ticket, parse_ticket
from sla_connector.registry import available_connectors
from sla_connector.runtime.writeback import (
    capabilities,
    has_marker,
    marker_tag,
    marker_text,
    marker_written,
    write_actions,
)
from tests.connectors.connectwise.contract import case as connectwise
from tests.connectors.contract import FAILURES, Case
from tests.connectors.jira_sm.contract import case as jira_sm
from tests.connectors.simulator.contract import case as simulator
from tests.connectors.simulator.contract import http_case as simulator_http
from tests.connectors.zendesk.contract import case as zendesk

pytestmark = pytest.mark.anyio

CASES: dict[str, Callable[[], Case]] = {
    "connectwise": connectwise,
    "jira_sm": jira_sm,
    "simulator": simulator,
    "simulator_http": simulator_http,
    "zendesk": zendesk,
}
# What check() must name for each failure (lower case), whatever the vendor's wording.
ADVICE = {
    "401": ("credential",),
    "403": ("permission",),
    "404": ("url", "not found"),
    "unreachable": ("unreachable", "cannot reach"),
}


@pytest.fixture(params=sorted(CASES))
async def case(request: pytest.FixtureRequest) -> AsyncIterator[Case]:
    built = CASES[request.param]()
    yield built
    await built.connector.aclose()
    if built.client is not None:
        await built.client.aclose()


def http_only(case: Case) -> None:
    if case.transport is None:
        pytest.skip(f"{case.kind} has no HTTP transport to fail")


async def poll(connector: Connector, cursor: str | None) -> list[PollPage]:
    return [page async for page in connector.fetch_changed(cursor)]


def delivered(pages: list[PollPage]) -> set[str]:
    return {ticket.id for page in pages for ticket in page.tickets}


async def some_ticket(case: Case) -> Ticket:
    return await case.connector.fetch_ticket(sorted(case.ticket_ids)[0])


def test_every_registered_connector_is_under_the_contract() -> None:
    assert set(available_connectors()) == set(CASES)


async def test_a_full_read_delivers_every_ticket_in_pages_and_ends_with_a_cursor(
    case: Case,
) -> None:
    pages = await poll(case.connector, None)
    assert len(pages) >= 2, "the case holds more tickets than one page"
    assert delivered(pages) == case.ticket_ids
    assert not [page.rejected for page in pages if page.rejected]
    assert isinstance(pages[-1].cursor, str) and pages[-1].cursor


async def test_the_cursor_of_any_page_resumes_without_losing_a_later_ticket(case: Case) -> None:
    pages = await poll(case.connector, None)
    for index, page in enumerate(pages[:-1]):
        later = delivered(pages[index + 1 :])
        assert later <= delivered(await poll(case.connector, page.cursor)), index


async def test_tickets_are_canonical_and_come_from_this_connector(case: Case) -> None:
    for page in await poll(case.connector, None):
        for ticket in page.tickets:
            assert ticket.source == case.connector.name
            assert ticket.created_at.utcoffset() is not None
            times = [event.at for event in ticket.events]
            assert times == sorted(times) and all(at >= ticket.created_at for at in times)
            assert all(isinstance(tag, str) for tag in ticket.tags)
            assert parse_ticket(ticket.to_json()) == ticket


async def test_a_poll_from_the_last_cursor_with_nothing_changed_delivers_nothing(
    case: Case,
) -> None:
    cursor = (await poll(case.connector, None))[-1].cursor
    again = await poll(case.connector, cursor)
    assert delivered(again) == set()
    assert isinstance(again[-1].cursor, str) and again[-1].cursor


async def test_a_change_after_the_cursor_is_delivered_by_the_next_poll(case: Case) -> None:
    cursor = (await poll(case.connector, None))[-1].cursor
    changed = sorted(case.ticket_ids)[1]
    case.touch(changed)
    assert changed in delivered(await poll(case.connector, cursor))


async def test_fetch_ticket_reads_one_ticket_and_refuses_an_unknown_one(case: Case) -> None:
    wanted = sorted(case.ticket_ids)[0]
    ticket = await case.connector.fetch_ticket(wanted)
    assert (ticket.id, ticket.source) == (wanted, case.connector.name)
    with pytest.raises((ConnectorError, TicketError)):
        await case.connector.fetch_ticket(case.unknown_id)


async def test_each_write_lands_and_a_reread_shows_the_steps_marker(case: Case) -> None:
    ticket = await some_ticket(case)
    key = f"{ticket.source}:{ticket.id}:contract:1"
    tag = marker_tag("contract", 1)
    connector = case.connector
    results = [
        await connector.assign(ticket, case.person),
        await connector.set_priority(ticket, case.tier),
        await connector.add_internal_note(ticket, f"escalated\n{marker_text(key)}"),
        await connector.add_tag(ticket, tag),
    ]
    assert all(result.ok for result in results), [r.detail for r in results]
    reread = await connector.fetch_ticket(ticket.id)
    assert tag in reread.tags  # the canonical field: the runtime reads nothing else
    if case.shows_notes:
        assert any(marker_text(key) in note for note in reread.notes)
    assert has_marker(reread, key, tag)
    # Without the tag, the note alone: in the ticket's notes, or through find_note.
    by_note = await marker_written(connector, reread, key, "no-such-tag")
    assert by_note == (case.shows_notes or "find_note" in case.capabilities)


async def test_a_whole_step_goes_through_write_actions(case: Case) -> None:
    ticket = await some_ticket(case)
    key = f"{ticket.source}:{ticket.id}:step:1"
    actions = [
        ("reassign", case.person),
        ("set_priority", case.tier),
        ("note", f"step\n{marker_text(key)}"),
        ("tag", marker_tag("step", 1)),
    ]
    results = await write_actions(case.connector, ticket, actions, capabilities(case.connector))
    assert all(result.ok for result in results), [r.detail for r in results]
    assert len(results) == (1 if isinstance(case.connector, StepWriter) else len(actions))
    reread = await case.connector.fetch_ticket(ticket.id)
    assert await marker_written(case.connector, reread, key, marker_tag("step", 1))


async def test_capabilities_are_found_by_protocol(case: Case) -> None:
    assert capabilities(case.connector).names == case.capabilities


async def test_check_passes_against_a_healthy_psa(case: Case) -> None:
    verdict = await case.connector.check()
    assert verdict.ok, verdict.summary
    assert verdict.summary


@pytest.mark.parametrize("failure", FAILURES)
async def test_check_fails_and_says_what_to_fix(case: Case, failure: str) -> None:
    http_only(case)
    case.fail(failure)
    verdict = await case.connector.check()
    assert not verdict.ok
    words = ADVICE.get(failure, ())
    assert not words or any(word in verdict.summary.lower() for word in words), verdict.summary


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        ("500", RetriableConnectorError),
        ("unreachable", RetriableConnectorError),
        ("401", FatalConnectorError),
        ("403", FatalConnectorError),
    ],
)
async def test_a_failing_poll_raises_the_error_class_its_recovery_needs(
    case: Case, failure: str, expected: type[Exception]
) -> None:
    http_only(case)
    case.fail(failure)
    with pytest.raises(expected):
        await poll(case.connector, None)


async def test_aclose_can_be_repeated_and_leaves_an_injected_client_open(case: Case) -> None:
    await case.connector.aclose()
    await case.connector.aclose()
    assert case.client is None or not case.client.is_closed


def test_the_marker_search_reads_the_canonical_fields_only() -> None:
    """Vendor keys in ``extra`` are the connector's own: the runtime never reads them."""
    key, tag = "zd:1:lead:1", marker_tag("lead", 1)
    created = datetime(2026, 11, 2, tzinfo=UTC)
    legacy = Ticket(
        id="1",
        source="zd",
        client="acme",
        created_at=created,
        extra={"tags": [tag], "labels": [tag], "notes": [{"text": marker_text(key)}]},
    )
    assert not has_marker(legacy, key, tag)
    tagged = Ticket(id="1", source="zd", client="acme", created_at=created, tags=(tag,))
    noted = Ticket(
        id="1", source="zd", client="acme", created_at=created, notes=(f"x {marker_text(key)}",)
    )
    assert has_marker(tagged, key, tag) and has_marker(noted, key, tag)


# -- signals for the runtime (issue 12): withdrawals, isolation, conflicts, health ------------


def signalled(case: Case, what: str) -> None:
    if getattr(case, what) is None:
        pytest.skip(f"{case.kind} has no {what} in its fake PSA")


async def test_a_deleted_ticket_is_withdrawn_by_the_polls_and_by_fetch_ticket(case: Case) -> None:
    signalled(case, "withdraw")
    assert case.withdraw is not None
    cursor = (await poll(case.connector, None))[-1].cursor
    gone = sorted(case.ticket_ids)[0]
    case.withdraw(gone)
    later = await poll(case.connector, cursor) + await poll(case.connector, None)
    withdrawn = {w.ticket_id: w.reason for page in later for w in page.withdrawn}
    assert withdrawn.get(gone) in case.reasons
    assert all(reason in WITHDRAWN_REASONS for reason in withdrawn.values())
    assert gone not in delivered(later)
    with pytest.raises(TicketGoneError) as caught:
        await case.connector.fetch_ticket(gone)
    assert (caught.value.ticket_id, caught.value.reason) == (gone, withdrawn[gone])


async def test_a_write_to_a_deleted_ticket_raises_ticket_gone(case: Case) -> None:
    signalled(case, "withdraw")
    assert case.withdraw is not None
    ticket = await some_ticket(case)
    case.withdraw(ticket.id)
    with pytest.raises(TicketGoneError):
        await case.connector.add_tag(ticket, marker_tag("gone", 1))


async def test_one_failing_object_is_recorded_and_the_rest_of_the_poll_goes_on(
    case: Case,
) -> None:
    signalled(case, "break_one")
    assert case.break_one is not None
    kind, broken = case.break_one()
    pages = await poll(case.connector, None)
    failures = {(f.kind, f.object_id): f for page in pages for f in page.failures}
    assert (kind, broken) in failures
    assert failures[(kind, broken)].retry_at is not None
    assert case.ticket_ids - {broken} <= delivered(pages)
    assert isinstance(case.connector, HealthReporter)
    assert (kind, broken) in {(f.kind, f.object_id) for f in case.connector.health().failures}


async def test_every_connector_reports_its_health(case: Case) -> None:
    assert isinstance(case.connector, HealthReporter)
    await poll(case.connector, None)
    health = case.connector.health()
    assert health.failures == () and isinstance(dict(health.counters), dict)


async def test_a_409_on_a_write_raises_the_conflict_signal_and_writes_nothing(case: Case) -> None:
    http_only(case)
    assert case.transport is not None
    ticket = await some_ticket(case)
    case.transport.conflicts = 1
    with pytest.raises(WriteConflictError):
        await case.connector.add_tag(ticket, marker_tag("conflict", 1))
    reread = await case.connector.fetch_ticket(ticket.id)
    assert marker_tag("conflict", 1) not in reread.tags


async def test_a_truncated_body_is_retried_and_the_poll_is_whole(case: Case) -> None:
    http_only(case)
    assert case.transport is not None
    case.transport.truncations = 1
    pages = await poll(case.connector, None)
    assert delivered(pages) == case.ticket_ids
    assert not [page.failures for page in pages if page.failures]
