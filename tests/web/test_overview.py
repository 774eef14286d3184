"""The overview page and /api/overview show the hand-computed figures of the dataset."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from tests.web.dataset import NOW, after, ago, make_source, p1, set_now
from tests.web.helpers import app_for, client_for

pytestmark = pytest.mark.anyio

# Worked out by hand from tests/web/dataset.py (met, breached) per kind and window.
# acme P1: response met A1 A4 (7d) + A3 (30d); breached A2 (+15m), A5 (45 min ago).
#          resolution met A1 (7d) + A3 (30d); breached A2.
#          ticket met A1 (+A3); breached A2, A5.
ACME_P1 = {
    ("response", "7d"): (2, 2),
    ("response", "30d"): (3, 2),
    ("resolution", "7d"): (1, 1),
    ("resolution", "30d"): (2, 1),
    ("ticket", "7d"): (1, 2),
    ("ticket", "30d"): (2, 2),
}
# globex: G1 (P2) met both clocks on Monday; G3 (P1) responded in time, now paused;
# G2 was decided 40 days ago and counts nowhere.
GLOBEX_P2 = {
    (kind, window): (1, 0)
    for kind in ("response", "resolution", "ticket")
    for window in ("7d", "30d")
}
GLOBEX_P1 = {
    ("response", "7d"): (1, 0),
    ("response", "30d"): (1, 0),
    ("resolution", "7d"): (0, 0),
    ("resolution", "30d"): (0, 0),
    ("ticket", "7d"): (0, 0),
    ("ticket", "30d"): (0, 0),
}


def _line(data, client: str, tier: str):  # type: ignore[no-untyped-def]
    block = next(b for b in data["clients"] if b["client"] == client)
    return next(line for line in block["tiers"] if line["tier"] == tier)


async def test_api_overview_adherence_equals_hand_computation() -> None:
    async with client_for(app_for()) as http:
        data = (await http.get("/api/overview")).json()
    for client, tier, expected in (
        ("acme", "P1", ACME_P1),
        ("globex", "P2", GLOBEX_P2),
        ("globex", "P1", GLOBEX_P1),
    ):
        line = _line(data, client, tier)
        for (kind, window), (met, breached) in expected.items():
            cell = line["adherence"][kind][window]
            assert (cell["met"], cell["breached"]) == (met, breached), (client, tier, kind, window)
            expected_ratio = None if met + breached == 0 else met / (met + breached)
            assert cell["adherence"] == expected_ratio
    # acme's contract promises 98%: every decided acme figure is below it, said in words.
    cell = _line(data, "acme", "P1")["adherence"]["resolution"]["30d"]
    assert (cell["text"], cell["status"], cell["label"]) == ("66.7%", "below", "below 98%")
    # globex promises 50%: met.
    assert _line(data, "globex", "P2")["adherence"]["ticket"]["7d"]["status"] == "meets"


async def test_all_tiers_line_sums_the_tiers() -> None:
    async with client_for(app_for()) as http:
        data = (await http.get("/api/overview")).json()
    cell = _line(data, "globex", "all")["adherence"]["response"]["7d"]
    assert (cell["met"], cell["breached"], cell["adherence"]) == (2, 0, 1.0)
    empty = _line(data, "acme", "P3")["adherence"]["ticket"]["30d"]
    assert (empty["adherence"], empty["status"], empty["text"]) == (None, "no-data", "\u2013")


async def test_api_overview_lists_open_at_risk_breached_and_escalations() -> None:
    async with client_for(app_for()) as http:
        data = (await http.get("/api/overview")).json()
    assert data["now"] == "2026-03-18T12:00:00Z"
    assert (data["open_total"], data["at_risk_total"], data["breached_open_total"]) == (3, 1, 1)
    (risk,) = data["at_risk"]
    assert (risk["id"], risk["clock"], risk["seconds_left"]) == ("A4", "resolution", 3000.0)
    assert risk["due_at"] == "2026-03-18T12:50:00Z"
    assert risk["url"] == "/tickets/zd/A4"
    (broken,) = data["breached_open"]
    assert (broken["id"], broken["clock"], broken["breached_at"]) == (
        "A5",
        "response",
        "2026-03-18T11:15:00Z",
    )
    assert [t["id"] for t in data["open"]] == ["A5", "A4", "G3"]  # paused G3 has no due: last
    assert [(e["ticket_id"], e["state"], e["late"]) for e in data["escalations"]] == [
        ("A5", "done", True),
        ("G9", "would_fire", False),
        ("G8", "failed", True),
        ("A2", "done", False),
    ]
    acme = _line(data, "acme", "P1")
    assert (acme["open"], acme["at_risk"], acme["breached_open"]) == (2, 1, 1)
    assert [r["recipient"] for r in data["failed_reports"]] == ["ops@acme.example"]
    assert data["evidence_ok"] is True
    assert data["connectors"][0]["name"] == "zd"


async def test_at_risk_is_sorted_by_time_to_breach() -> None:
    source = make_source()
    later = ago(hours=3, minutes=30)  # 3h30m of 4h used: breaches in 30 min, before A4
    source.put(p1("A6", "acme", later, (after(later, minutes=1), "public_reply", "agent")))
    async with client_for(app_for(source)) as http:
        data = (await http.get("/api/overview")).json()
    soonest = [(t["id"], t["seconds_left"]) for t in data["at_risk"]]
    assert soonest == [("A6", 1800.0), ("A4", 3000.0)]


class _Cells(HTMLParser):
    """Text inside each element that carries a data-testid."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[str, str] = {}
        self._stack: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("input", "meta", "br", "img", "link"):
            return
        found = dict(attrs).get("data-testid")
        if found:
            self.cells[found] = ""
        self._stack.append(found)

    def handle_endtag(self, tag: str) -> None:
        if self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        for found in self._stack:
            if found:
                self.cells[found] += data


