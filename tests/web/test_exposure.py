"""Month-to-date objectives and service-credit exposure on the dashboard and /metrics
(issue 14 item 6), with the store's exclusions left out as the contract says (S32).

NOW is Wednesday 18 March 2026. acme's contract (UTC months): response, every tier, 90%,
a fixed 10% credit of a 1,000 USD fee. Responses decided in March so far: A1's met (16th),
A4's met (18th), A2's breached (15th), A5's breached (18th); A3's (26 February) is another
month. So 2 of 4 met: 50%, below 90%: 100.00 USD due if the month ended now.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from sla_connector.core.contracts import Contract, ContractVersion, Objective
from sla_connector.core.credits import FixedShare
from sla_connector.core.exclusions import Exclusion
from sla_connector.web.data import StaticSource
from tests.web.dataset import POLICY, make_source
from tests.web.helpers import app_for, client_for

pytestmark = pytest.mark.anyio

CONTRACT = Contract(
    (
        ContractVersion(
            start=date(2025, 1, 1),
            fee=Decimal(1000),
            objectives=(
                Objective("response", Decimal("0.9"), credit=FixedShare(Decimal("0.1"))),
                Objective("resolution", Decimal("0.5"), tier="P1", min_volume=5),
            ),
        ),
    ),
    timezone="UTC",
    currency="USD",
)


def contracted_source() -> StaticSource:
    source = make_source()
    acme = dataclasses.replace(POLICY.clients["acme"], contract=CONTRACT)
    clients = {**POLICY.clients, "acme": acme}
    source.policy_value = dataclasses.replace(POLICY, clients=clients)
    return source


def _exclude(source: StaticSource, ticket_id: str) -> None:
    source.excluded[("zd", ticket_id)] = {
        "response": Exclusion("response", "customer unreachable", "Dana", None, "store")
    }


async def test_client_api_and_page_show_the_month_so_far_and_the_credit_due() -> None:
    app = app_for(contracted_source())
    async with client_for(app) as http:
        data = (await http.get("/api/clients/acme")).json()
        page = (await http.get("/clients/acme")).text
    exposure = data["exposure"]
    assert exposure["month"] == "2026-03"
    response, resolution = exposure["objectives"]
    assert (response["decided"], response["status"], response["actual"]) == (4, "missed", "50%")
    assert response["credit"] == "100.00 USD"
    # 2 P1 resolutions decided (A1 met, A2 breached): below the minimum volume of 5
    assert (resolution["decided"], resolution["status"]) == (2, "not assessed")
    assert exposure["total"] == "100.00 USD" and exposure["total_amount"] == 100.0
    assert 'data-testid="exposure-total-acme">100.00 USD<' in page
    assert "1 of 2 objectives below target so far" in page


async def test_metrics_carry_the_exposure_per_client_and_currency() -> None:
    async with client_for(app_for(contracted_source())) as http:
        text = (await http.get("/metrics")).text
    assert 'sla_credit_exposure{client="acme",currency="USD"} 100.0' in text
    assert 'sla_objectives_missed{client="acme"} 1.0' in text
    assert 'client="globex",currency' not in text  # no contract, no exposure


async def test_recorded_exclusions_leave_the_clocks_out_of_the_objective() -> None:
    source = contracted_source()
    _exclude(source, "A2")
    _exclude(source, "A5")
    async with client_for(app_for(source)) as http:
        data = (await http.get("/api/clients/acme")).json()
        text = (await http.get("/metrics")).text
        breaches = data["breaches"]
    response = data["exposure"]["objectives"][0]
    assert (response["decided"], response["excluded"], response["status"]) == (2, 2, "met")
    assert data["exposure"]["total"] == "0.00 USD"
    assert 'sla_credit_exposure{client="acme",currency="USD"} 0.0' in text
    # an excluded clock stays a breach in the raw data
    assert {(b["ticket_id"], b["clock"]) for b in breaches} >= {
        ("A2", "response"),
        ("A5", "response"),
    }
