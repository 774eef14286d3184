"""A dashboard a person reads (issue 15 item 4): one labelled time zone per page (the
client's on its pages), calendar-week trends with a chart on the overview too, plain words
for escalation states, display names, links to the PSA, and the demo's banner."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from importlib.resources import files

import pytest

from sla_connector.core.contracts import Contract, ContractVersion
from sla_connector.core.vocabulary import COMBINED_METRIC, COMBINED_METRIC_DEFINITION
from sla_connector.web.data import StaticSource
from sla_connector.web.pages import STATE_TEXT
from tests.web.dataset import POLICY, make_source
from tests.web.helpers import app_for, client_for

pytestmark = pytest.mark.anyio

PSA = "https://psa.example/agent/tickets/{id}"


def sydney_globex() -> StaticSource:
    """globex's contract months are Sydney's: its pages are in Sydney time."""
    source = make_source()
    contract = Contract((ContractVersion(start=date(2025, 1, 1)),), timezone="Australia/Sydney")
    globex = dataclasses.replace(POLICY.clients["globex"], contract=contract)
    source.policy_value = dataclasses.replace(POLICY, clients={**POLICY.clients, "globex": globex})
    source.links = {"zd": PSA}
    return source


async def test_each_page_names_its_one_time_zone_the_clients_on_its_pages() -> None:
    app = app_for(sydney_globex(), display_tz="Europe/London")
    async with client_for(app) as http:
        overview = (await http.get("/")).text
        globex = (await http.get("/clients/globex")).text
        ticket = (await http.get("/tickets/zd/G3")).text
        acme = (await http.get("/clients/acme")).text
    assert "(times in Europe/London)" in overview and "Australia/Sydney" not in overview
    assert "(times in Australia/Sydney)" in globex and "Europe/London" not in globex
    assert "(times in Australia/Sydney)" in ticket
    assert "AEDT" in ticket and "GMT" not in ticket and "UTC" not in ticket.split("<footer")[0]
    assert "(times in Europe/London)" in acme  # no zone of its own: the dashboard's
    # NOW is 12:00 UTC = 23:00 in Sydney (AEDT, UTC+11)
    assert re.search(r'id="asof">Wed 18 Mar 23:00</time>', globex)


async def test_the_overview_has_a_weekly_chart_and_the_combined_metric_is_defined() -> None:
    async with client_for(app_for()) as http:
        page = (await http.get("/")).text
        data = (await http.get("/api/overview")).json()
    assert re.search(r'<svg class="chart"[^>]*role="img"', page)
    assert (
        'data-testid="table-trend"' in page and "Mon 16 Mar</time> to Wed 18 Mar (so far)" in page
    )
    assert len(data["trend"]) == 12
    assert COMBINED_METRIC in page and COMBINED_METRIC_DEFINITION in page
    assert "Combined" not in page and "Both clocks" not in page


async def test_display_names_and_psa_links_instead_of_keys() -> None:
    async with client_for(app_for(sydney_globex())) as http:
        overview = (await http.get("/")).text
        ticket = (await http.get("/tickets/zd/A5")).text
        data = (await http.get("/api/overview")).json()
    assert '<a href="/clients/acme">Acme Ltd</a>' in overview
    assert '<a href="/clients/acme">acme</a>' not in overview
    assert 'href="https://psa.example/agent/tickets/A5"' in overview
    assert 'data-testid="psa-link">' in ticket and "https://psa.example/agent/tickets/A5" in ticket
    assert data["client_names"]["acme"] == "Acme Ltd" and data["psa_links"] == {"zd": PSA}


async def test_ticket_pages_speak_plain_words() -> None:
    async with client_for(app_for()) as http:
        open_page = (await http.get("/tickets/zd/A5")).text
        closed = (await http.get("/tickets/zd/A2")).text
    for page in (open_page.split("<script>")[0], closed.split("<script>")[0]):
        assert "cycle" not in page.lower() and "dormant" not in page and "write " not in page
    assert "✓ written to the PSA" in open_page
    assert "scheduled" not in closed.split("<script>")[0]  # closed: no step shown as planned


def test_the_script_uses_the_same_words_for_every_state() -> None:
    script = (files("sla_connector.web") / "static" / "dashboard.js").read_text()
    table = script[script.index("var STATE = {") : script.index("};", script.index("var STATE"))]
    for state, text in STATE_TEXT.items():
        escaped = "".join(c if ord(c) < 128 else f"\\u{ord(c):04x}" for c in text)
        assert f'{state}: "{escaped}"' in table, state


async def test_the_demo_banner_is_on_every_page_including_the_portal() -> None:
    app = app_for(banner="Demo, simulated time")
    async with client_for(app) as http:
        for path in ("/", "/clients/acme", "/tickets/zd/A5", "/portal/acme/"):
            page = await http.get(path)
            assert page.status_code == 200, path
            assert 'data-testid="banner">Demo, simulated time<' in page.text, path
