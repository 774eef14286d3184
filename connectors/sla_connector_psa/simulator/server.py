"""Serve one ``SimulatedPsa`` over loopback HTTP, optionally misbehaving on purpose.

``python -m sla_connector_psa.simulator.server --config CONFIG --port PORT`` reads the
connector entry (``--connector``, else the first of ``type: simulator_http``) and the
virtual clock ``runtime.clock: {start, anchor, speed}`` from the daemon's own config file,
so the server and every daemon process agree on the present without sharing state
(virtual = start + (wall - anchor) x speed; the wall clock without ``runtime.clock``).

``--write-log FILE`` appends one JSON line per accepted write (``seq``, ``ticket_id``,
``action``, ``payload``, ``at``): what the PSA saw, countable after the fact. On start-up
the server replays an existing log, so a restarted server shows the same notes and tags.

``--faults 0.3 --seed N`` makes that fraction of ``/api`` requests fail: 429 with
``Retry-After`` (in virtual seconds), 500, a response held back for ``--fault-delay`` real
seconds (longer than the client's timeout) before a write is applied (it never is) or
after it was applied (the ambiguous case the runtime reconciles through its markers), or
a 200 whose JSON body is cut in half (after applying a write). ``/_sim`` endpoints (the
present, every ticket, fault counts) never fail: they are the tests' view of the PSA.

``--write-delay S`` holds every accepted write's answer for S real seconds after the write
was applied and logged: a PSA slow to answer writes, so that a process killed just after a
write landed is certain to die before it learns the answer (the crash test's mid-step
kills; without it such a kill lands in a window of milliseconds, by chance).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import logging
import random
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sla_connector.core.errors import ConfigError
from sla_connector.core.ports import Clock
from sla_connector.core.ticket import format_instant
from sla_connector_psa.simulator.http_connector import WRITE_PATHS
from sla_connector_psa.simulator.settings import SimulatorConfig
from sla_connector_psa.simulator.state import (
    SimulatedPsa,
    SimWrite,
    UnknownTicketError,
    WithdrawnTicketError,
)

__all__ = [
    "READ_FAULTS",
    "WRITE_FAULTS",
    "FaultPlan",
    "ScaledTime",
    "SimulatorServer",
    "build_app",
    "load_server",
    "main",
]

log = logging.getLogger(__name__)

READ_FAULTS = ("rate_limited", "server_error", "hang", "truncated")
WRITE_FAULTS = ("rate_limited", "server_error", "hang_before", "hang_after", "truncated")
_BY_SUFFIX = {suffix: (action, key) for action, (suffix, key) in WRITE_PATHS.items()}


@dataclass(frozen=True, slots=True)
class ScaledTime:
    """The daemon's accelerated clock, re-implemented here: connectors import only core."""

    start: datetime | None = None
    anchor: datetime | None = None
    speed: float = 1.0

    def now(self) -> datetime:
        wall = datetime.now(UTC)
        if self.start is None or self.anchor is None:
            return wall
        return self.start + (wall - self.anchor) * self.speed


@dataclass(slots=True)
class FaultPlan:
    """Which requests fail, and how; seeded so a failing run can be replayed."""

    rate: float
    seed: int = 0
    delay: float = 2.0  # real seconds a held-back response waits
    retry_after: float = 30.0  # virtual seconds announced with a 429
    counts: Counter[str] = field(default_factory=Counter)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"--faults must be between 0 and 1, got {self.rate}")
        self._rng = random.Random(self.seed)

    def draw(self, *, write: bool) -> str | None:
        """The fault to inject in this request, or None to answer normally."""
        if self.rate <= 0 or self._rng.random() >= self.rate:
            return None
        fault = self._rng.choice(WRITE_FAULTS if write else READ_FAULTS)
        self.counts[fault] += 1
        return fault


