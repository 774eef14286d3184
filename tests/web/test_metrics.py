"""/metrics exposes the dashboard's figures, ledger outcomes and connector health."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from tests.web.helpers import app_for, client_for

pytestmark = pytest.mark.anyio


async def _samples() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async with client_for(app_for()) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def _get(samples, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    return samples[(name, frozenset(labels.items()))]


async def test_adherence_gauges_match_the_overview_figures() -> None:
    samples = await _samples()
    acme = {"client": "acme", "tier": "P1"}
    ratio = "sla_adherence_ratio"
    assert _get(samples, ratio, **acme, clock="resolution", window="30d") == pytest.approx(2 / 3)
    assert _get(samples, ratio, **acme, clock="ticket", window="7d") == pytest.approx(1 / 3)
    decided = _get(
        samples, "sla_clocks_decided", **acme, clock="response", window="7d", outcome="breached"
    )
    assert decided == 2
    # nothing decided: no ratio series (not a misleading 0), but the 0/0 counts are there
    key = {"client": "acme", "tier": "P3", "clock": "response", "window": "7d"}
    assert ("sla_adherence_ratio", frozenset(key.items())) not in samples
    assert _get(samples, "sla_clocks_decided", **key, outcome="met") == 0
    assert _get(samples, "sla_adherence_target_ratio", client="acme") == 0.98


async def test_ticket_count_gauges() -> None:
    samples = await _samples()
    assert _get(samples, "sla_open_tickets", client="acme", tier="P1") == 2
    assert _get(samples, "sla_at_risk_tickets", client="acme", tier="P1") == 1
    assert _get(samples, "sla_breached_open_tickets", client="acme", tier="P1") == 1
    assert _get(samples, "sla_open_tickets", client="globex", tier="P1") == 1
    assert not any(dict(labels).get("tier") == "all" for _, labels in samples)


async def test_escalations_by_outcome_and_timing_from_the_ledger() -> None:
    samples = await _samples()
    assert _get(samples, "sla_escalations_total", outcome="done", timing="on_time") == 1
    assert _get(samples, "sla_escalations_total", outcome="done", timing="late") == 1
    assert _get(samples, "sla_escalations_total", outcome="would_fire", timing="on_time") == 1
    assert _get(samples, "sla_escalations_total", outcome="failed", timing="late") == 1
    assert _get(samples, "sla_escalations_total", outcome="failed", timing="on_time") == 0


async def test_writeback_lateness_histogram_is_fed_from_ledger_lateness() -> None:
    samples = await _samples()
    # lateness 0.2 s, 120 s, 0 s and 7200 s; the planned step has none
    bucket = "sla_writeback_lateness_seconds_bucket"
    assert _get(samples, bucket, le="1.0") == 2
    assert _get(samples, bucket, le="60.0") == 2
    assert _get(samples, bucket, le="300.0") == 3
    assert _get(samples, bucket, le="3600.0") == 3
    assert _get(samples, bucket, le="14400.0") == 4
    assert _get(samples, bucket, le="+Inf") == 4
    assert _get(samples, "sla_writeback_lateness_seconds_count") == 4
    assert _get(samples, "sla_writeback_lateness_seconds_sum") == pytest.approx(7320.2)


async def test_connector_poll_duration_and_errors() -> None:
    samples = await _samples()
    assert _get(samples, "sla_connector_poll_duration_seconds", connector="zd") == 0.25
    assert _get(samples, "sla_connector_poll_errors_total", connector="zd") == 2
    assert _get(samples, "sla_connector_polls_total", connector="zd") == 10
    assert _get(samples, "sla_connector_up", connector="zd") == 1
    assert _get(samples, "sla_evidence_chain_ok") == 1
    assert _get(samples, "sla_report_deliveries_failing", kind="weekly") == 1


async def test_each_app_has_its_own_registry_not_the_global_one() -> None:
    first, second = app_for(), app_for()
    assert first.state.metrics_registry is not second.state.metrics_registry
    assert not any(name.startswith("sla_") for name in REGISTRY._names_to_collectors)
    async with client_for(second) as http:
        assert (await http.get("/metrics")).status_code == 200
