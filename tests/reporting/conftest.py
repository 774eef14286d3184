"""Fixtures of the reporting tests: the dataset in a real SQLite store, servers on 127.0.0.1."""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from sla_connector.core.calendars import to_us
from sla_connector.core.evaluate import evaluate
from sla_connector.core.policy import Policy
from sla_connector.core.ticket import Ticket, parse_ticket
from sla_connector.runtime.planner import ticket_row
from sla_connector.settings import AppConfig, config_from_mapping
from sla_connector.store import PlannedStep, Store
from tests.reporting.dataset import POLICY, UTC_START, Spec, specs

LONDON = ZoneInfo("Europe/London")
# The weekly report due Monday 19 Oct 2026 08:00 London covers Mon 12 Oct to Mon 19 Oct.
NOW = datetime(2026, 10, 19, 8, 0, tzinfo=LONDON)
WEEK_START = datetime(2026, 10, 12, tzinfo=LONDON)
WEEK_END = datetime(2026, 10, 19, tzinfo=LONDON)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_config(tmp_path: Path, **sections: Any) -> AppConfig:
    """The dataset's policy plus the given sections (reports, notify...), store in tmp_path."""
    data = {**POLICY, "store": {"url": f"sqlite:///{tmp_path / 'sla.db'}"}, **sections}
    return config_from_mapping(data)


@pytest.fixture(scope="session")
def dataset() -> list[Spec]:
    return specs(seed=11, count=600, start=UTC_START, days=28)


def tickets_at(all_specs: list[Spec], now: datetime) -> list[Ticket]:
    return [parse_ticket(s.ticket(now)) for s in all_specs if s.created <= now]


def seed_store(store: Store, policy: Policy, tickets: list[Ticket], now: datetime) -> None:
    rows = [
        ticket_row(evaluate(t, policy, now), orjson.dumps(t.to_json()).decode()) for t in tickets
    ]
    store.upsert_tickets(rows)


def fire_step(
    store: Store,
    ticket: Ticket,
    step: str,
    tier: str,
    due: datetime,
    lateness: timedelta,
    recipient: str = "sam@msp.example",
) -> None:
    """Record a fired escalation in the ledger, as the escalator would."""
    key = f"{ticket.source}:{ticket.id}:{step}:1"
    store.plan(
        [
            PlannedStep(
                key,
                ticket.source,
                ticket.id,
                ticket.client,
                tier,
                step,
                1,
                to_us(due),
                recipient,
                ("notify",),
            )
        ]
    )
    fired = due + lateness
    assert store.claim(key, at=to_us(fired), owner="test")
    store.finish(key, state="done", at=to_us(fired), lateness_us=to_us(fired) - to_us(due))


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl), for the STARTTLS / TLS tests."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out", str(cert),
             "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl cannot make a test certificate: {exc}")
    return cert, key


@pytest.fixture
def client_tls(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls_files[0]))


@pytest.fixture
def server_tls(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(tls_files[0]), str(tls_files[1]))
    return context


@pytest.fixture
def utc_now() -> Iterator[datetime]:
    yield NOW.astimezone(UTC)
