"""The read model shared by the dashboard and the reports (core/readmodel.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sla_connector.core.adherence import KINDS
from sla_connector.core.calendars import to_us
from sla_connector.core.evaluate import evaluate
from sla_connector.core.ledger import LedgerRow
from sla_connector.core.readmodel import (
    ALL_TIERS,
    Breach,
    Counted,
    TierCounter,
    TierFigures,
    breach_lines,
    client_name,
    tier_figures,
    tier_name,
    tier_order,
)
from sla_connector.core.ticket import parse_ticket
from sla_connector.core.vocabulary import Vocabulary
from sla_connector.reporting.compute import compute_report
from sla_connector.reporting.model import Adherence, Report
from sla_connector.reporting.periods import Period
from sla_connector.web.figures import TierRow
from sla_connector.web.views import build_overview
from tests.reporting.conftest import make_config
from tests.web import dataset as web_dataset

START = datetime(2026, 10, 5, 9, tzinfo=UTC)
STAMP = "%Y-%m-%dT%H:%M:%SZ"


def _ticket(number: str, solved: bool) -> object:
    events = [{"at": (START + timedelta(hours=2)).strftime(STAMP), "type": "public_reply",
               "by": "agent"}]  # fmt: skip
    if solved:
        events.append({"at": (START + timedelta(hours=3)).strftime(STAMP), "type": "status",
                       "to": "solved"})  # fmt: skip
    return parse_ticket(
        {"id": number, "source": "sim", "client": "acme", "subject": "VPN down",
         "source_priority": "normal", "created_at": START.strftime(STAMP), "events": events}
    )  # fmt: skip


def test_a_closed_ticket_never_shows_a_step_as_planned(tmp_path: Path) -> None:
    policy = make_config(tmp_path).policy
    now = START + timedelta(days=1)
    breaches, ledger = [], []
    for number, solved in (("1", True), ("2", False)):
        ticket = _ticket(number, solved)
        ev = evaluate(ticket, policy, now)  # type: ignore[arg-type]
        breaches.append(Breach(ev.ticket, ev.response, still_open=not solved))
        for step, state in (("senior-engineer", "planned"), ("other", "done")):
            ledger.append(
                LedgerRow(f"sim:{number}:{step}:1", "sim", number, "acme", "P2", step, 1,
                          to_us(START + timedelta(hours=3)), "sam@msp.example", state)
            )  # fmt: skip
    lines = {b.ticket_id: b for b in breach_lines(policy, breaches, ledger, Vocabulary())}
    assert [e.state for e in lines["1"].escalations] == ["done"]  # closed: the plan is moot
    assert sorted(e.state for e in lines["2"].escalations) == ["done", "planned"]


# One tier read model: the dashboard's row and the report's line of the same window.

WEEK = timedelta(days=7)
DAY_US = 86_400 * 1_000_000


def _dashboard_rows(client: str) -> dict[str, TierRow]:
    """The overview's rows of ``client``, by tier (``all`` included)."""
    overview = build_overview(web_dataset.make_source(), Vocabulary())
    (block,) = [b for b in overview.clients if b.client == client]
    return {row.tier: row for row in block.tiers}


def _report_over(client: str | None, length: timedelta) -> Report:
    """A report whose period is exactly the dashboard's window of ``length``: the window is
    [now - length, now] inclusive, the period [now - length, now + 1 µs) half-open."""
    now = web_dataset.NOW.astimezone(ZoneInfo("UTC"))
    period = Period("weekly", now - length, now + timedelta(microseconds=1))
    return compute_report(
        web_dataset.POLICY, web_dataset.TICKETS, [], None, period, now=now, client=client
    )


def test_the_dashboard_and_a_report_of_the_same_window_count_the_same_clocks() -> None:
    rows = _dashboard_rows("acme")
    report = _report_over("acme", WEEK)
    now_us = to_us(web_dataset.NOW)
    evaluations = [evaluate(t, web_dataset.POLICY, web_dataset.NOW) for t in web_dataset.TICKETS]
    direct = tier_figures(web_dataset.POLICY, evaluations, {"7d": (now_us - DAY_US * 7, now_us)})
    lines = {line.tier: line for line in report.tiers}
    decided = 0
    for kind in KINDS:
        for tier in ("P1", "P2"):
            cell = rows[tier].adherence[kind]["7d"]
            one = direct.line("acme", tier).count(kind, "7d")
            seen: Adherence = getattr(lines[tier], kind)
            assert (cell.met, cell.breached) == (one.met, one.breached)
            assert (seen.met, seen.breached) == (one.met, one.breached)
            decided += one.decided
        whole = rows[ALL_TIERS].adherence[kind]["7d"]
        total: Adherence = getattr(report.total, kind)
        assert (whole.met, whole.breached) == (total.met, total.breached)
    assert decided > 0  # the dataset decides clocks in the week: the comparison is not 0 == 0


def test_names_and_order_of_tiers_are_the_read_models() -> None:
    rows = _dashboard_rows("acme")
    report = _report_over("acme", timedelta(days=30))
    dashboard_tiers = [tier for tier in rows if tier != ALL_TIERS]
    assert [line.tier for line in report.tiers] == dashboard_tiers
    assert dashboard_tiers == tier_order(web_dataset.POLICY, web_dataset.POLICY.tiers)
    for line in report.tiers:
        assert line.tier_name == rows[line.tier].tier_name
        assert line.tier_name == tier_name(web_dataset.POLICY, line.tier, "acme")
    assert report.scope_name == client_name(web_dataset.POLICY, "acme") == "Acme Ltd"
    for kind in KINDS:
        cell = rows[ALL_TIERS].adherence[kind]["30d"]
        total: Adherence = getattr(report.total, kind)
        assert (cell.met, cell.breached) == (total.met, total.breached)


def test_a_sum_of_lines_is_the_sum_of_their_counts() -> None:
    now_us = to_us(web_dataset.NOW)
    evaluations = [evaluate(t, web_dataset.POLICY, web_dataset.NOW) for t in web_dataset.TICKETS]
    figures = tier_figures(web_dataset.POLICY, evaluations, {"all": (None, now_us)})
    pairs = list(figures.lines)
    total = figures.total(pairs, client="*", tier=ALL_TIERS, name="everything")
    for kind in KINDS:
        expected = sum((figures.lines[p].count(kind, "all") for p in pairs), Counted())
        assert total.count(kind, "all") == expected
    missing = figures.line("nobody", "P1")
    assert missing.count("ticket", "all") == Counted(0, 0)
    assert missing.count("ticket", "all").adherence is None


def test_both_views_take_their_counts_from_the_one_counter(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[TierFigures] = []
    counted = TierCounter.figures

    def spy(self: TierCounter, policy: object) -> TierFigures:
        found = counted(self, policy)  # type: ignore[arg-type]
        made.append(found)
        return found

    monkeypatch.setattr(TierCounter, "figures", spy)
    rows = _dashboard_rows("acme")
    report = _report_over("acme", WEEK)
    assert [f.windows for f in made] == [("7d", "30d"), ("period", "previous")]
    dashboard, reported = made
    for kind in KINDS:
        for tier in ("P1", "P2"):
            cell = rows[tier].adherence[kind]["7d"]
            assert dashboard.line("acme", tier).count(kind, "7d") == Counted(
                cell.met, cell.breached
            )
            assert reported.line("acme", tier).count(kind, "period") == dashboard.line(
                "acme", tier
            ).count(kind, "7d")
        assert (
            getattr(report.total, kind).met
            == reported.total(reported.lines, client="acme", tier=ALL_TIERS, name="x")
            .count(kind, "period")
            .met
        )