class SimulatorServer:
    """The HTTP front of one ``SimulatedPsa``: reads, recorded writes, injected faults."""

    def __init__(
        self,
        psa: SimulatedPsa,
        clock: Clock,
        *,
        write_log: Path | None = None,
        faults: FaultPlan | None = None,
        write_delay: float = 0.0,
    ) -> None:
        self.psa = psa
        self.clock = clock
        self.faults = faults
        self.write_delay = write_delay
        self.write_log = write_log
        self._log_file: IO[str] | None = None
        if write_log is not None:
            self.replay(write_log)
            self._log_file = write_log.open("a", encoding="utf-8")

    def replay(self, path: Path) -> int:
        """Re-apply the writes of an earlier run's log; a torn last line is ignored."""
        if not path.exists():
            return 0
        replayed = 0
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                at = datetime.fromisoformat(entry["at"])
                action, payload = entry["action"], entry["payload"]
                _, key = WRITE_PATHS[action]
                self._apply(str(entry["ticket_id"]), action, str(payload[key]), at)
            except (ValueError, KeyError, TypeError, UnknownTicketError) as error:
                log.warning("write log %s: skipping %r (%s)", path, line[:80], error)
                continue
            replayed += 1
        return replayed

    def close(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _apply(self, ticket_id: str, action: str, value: str, now: datetime) -> SimWrite:
        gone = self.psa.withdrawal(ticket_id, now)
        if gone is not None:
            raise WithdrawnTicketError(ticket_id, *gone)
        if action == "assign":
            return self.psa.assign(ticket_id, value, now)
        if action == "set_priority":
            return self.psa.set_priority(ticket_id, value, now)
        if action == "add_internal_note":
            return self.psa.add_internal_note(ticket_id, value, now)
        return self.psa.add_tag(ticket_id, value, now)

    def withdraw(self, ticket_id: str, reason: str, detail: str = "") -> None:
        """Withdraw a ticket now (a scenario's delete, merge, spam or move)."""
        self.psa.withdraw(ticket_id, reason, self.clock.now(), detail)

    def write(self, ticket_id: str, action: str, value: str) -> dict[str, Any]:
        """Apply one write now and append it to the write log before answering."""
        write = self._apply(ticket_id, action, value, self.clock.now())
        entry = {
            "seq": write.seq,
            "ticket_id": write.ticket_id,
            "action": write.action,
            "payload": dict(write.payload),
            "at": format_instant(write.at),
        }
        if self._log_file is not None:
            self._log_file.write(json.dumps(entry) + "\n")
            self._log_file.flush()
        return entry

    # -- request handling ------------------------------------------------------------------

    async def answer(self, *, write: bool, operate: Callable[[], Awaitable[Any]]) -> Response:
        """Run ``operate`` (which may apply a write) under the fault plan."""
        fault = self.faults.draw(write=write) if self.faults is not None else None
        if fault == "rate_limited":
            assert self.faults is not None
            return JSONResponse(
                {"error": "rate limited (injected)"},
                status_code=429,
                headers={"Retry-After": f"{self.faults.retry_after:g}"},
            )
        if fault == "server_error":
            return JSONResponse({"error": "internal error (injected)"}, status_code=500)
        if fault == "hang_before":
            assert self.faults is not None
            await asyncio.sleep(self.faults.delay)
            return JSONResponse({"error": "gave up (injected); not applied"}, status_code=504)
        try:
            body = await operate()
        except WithdrawnTicketError as gone:
            body = {"error": str(gone), "withdrawn": gone.reason, "detail": gone.detail}
            return JSONResponse(body, status_code=404)
        except UnknownTicketError as error:
            return JSONResponse({"error": str(error)}, status_code=404)
        if fault in ("hang", "hang_after"):
            assert self.faults is not None
            await asyncio.sleep(self.faults.delay)
        if write and self.write_delay > 0:
            await asyncio.sleep(self.write_delay)  # applied and logged; the answer waits
        text = json.dumps(body)
        if fault == "truncated":
            text = text[: len(text) // 2]
        return Response(text, media_type="application/json")

    async def changes(self, request: Request) -> Response:
        async def operate() -> Any:
            ids, cursor = self.psa.changed_ids(request.query_params.get("cursor"), self.clock.now())
            return {"ids": ids, "cursor": cursor}

        return await self.answer(write=False, operate=operate)

    async def tickets(self, request: Request) -> Response:
        async def operate() -> Any:
            now = self.clock.now()
            wanted = [i for i in request.query_params.get("ids", "").split(",") if i]
            found = []
            withdrawn = []
            for ticket_id in wanted:
                try:
                    found.append(self.psa.ticket(ticket_id, now).to_json())
                except WithdrawnTicketError as gone:
                    withdrawn.append(
                        {"id": gone.ticket_id, "reason": gone.reason, "detail": gone.detail}
                    )
                except UnknownTicketError:
                    continue  # not yet born: the caller asked for a list, not each
            return {"tickets": found, "withdrawn": withdrawn}

        return await self.answer(write=False, operate=operate)

    async def ticket(self, request: Request) -> Response:
        async def operate() -> Any:
            return self.psa.ticket(request.path_params["ticket_id"], self.clock.now()).to_json()

        return await self.answer(write=False, operate=operate)

    async def post_write(self, request: Request) -> Response:
        suffix = request.path_params["action"]
        if suffix not in _BY_SUFFIX:
            return JSONResponse({"error": f"unknown write {suffix!r}"}, status_code=404)
        action, key = _BY_SUFFIX[suffix]
        try:
            body = await request.json()
            value = body[key]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": f"expected a JSON object with {key!r}"}, 400)
        if not isinstance(value, str) or not value:
            return JSONResponse({"error": f"{key!r} must be a non-empty string"}, 400)

        async def operate() -> Any:
            return self.write(request.path_params["ticket_id"], action, value)

        return await self.answer(write=True, operate=operate)

    async def status(self, _: Request) -> Response:
        async def operate() -> Any:
            return {"now": format_instant(self.clock.now()), **self.psa.counts(self.clock.now())}

        return await self.answer(write=False, operate=operate)

    # -- the tests' view, never faulty ---------------------------------------------------------

    async def sim_now(self, _: Request) -> Response:
        faults = dict(self.faults.counts) if self.faults is not None else {}
        return JSONResponse(
            {
                "now": format_instant(self.clock.now()),
                "writes": len(self.psa.writes),
                "faults": faults,
            }
        )

    async def sim_tickets(self, _: Request) -> Response:
        now = self.clock.now()
        tickets = [ticket.to_json() for ticket in self.psa.tickets(now)]
        return JSONResponse({"now": format_instant(now), "tickets": tickets})


def build_app(server: SimulatorServer) -> Starlette:
    """The Starlette app; tests drive it in-process through ``httpx.ASGITransport``."""
    routes = [
        Route("/api/changes", server.changes),
        Route("/api/tickets", server.tickets),
        Route("/api/tickets/{ticket_id}", server.ticket),
        Route("/api/tickets/{ticket_id}/{action}", server.post_write, methods=["POST"]),
        Route("/api/status", server.status),
        Route("/_sim/now", server.sim_now),
        Route("/_sim/tickets", server.sim_tickets),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            server.close()

    return Starlette(routes=routes, lifespan=lifespan)


def _instant(value: Any, path: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ConfigError(path, f"{value!r} is not an RFC 3339 time") from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ConfigError(path, "expected an RFC 3339 time with a UTC offset")
    return value


def _clock(data: Mapping[str, Any]) -> ScaledTime:
    runtime = data.get("runtime") or {}
    virtual = runtime.get("clock") if isinstance(runtime, Mapping) else None
    if not virtual:
        return ScaledTime()
    if not isinstance(virtual, Mapping):
        raise ConfigError("runtime.clock", "expected {start, anchor, speed}")
    speed = virtual.get("speed")
    if isinstance(speed, bool) or not isinstance(speed, int | float) or speed <= 0:
        raise ConfigError("runtime.clock.speed", "expected a positive number")
    return ScaledTime(
        start=_instant(virtual.get("start"), "runtime.clock.start"),
        anchor=_instant(virtual.get("anchor"), "runtime.clock.anchor"),
        speed=float(speed),
    )


def load_server(
    config_path: Path,
    connector: str | None = None,
    *,
    write_log: Path | None = None,
    faults: FaultPlan | None = None,
    write_delay: float = 0.0,
) -> SimulatorServer:
    """The server for one connector entry of a daemon config file."""
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    if not isinstance(data, Mapping):
        raise ConfigError("", f"{config_path}: expected a YAML mapping")
    entries = data.get("connectors") or {}
    if connector is None:
        candidates = [
            name
            for name, entry in entries.items()
            if isinstance(entry, Mapping) and entry.get("type") == "simulator_http"
        ]
        if not candidates:
            raise ConfigError("connectors", "no connector of type simulator_http to serve")
        connector = candidates[0]
    settings = entries.get(connector)
    if not isinstance(settings, Mapping):
        raise ConfigError(f"connectors.{connector}", "no such connector entry")
    clock = _clock(data)
    config = SimulatorConfig.from_settings(connector, settings, default_start=clock.now())
    return SimulatorServer(
        SimulatedPsa(config), clock, write_log=write_log, faults=faults, write_delay=write_delay
    )


def _loopback(host: str) -> str:
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"--host {host}: the simulator server listens on loopback only")
    return host


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sla_connector_psa.simulator.server",
        description="Serve the simulator PSA of a daemon config over loopback HTTP.",
    )
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--host", default="127.0.0.1", type=_loopback)
    parser.add_argument("--connector", help="the connector entry to serve")
    parser.add_argument("--write-log", type=Path, help="append-only JSON lines of writes")
    parser.add_argument("--faults", type=float, default=0.0, help="fraction of requests failing")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fault-delay", type=float, default=2.0, help="real seconds held back")
    parser.add_argument("--retry-after", type=float, default=30.0, help="virtual seconds")
    parser.add_argument(
        "--write-delay", type=float, default=0.0, help="real seconds each write's answer waits"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    faults = None
    if args.faults > 0:
        faults = FaultPlan(
            args.faults, args.seed, delay=args.fault_delay, retry_after=args.retry_after
        )
    try:
        server = load_server(
            args.config,
            args.connector,
            write_log=args.write_log,
            faults=faults,
            write_delay=args.write_delay,
        )
    except ConfigError as error:
        print(f"simulator server: {error}", file=sys.stderr)
        return 2
    uvicorn.run(
        build_app(server),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
