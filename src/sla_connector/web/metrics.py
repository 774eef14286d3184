"""Prometheus ``/metrics``: the dashboard's figures as series, in the app's own registry.

A custom collector reads the same ``Overview`` the dashboard shows (adherence per
client/tier/clock/window, open, at-risk and breached-open counts, the service-credit
exposure of the month so far per client and currency), the whole escalation
ledger (escalations by outcome and timing, and the write-back lateness histogram, so the
figures survive a restart and agree with the evidence), the connectors' poll health, and
the notification ledger's notices by state. Every scrape recomputes from the source;
nothing is accumulated in process memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from sla_connector.core.ledger import NOTIFICATION_STATES
from sla_connector.core.vocabulary import FIRED_STATES, Vocabulary
from sla_connector.web.data import DashboardSource
from sla_connector.web.figures import ALL_TIERS
from sla_connector.web.views import Overview

__all__ = ["LATENESS_BUCKETS", "DashboardCollector", "build_registry"]

LATENESS_BUCKETS: Final = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0)
OUTCOMES: Final = tuple(sorted(FIRED_STATES))


class DashboardCollector(Collector):
    """Yields every series at scrape time from ``overview()`` and the source."""

    def __init__(
        self, source: DashboardSource, overview: Callable[[], Overview], vocabulary: Vocabulary
    ) -> None:
        self._source = source
        self._overview = overview
        self._vocabulary = vocabulary

    def collect(self) -> Iterator[Metric]:
        overview = self._overview()
        yield from self._adherence(overview)
        yield from self._tickets(overview)
        yield from self._escalations()
        yield from self._connectors()
        evidence = GaugeMetricFamily(
            "sla_evidence_chain_ok", "1 when the evidence log's hash chain verifies, else 0"
        )
        evidence.add_metric([], 1.0 if overview.evidence_ok else 0.0)
        yield evidence
        yield from self._reports(overview)
        yield from self._notifications()
        yield from self._exposure(overview)

    def _exposure(self, overview: Overview) -> Iterator[Metric]:
        exposure = GaugeMetricFamily(
            "sla_credit_exposure",
            "service credits due this month so far if the month ended now, after the monthly "
            "cap, in the contract's currency (clients with a contract and a fee)",
            labels=["client", "currency"],
        )
        missed = GaugeMetricFamily(
            "sla_objectives_missed",
            "contract objectives below target this month so far",
            labels=["client"],
        )
        for found in overview.exposure:
            missed.add_metric(
                [found.client], sum(1 for line in found.objectives if line.status == "missed")
            )
            if found.total_amount is not None:
                exposure.add_metric([found.client, found.currency or ""], found.total_amount)
        yield exposure
        yield missed

    def _adherence(self, overview: Overview) -> Iterator[Metric]:
        labels = ["client", "tier", "clock", "window"]
        ratio = GaugeMetricFamily(
            "sla_adherence_ratio",
            "met / (met + breached) of clocks decided in the rolling window",
            labels=labels,
        )
        decided = GaugeMetricFamily(
            "sla_clocks_decided",
            "clocks whose outcome was decided in the rolling window, by outcome",
            labels=[*labels, "outcome"],
        )
        target = GaugeMetricFamily(
            "sla_adherence_target_ratio", "the contract's target adherence", labels=["client"]
        )
        for block in overview.clients:
            if block.target is not None:
                target.add_metric([block.client], block.target)
            for line in block.tiers:
                if line.tier == ALL_TIERS:
                    continue
                for kind, windows in line.adherence.items():
                    for window, cell in windows.items():
                        key = [line.client, line.tier, kind, window]
                        decided.add_metric([*key, "met"], cell.met)
                        decided.add_metric([*key, "breached"], cell.breached)
                        if cell.adherence is not None:
                            ratio.add_metric(key, cell.adherence)
        yield ratio
        yield decided
        yield target

    def _tickets(self, overview: Overview) -> Iterator[Metric]:
        families = {
            "open": GaugeMetricFamily(
                "sla_open_tickets", "open tickets", labels=["client", "tier"]
            ),
            "at_risk": GaugeMetricFamily(
                "sla_at_risk_tickets",
                "open tickets with a running clock past the at-risk share of its target",
                labels=["client", "tier"],
            ),
            "breached_open": GaugeMetricFamily(
                "sla_breached_open_tickets",
                "open tickets with a breached clock",
                labels=["client", "tier"],
            ),
        }
        for block in overview.clients:
            for line in block.tiers:
                if line.tier == ALL_TIERS:
                    continue
                key = [line.client, line.tier]
                families["open"].add_metric(key, line.open)
                families["at_risk"].add_metric(key, line.at_risk)
                families["breached_open"].add_metric(key, line.breached_open)
        yield from families.values()

    def _escalations(self) -> Iterator[Metric]:
        fired = CounterMetricFamily(
            "sla_escalations",
            "escalation steps fired, by outcome and whether they fired late "
            "(more than runtime.late_after after due)",
            labels=["outcome", "timing"],
        )
        counts = {(outcome, timing): 0 for outcome in OUTCOMES for timing in ("on_time", "late")}
        buckets = [0] * (len(LATENESS_BUCKETS) + 1)
        total = 0.0
        observed = 0
        for row in self._source.ledger():
            if row.state not in OUTCOMES or row.lateness_us is None:
                continue
            late = self._vocabulary.is_late(row.lateness_us)
            counts[(row.state, "late" if late else "on_time")] += 1
            seconds = row.lateness_us / 1e6
            observed += 1
            total += seconds
            index = next(
                (i for i, bound in enumerate(LATENESS_BUCKETS) if seconds <= bound),
                len(LATENESS_BUCKETS),
            )
            buckets[index] += 1
        for (outcome, timing), count in counts.items():
            fired.add_metric([outcome, timing], count)
        yield fired
        cumulative = []
        running = 0
        for bound, count in zip((*LATENESS_BUCKETS, float("inf")), buckets, strict=True):
            running += count
            cumulative.append(("+Inf" if bound == float("inf") else _le(bound), float(running)))
        histogram = HistogramMetricFamily(
            "sla_writeback_lateness_seconds",
            "how long after its due instant each escalation write-back happened",
            buckets=cumulative,
            sum_value=total,
        )
        yield histogram

    def _connectors(self) -> Iterator[Metric]:
        duration = GaugeMetricFamily(
            "sla_connector_poll_duration_seconds",
            "wall-clock duration of the connector's last poll",
            labels=["connector"],
        )
        polls = CounterMetricFamily("sla_connector_polls", "polls started", labels=["connector"])
        errors = CounterMetricFamily(
            "sla_connector_poll_errors", "polls that failed", labels=["connector"]
        )
        up = GaugeMetricFamily(
            "sla_connector_up", "1 when the last poll succeeded, else 0", labels=["connector"]
        )
        leading = GaugeMetricFamily(
            "sla_connector_leading", "1 when this process leads the connector", labels=["connector"]
        )
        failing = GaugeMetricFamily(
            "sla_connector_objects_failing",
            "objects (project, board, ticket, page) failing now inside the connector, "
            "retried with back-off while the rest of each poll goes on",
            labels=["connector", "kind"],
        )
        object_errors = CounterMetricFamily(
            "sla_connector_object_errors",
            "failed attempts at one object, each back-off step counted once",
            labels=["connector", "kind"],
        )
        for name, health in sorted(self._source.connector_status().items()):
            duration.add_metric([name], health.last_poll_seconds)
            polls.add_metric([name], health.polls)
            errors.add_metric([name], health.poll_errors)
            up.add_metric([name], 1.0 if health.last_poll_ok else 0.0)
            leading.add_metric([name], 1.0 if health.leading else 0.0)
            now = health.failing_by_kind
            counted = health.object_errors
            for kind in sorted(set(now) | set(counted)):
                failing.add_metric([name, kind], now.get(kind, 0))
                object_errors.add_metric([name, kind], counted.get(kind, 0))
        yield from (duration, polls, errors, up, leading, failing, object_errors)

    def _reports(self, overview: Overview) -> Iterator[Metric]:
        failing = GaugeMetricFamily(
            "sla_report_deliveries_failing",
            "report deliveries that failed and have not been sent since",
            labels=["kind"],
        )
        kinds: dict[str, int] = {}
        for report in overview.failed_reports:
            kinds[report.kind] = kinds.get(report.kind, 0) + 1
        for kind in ("weekly", "monthly", *sorted(set(kinds) - {"weekly", "monthly"})):
            failing.add_metric([kind], kinds.get(kind, 0))
        yield failing

    def _notifications(self) -> Iterator[Metric]:
        notices = GaugeMetricFamily(
            "sla_notifications",
            "escalation notices in the notification ledger, by state (failed: given up)",
            labels=["state"],
        )
        states = dict.fromkeys(sorted(NOTIFICATION_STATES), 0)
        for row in self._source.notifications():
            states[row.state] = states.get(row.state, 0) + 1
        for state, count in states.items():
            notices.add_metric([state], count)
        yield notices


def _le(bound: float) -> str:
    return f"{bound:g}" if bound != int(bound) else f"{bound:.1f}"


def build_registry(
    source: DashboardSource, overview: Callable[[], Overview], vocabulary: Vocabulary
) -> CollectorRegistry:
    """A fresh registry (never the global one) holding the dashboard collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DashboardCollector(source, overview, vocabulary))
    return registry
