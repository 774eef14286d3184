"""A daemon on the simulator PSA in virtual time, for the runtime tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sla_connector.core.calendars import to_us
from sla_connector.core.evaluate import evaluate
from sla_connector.core.ports import Connector
from sla_connector.runtime.clocks import ManualClock
from sla_connector.runtime.daemon import Daemon
from sla_connector.runtime.service import Service
from sla_connector.runtime.timeline import VirtualTimeline
from sla_connector.settings import AppConfig, config_from_mapping, parse_yaml
from sla_connector.store import Store

ROOT = Path(__file__).resolve().parents[2]
START = datetime.fromisoformat("2026-10-05T00:00:00Z")


def sim_config(
    tmp_path: Path,
    *,
    sections: dict[str, Any] | None = None,
    tickets_per_day: int = 400,
    **runtime: Any,
) -> AppConfig:
    """The bundled example policy with only the simulator, polled every 15 virtual minutes,
    no reports and no notify section; ``sections`` adds or replaces top-level sections."""
    data = parse_yaml((ROOT / "examples" / "policy.yaml").read_text())
    sim = data["connectors"]["sim"]
    sim.update(
        {
            "poll_interval": "15m",
            "reconcile_interval": "24h",
            "start": START.isoformat(),
            "tickets_per_day": tickets_per_day,
        }
    )
    data["connectors"] = {"sim": sim}
    data["store"] = {"url": f"sqlite:///{tmp_path / 'state.db'}"}
    data.pop("reports", None)
    data.pop("notify", None)
    data["runtime"] = {"owner": "test", **runtime}
    data.update(sections or {})
    return config_from_mapping(data)


@dataclass
class Harness:
    """The service ``run`` builds (``runtime.service``), in discrete-event virtual time."""

    service: Service
    clock: ManualClock

    @classmethod
    async def start(
        cls, config: AppConfig, clock: ManualClock | None = None, **options: Any
    ) -> Harness:
        clock = clock or ManualClock(START)
        service = Service.build(config, clock=clock, **options)
        await service.start()
        return cls(service, clock)

    @property
    def config(self) -> AppConfig:
        return self.service.config

    @property
    def timeline(self) -> VirtualTimeline:
        assert isinstance(self.service.timeline, VirtualTimeline)
        return self.service.timeline

    @property
    def store(self) -> Store:
        return self.service.store

    @property
    def connectors(self) -> Mapping[str, Connector]:
        return self.service.connectors

    @property
    def daemon(self) -> Daemon:
        return self.service.daemon

    async def run_for(self, span: timedelta) -> None:
        await self.timeline.run_until(self.clock.now() + span)

    async def close(self) -> None:
        await self.service.stop()

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