async def test_overview_page_cells_show_the_same_figures_as_the_api() -> None:
    async with client_for(app_for()) as http:
        page = await http.get("/")
        data = (await http.get("/api/overview")).json()
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    parser = _Cells()
    parser.feed(page.text)
    checked = 0
    for block in data["clients"]:
        for line in block["tiers"]:
            for kind, windows in line["adherence"].items():
                for window, cell in windows.items():
                    testid = f"adherence-{line['client']}-{line['tier']}-{kind}-{window}"
                    text = parser.cells[testid]
                    assert cell["text"] in text and cell["label"] in text
                    checked += 1
    assert checked == 2 * 4 * 3 * 2  # clients x (3 tiers + all) x kinds x windows
    assert "66.7%" in parser.cells["adherence-acme-P1-resolution-30d"]
    assert parser.cells["total-at-risk"].strip() == "1"
    assert parser.cells["open-acme-P1"].strip() == "2"


async def test_overview_page_polls_the_json_api_without_a_build_step() -> None:
    async with client_for(app_for(refresh_seconds=3)) as http:
        page = (await http.get("/")).text
    assert 'data-api="/api/overview"' in page and 'data-refresh="3' in page
    assert re.search(r"<script>.*setInterval\(poll, refresh\)", page, re.S)
    assert "<script src" not in page and "<link" not in page  # nothing external
    assert f'data-now="{NOW.isoformat().replace("+00:00", "Z")}"' in page
    # the at-risk countdown is rendered server-side and ticks in the browser
    assert 'data-due="2026-03-18T12:50:00Z"' in page and "breaches in 50m 00s" in page


async def test_overview_follows_the_source_clock_for_live_updates() -> None:
    source = make_source()
    async with client_for(app_for(source)) as http:
        before = (await http.get("/api/overview")).json()
        set_now(source, NOW + timedelta(hours=1))  # A4's resolution clock runs out at 12:50
        after = (await http.get("/api/overview")).json()
    assert [t["id"] for t in before["breached_open"]] == ["A5"]
    assert [t["id"] for t in after["breached_open"]] == ["A5", "A4"]
    assert _line(after, "acme", "P1")["adherence"]["resolution"]["7d"]["breached"] == 2
    assert after["at_risk"] == []


async def test_cache_serves_one_computation_per_period() -> None:
    source = make_source()
    async with client_for(app_for(source, cache_seconds=3600)) as http:
        first = (await http.get("/api/overview")).json()
        set_now(source, NOW + timedelta(hours=1))
        second = (await http.get("/api/overview")).json()
    assert first == second


async def test_long_lists_are_capped_but_totals_count_everything() -> None:
    source = make_source()
    for number in range(120):
        created = ago(hours=3, minutes=20)
        source.put(
            p1(
                f"R{number:03d}",
                "globex",
                created,
                (after(created, minutes=1), "public_reply", "agent"),
            )
        )
    async with client_for(app_for(source)) as http:
        data = (await http.get("/api/overview")).json()
        page = (await http.get("/")).text
    assert data["at_risk_total"] == 121 and len(data["at_risk"]) == 100
    assert data["open_total"] == 123 and len(data["open"]) == 50
    assert "(first 100 of 121)" in page and "(first 50 of 123)" in page
