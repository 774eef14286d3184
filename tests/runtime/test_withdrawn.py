"""Tickets that go away (issue 12 item 3, SEMANTICS S39) on a scripted PSA in virtual time.

A withdrawal reaches the runtime two ways: a poll's ``PollPage.withdrawn`` and
``TicketGoneError`` from the re-read before a write. Either way the ticket leaves the open
set, its pending steps are cancelled with the reason (ledger and evidence), and the reports
and the dashboard list it as withdrawn, never as breached.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sla_connector.core.errors import TicketGoneError
from sla_connector.core.ports import PollPage, Withdrawal
from sla_connector.core.ticket import Ticket
from sla_connector.core.vocabulary import Vocabulary
from sla_connector.reporting import build_report
from sla_connector.reporting.periods import period_containing
from sla_connector.reporting.render import render_text
from sla_connector.runtime.clocks import ManualClock
from sla_connector.runtime.source import StoreSource
from sla_connector.settings import load_config
from sla_connector.web.pages import Pages
from sla_connector.web.views import build_client, build_overview
from tests.runtime.test_escalator import KEY, ROOT, START, ScriptedPsa, _daemon, at

pytestmark = pytest.mark.anyio


@dataclass
class GoingPsa(ScriptedPsa):
    """The scripted PSA whose ticket can go away: reported by a poll, or only on re-read."""

    gone: tuple[str, str] | None = None  # (reason, detail) once the ticket went away
    polls_tell: bool = True  # False: polls stop delivering it, only a re-read tells
    back: bool = False  # restored (Zendesk restores deleted tickets for 30 days)

    async def fetch_changed(self, since_cursor: str | None) -> AsyncIterator[PollPage]:
        cursor = self.clock.now().isoformat()
        if self.gone is not None and not self.back:
            withdrawn = (Withdrawal("1", *self.gone),) if self.polls_tell else ()
            yield PollPage((), cursor=cursor, withdrawn=withdrawn)
            return
        async for page in super().fetch_changed(since_cursor):
            yield page

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        if self.gone is not None and not self.back:
            self.fetches += 1
            raise TicketGoneError(ticket_id, *self.gone)
        return await super().fetch_ticket(ticket_id)


def _kinds(store) -> list[tuple[str, dict]]:  # type: ignore[no-untyped-def]
    return [(e.kind, dict(e.payload)) for e in store.evidence()]


async def test_s39_withdrawn_tickets_leave_the_open_set_and_are_never_breached(
    tmp_path: Path,
) -> None:
    # The worked example of S39: globex's P2 "VPN slow", opened Monday 09:00 (response due
    # 10:00, the senior-engineer step due 12:00), is merged into 1234 at 09:30; the 09:35
    # poll reports it withdrawn.
    clock = ManualClock(START)
    psa = GoingPsa(clock, [])
    daemon, timeline, store = await _daemon(tmp_path, psa, clock)
    await timeline.run_until(at(31))
    assert next(r for r in store.ledger() if r.key == KEY).state == "planned"
    psa.gone = ("merged", "into 1234")
    await timeline.run_until(at(8 * 60))  # the response clock would have breached at 10:00
    row = next(r for r in store.ledger() if r.key == KEY)
    assert (row.state, row.detail) == ("cancelled", "withdrawn: merged (into 1234)")
    assert psa.writes == [] and psa.fetches == 0  # nothing written, no re-read needed
    snapshot = store.get_ticket("sim", "1")
    assert snapshot is not None and not snapshot.is_open
    [gone] = store.withdrawals()
    assert (gone.ticket_id, gone.client, gone.reason, gone.detail) == (
        "1",
        "globex",
        "merged",
        "into 1234",
    )
    evidence = _kinds(store)
    withdrawal = next(p for k, p in evidence if k == "withdrawal")
    assert (withdrawal["reason"], withdrawal["cancelled"]) == ("merged", [KEY])
    assert any(
        k == "escalation" and p["key"] == KEY and p["state"] == "cancelled" for k, p in evidence
    )

    # The report of the week lists it as withdrawn, not breached; adherence counts nothing.
    config = load_config(ROOT / "examples" / "policy.yaml")
    week = period_containing("weekly", START.astimezone(ZoneInfo("Europe/London")))
    report = build_report(store, config.policy, week, clock.now(), client="globex")
    assert report.breaches == ()
    assert report.total.response.decided == 0 and report.total.ticket.decided == 0
    [line] = report.withdrawn
    assert (line.ticket_id, line.reason, line.cancelled) == ("1", "merged", ("senior-engineer",))
    assert "WITHDRAWN (1)" in render_text(report)

    # The dashboard: not open, not breached, listed as withdrawn.
    source = StoreSource(config.policy, store, clock, daemon.status)
    overview = build_overview(source, Vocabulary())
    assert overview.open_total == 0 and overview.breached_open_total == 0
    assert [(w.ticket_id, w.reason) for w in overview.withdrawn] == [("1", "merged")]
    html = Pages(display_tz=UTC, refresh_seconds=30, logout=False).overview(overview)
    assert "merged into another ticket" in html and "senior-engineer" in html
    client = build_client(source, "globex", Vocabulary())
    assert client is not None and client.breaches == []
    assert [w.ticket_id for w in client.withdrawn] == ["1"]
    await daemon.stop()


async def test_a_ticket_gone_at_the_re_read_cancels_the_step_with_the_reason(
    tmp_path: Path,
) -> None:
    # Polls every 4 h: the ticket is deleted between two polls, so only the re-read at
    # 12:00, just before the write, finds out (TicketGoneError).
    clock = ManualClock(START)
    psa = GoingPsa(clock, [], polls_tell=False)
    daemon, timeline, store = await _daemon(tmp_path, psa, clock, poll=timedelta(hours=4))
    await timeline.run_until(at(60))
    psa.gone = ("deleted", "")
    await timeline.run_until(at(3 * 60 + 30))
    assert psa.fetches == 1 and psa.writes == []
    row = next(r for r in store.ledger() if r.key == KEY)
    assert (row.state, row.detail) == ("cancelled", "withdrawn: deleted")
    assert [(w.ticket_id, w.reason) for w in store.withdrawals()] == [("1", "deleted")]
    assert not store.get_ticket("sim", "1").is_open  # type: ignore[union-attr]
    await timeline.run_until(at(6 * 60))
    assert psa.fetches == 1  # never retried: gone is not a failure
    await daemon.stop()


async def test_a_withdrawal_reported_again_changes_nothing_and_a_restored_ticket_is_back(
    tmp_path: Path,
) -> None:
    clock = ManualClock(START)
    psa = GoingPsa(clock, [])
    daemon, timeline, store = await _daemon(tmp_path, psa, clock)
    await timeline.run_until(at(31))
    psa.gone = ("deleted", "")
    await timeline.run_until(at(50))  # several polls report it again
    kinds = [k for k, _ in _kinds(store)]
    assert kinds.count("withdrawal") == 1
    psa.back = True  # restored from the deleted view
    await timeline.run_until(at(56))
    assert store.withdrawals() == []
    assert store.get_ticket("sim", "1").is_open  # type: ignore[union-attr]
    assert [k for k, _ in _kinds(store)].count("withdrawal_undone") == 1
    await daemon.stop()
