"""A client's page (12-week trend as inline SVG, breaches) and a ticket's explain page."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from itertools import pairwise

import pytest

from sla_connector.cli.explain import render
from sla_connector.core.evaluate import evaluate
from tests.web.dataset import NOW, POLICY, TICKETS, make_source, p1
from tests.web.helpers import app_for, client_for

pytestmark = pytest.mark.anyio


async def test_api_client_trend_has_twelve_calendar_weeks_monday_to_sunday() -> None:
    async with client_for(app_for()) as http:
        data = (await http.get("/api/clients/acme")).json()
    trend = data["trend"]
    assert len(trend) == 12
    assert trend[-1]["end"] == "2026-03-18T12:00:00Z" and trend[-1]["so_far"] is True
    # NOW is Wednesday 18 March: the current week began on Monday 16 March, 00:00 UTC
    # (acme has neither a contract nor a calendar of its own: the dashboard's zone).
    assert trend[-1]["start"] == "2026-03-16T00:00:00Z"
    assert trend[0]["start"] == "2025-12-29T00:00:00Z"
    for point, following in pairwise(trend):
        start = datetime.fromisoformat(point["start"])
        assert start.weekday() == 0 and start.time() == time(0)
        assert datetime.fromisoformat(following["start"]) - start == timedelta(days=7)
        assert not point["so_far"]
    # This week: A1 met both clocks, A5's response breached; A4 is undecided.
    last = trend[-1]["adherence"]["ticket"]
    assert (last["met"], last["breached"]) == (1, 1)
    # Last week (Mon 9 - Sun 15 March): A2, created on the Sunday, breached both clocks.
    before = trend[-2]["adherence"]
    assert (before["response"]["met"], before["response"]["breached"]) == (0, 1)
    assert (before["ticket"]["met"], before["ticket"]["breached"]) == (0, 1)
    # A3 (Thursday 26 February) sits in the week of Monday 23 February.
    assert trend[-4]["start"] == "2026-02-23T00:00:00Z"
    assert trend[-4]["adherence"]["response"]["met"] == 1
    assert trend[-3]["adherence"]["response"]["adherence"] is None
    assert data["client"]["name"] == "Acme Ltd" and data["client"]["target"] == 0.98


async def test_api_client_breaches_are_listed_with_overrun_and_escalations() -> None:
    async with client_for(app_for()) as http:
        data = (await http.get("/api/clients/acme")).json()
    rows = [
        (b["ticket_id"], b["clock"], b["over_seconds"], b["still_open"],
         [(e["step"], e["state"]) for e in b["escalations"]], b["url"])
        for b in data["breaches"]
    ]  # fmt: skip
    # The step is ``on: breach``: it belongs to the first breach of A2's cycle, its response.
    assert rows == [
        ("A5", "response", 2700.0, True, [("account-director", "done")], "/tickets/zd/A5"),
        ("A2", "resolution", 3600.0, False, [], "/tickets/zd/A2"),
        ("A2", "response", 300.0, False, [("account-director", "done")], "/tickets/zd/A2"),
    ]
    assert [e["client"] for e in data["escalations"]] == ["acme", "acme"]


async def test_client_page_draws_an_accessible_inline_svg_trend() -> None:
    async with client_for(app_for()) as http:
        page = await http.get("/clients/acme")
    assert page.status_code == 200
    svg = re.search(r"<svg.*?</svg>", page.text, re.S)
    assert svg is not None
    chart = svg.group(0)
    assert 'role="img"' in chart and "<title" in chart and "<desc" in chart
    assert "target 98%" in chart
    assert chart.count("<circle") == 3 + 1  # response: three weeks with figures, plus the legend
    assert "Weekly adherence figures" in page.text  # the same numbers as a table
    assert 'data-testid="adherence-acme-P1-ticket-7d"' in page.text
    assert 'data-api="/api/clients/acme"' in page.text


async def test_unknown_client_and_ticket_answer_404() -> None:
    async with client_for(app_for()) as http:
        assert (await http.get("/clients/nobody")).status_code == 404
        assert (await http.get("/api/clients/nobody")).json()["error"] == "not found"
        assert (await http.get("/tickets/zd/nope")).status_code == 404
        assert (await http.get("/api/tickets/zd/nope")).status_code == 404


async def test_api_ticket_carries_the_explain_facts() -> None:
    async with client_for(app_for()) as http:
        data = (await http.get("/api/tickets/zd/A2")).json()
    assert (data["tier"], data["rule"], data["open"]) == ("P1", "outage", False)
    response, resolution = data["clocks"]
    assert (response["state"], response["breached_at"], response["target_seconds"]) == (
        "breached",
        "2026-03-15T12:15:00Z",
        900.0,
    )
    assert [entry["label"] for entry in response["timeline"]] == [
        "started",
        "breached under P1",
        "stopped: first agent reply",
    ]
    assert resolution["used_text"] == "5h 00m"
    (step,) = data["steps"]
    assert (step["step"], step["to"], step["ledger_state"]) == (
        "account-director",
        "dana@msp.example",
        "done",
    )
    assert [row["key"] for row in data["ledger"]] == ["zd:A2:account-director:1"]


async def test_ticket_page_shows_every_timeline_line_of_explain() -> None:
    ticket = next(t for t in TICKETS if t.id == "A2")
    text = render(evaluate(ticket, POLICY, NOW), POLICY)
    lines = re.findall(r"^  (\w{3} \d\d \w{3} \d{4} [\d:]{8} \w+) +(.+)$", text, re.M)
    assert len(lines) == 6
    async with client_for(app_for()) as http:
        page = (await http.get("/tickets/zd/A2")).text
    for when, label in lines:
        assert re.search(rf">{re.escape(when)}</time></th><td>{re.escape(label)}</td>", page), label
    assert "rule \u201coutage\u201d" in page


async def test_ticket_ids_with_slashes_and_spaces_route() -> None:
    source = make_source()
    source.put(p1("SD/12 a", "acme", "2026-03-18T11:00:00+00:00"))
    async with client_for(app_for(source)) as http:
        data = (await http.get("/api/overview")).json()
        url = next(t["url"] for t in data["open"] if t["id"] == "SD/12 a")
        assert url == "/tickets/zd/SD%2F12%20a"
        assert (await http.get("/api/tickets/zd/SD/12 a")).json()["id"] == "SD/12 a"
        assert (await http.get(url)).status_code == 200
