"""A daemon on the simulator PSA in virtual time, for the runtime tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sla_connector.core.calendars import to_us
from sla_connector.core.evaluate import evaluate
from sla_connector.core.ports import Connector
from sla_connector.runtime.assemble import build_connectors, daemon_settings
from sla_connector.runtime.clocks import ManualClock
from sla_connector.runtime.daemon import Daemon
from sla_connector.runtime.timeline import VirtualTimeline
from sla_connector.settings import AppConfig, config_from_mapping, parse_yaml
from sla_connector.store import Store

ROOT = Path(__file__).resolve().parents[2]
START = datetime.fromisoformat("2026-10-05T00:00:00Z")


def sim_config(tmp_path: Path, **runtime: Any) -> AppConfig:
    """The bundled example policy with only the simulator, polled every 5 virtual minutes."""
    data = parse_yaml((ROOT / "examples" / "policy.yaml").read_text())
    sim = data["connectors"]["sim"]
    sim.update(
        {
            "poll_interval": "15m",
            "reconcile_interval": "24h",
            "start": START.isoformat(),
            "tickets_per_day": 400,
        }
    )
    data["connectors"] = {"sim": sim}
    data["store"] = {"url": f"sqlite:///{tmp_path / 'state.db'}"}
    data.pop("reports", None)
    data.pop("notify", None)
    data["runtime"] = {"owner": "test", **runtime}
    return config_from_mapping(data)


@dataclass
class Harness:
    config: AppConfig
    clock: ManualClock
    timeline: VirtualTimeline
    store: Store
    connectors: dict[str, Connector]
    daemon: Daemon

    @classmethod
    async def start(cls, config: AppConfig, clock: ManualClock | None = None) -> Harness:
        clock = clock or ManualClock(START)
        timeline = VirtualTimeline(clock)
        store = Store.open(config.store.url)
        connectors = build_connectors(config, clock)
        daemon = Daemon(
            policy=config.policy,
            store=store,
            connectors=connectors,
            clock=clock,
            timeline=timeline,
            settings=daemon_settings(config, virtual=True),
        )
        await daemon.start()
        return cls(config, clock, timeline, store, connectors, daemon)

    async def run_for(self, span: timedelta) -> None:
        await self.timeline.run_until(self.clock.now() + span)

    async def close(self) -> None:
        await self.daemon.stop()
        self.store.close()

    def expected_steps(self) -> dict[str, int]:
        """Independently from the core: every step due by now, with its due instant."""
        now = self.clock.now()
        psa = self.connectors["sim"].psa  # type: ignore[attr-defined]
        expected: dict[str, int] = {}
        installed = to_us(START) - 3600 * 1_000_000
        for ticket in psa.tickets(now):
            for plan in evaluate(ticket, self.config.policy, now).steps:
                if plan.state == "fired" and plan.due_at >= installed:
                    expected[plan.key] = plan.due_at
        return expected
