"""The source port and the in-memory source the tests and demos use."""

from __future__ import annotations

import pytest

from sla_connector.core.vocabulary import Vocabulary
from sla_connector.web.data import DashboardSource
from sla_connector.web.figures import make_cell
from tests.web.dataset import A5_STEP_DUE, make_source
from tests.web.helpers import app_for, client_for


def test_static_source_implements_the_dashboard_port() -> None:
    assert isinstance(make_source(), DashboardSource)


def test_static_source_ledger_window_is_half_open_on_due_at() -> None:
    source = make_source()
    assert {r.ticket_id for r in source.ledger(since=A5_STEP_DUE)} == {"A5", "G9", "A4"}
    assert {r.ticket_id for r in source.ledger(until=A5_STEP_DUE)} == {"A2", "G8"}
    assert {r.ticket_id for r in source.ledger(client="globex")} == {"G9", "G8"}


def test_cell_verdict_against_target_is_inclusive() -> None:
    assert make_cell(49, 1, 0.98).status == "meets"  # exactly the target meets it
    assert make_cell(48, 2, 0.98).label == "below 98%"
    assert make_cell(1, 0, None).status == "no-target"
    assert make_cell(0, 0, 0.9).adherence is None


@pytest.mark.anyio
async def test_readiness_defaults_to_connector_health_and_can_be_given() -> None:
    source = make_source()
    async with client_for(app_for(source)) as http:
        assert (await http.get("/readyz")).json()["ready"] is True
    async with client_for(app_for(source, readiness=lambda: {"ready": False})) as http:
        assert (await http.get("/readyz")).status_code == 503
        assert (await http.get("/healthz")).json() == {"status": "ok"}


def test_at_risk_fraction_outside_0_1_is_refused() -> None:
    with pytest.raises(ValueError, match="at_risk"):
        app_for(vocabulary=Vocabulary(at_risk=1.5))
