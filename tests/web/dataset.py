"""A small hand-made dataset whose adherence is worked out by hand in the tests.

``NOW`` is Wednesday 18 March 2026 12:00 UTC. P1 runs on the always-open calendar
(15 min response, 4 h resolution), so every figure below is plain clock arithmetic.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sla_connector.core.calendars import to_us
from sla_connector.core.ledger import LedgerRow, ReportRun
from sla_connector.core.policy import Client, Rule
from sla_connector.core.ticket import Ticket
from sla_connector.runtime.daemon import ConnectorStatus
from sla_connector.web.data import StaticSource
from tests.core.policies import make_policy, ticket

NOW = datetime.fromisoformat("2026-03-18T12:00:00+00:00")
RULES = (
    Rule.build("outage", "P1", keywords=("down",)),
    Rule.build("degraded", "P2", keywords=("slow",)),
)
POLICY = make_policy(
    rules=RULES,
    clients={
        "acme": Client(key="acme", target_adherence=0.98, name="Acme Ltd"),
        "globex": Client(key="globex", target_adherence=0.5),
    },
)


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).isoformat()


def after(start: str, **delta: float) -> str:
    return (datetime.fromisoformat(start) + timedelta(**delta)).isoformat()


def p1(ident: str, client: str, created: str, *events: tuple[str, str, str]) -> Ticket:
    return ticket(created, *events, id=ident, client=client, subject=f"Server down {ident}")


A1 = ago(days=2)
A2 = ago(days=3)
A3 = ago(days=20)
A4 = ago(hours=3, minutes=10)
A5 = ago(hours=1)
G2 = ago(days=40)
G3 = ago(hours=2)

TICKETS = [
    # met both clocks two days ago
    p1(
        "A1",
        "acme",
        A1,
        (after(A1, minutes=10), "public_reply", "agent"),
        (after(A1, hours=3), "status", "solved"),
    ),
    # replied after 20 min (response breached at +15 min), solved after 5 h (breached at +4 h)
    p1(
        "A2",
        "acme",
        A2,
        (after(A2, minutes=20), "public_reply", "agent"),
        (after(A2, hours=5), "status", "solved"),
    ),
    # met, 20 days ago: only in the 30-day window
    p1(
        "A3",
        "acme",
        A3,
        (after(A3, minutes=5), "public_reply", "agent"),
        (after(A3, hours=1), "status", "solved"),
    ),
    # open, responded in time, 3h10m of 4h used: at risk, breaches in 50 min
    p1("A4", "acme", A4, (after(A4, minutes=5), "public_reply", "agent")),
    # open, never answered: response breached 45 min ago
    p1("A5", "acme", A5),
    # globex P2 (uk-office, Mon 16 Mar 09:00 London = UTC): met both
    ticket(
        "2026-03-16T09:00:00+00:00",
        ("2026-03-16T09:30:00+00:00", "public_reply", "agent"),
        ("2026-03-16T12:00:00+00:00", "status", "solved"),
        id="G1",
        client="globex",
        subject="CRM slow",
    ),
    # globex P1 met 40 days ago: in no window
    p1(
        "G2",
        "globex",
        G2,
        (after(G2, minutes=5), "public_reply", "agent"),
        (after(G2, hours=1), "status", "solved"),
    ),
    # globex P1 open, paused since 1h30m ago: open, not at risk
    p1(
        "G3",
        "globex",
        G3,
        (after(G3, minutes=5), "public_reply", "agent"),
        (after(G3, minutes=30), "status", "pending"),
    ),
]

US = 1_000_000
A2_STEP_DUE = to_us(datetime.fromisoformat(A2)) + 45 * 60 * US  # breach +15m, after 30m
A5_STEP_DUE = to_us(datetime.fromisoformat(A5)) + 45 * 60 * US
LEDGER = [
    LedgerRow(
        "zd:A2:account-director:1",
        "zd",
        "A2",
        "acme",
        "P1",
        "account-director",
        1,
        A2_STEP_DUE,
        "dana@msp.example",
        "done",
        fired_at=A2_STEP_DUE + 200_000,
        lateness_us=200_000,
    ),
    LedgerRow(
        "zd:A5:account-director:1",
        "zd",
        "A5",
        "acme",
        "P1",
        "account-director",
        1,
        A5_STEP_DUE,
        "dana@msp.example",
        "done",
        fired_at=A5_STEP_DUE + 120 * US,
        lateness_us=120 * US,
    ),
    LedgerRow(
        "zd:G9:account-director:1",
        "zd",
        "G9",
        "globex",
        "P1",
        "account-director",
        1,
        A5_STEP_DUE,
        "dana@msp.example",
        "would_fire",
        fired_at=A5_STEP_DUE,
        lateness_us=0,
    ),
    LedgerRow(
        "zd:G8:account-director:1",
        "zd",
        "G8",
        "globex",
        "P1",
        "account-director",
        1,
        A2_STEP_DUE + 3600 * US,
        "dana@msp.example",
        "failed",
        attempts=20,
        fired_at=A2_STEP_DUE + 3 * 3600 * US,
        lateness_us=7200 * US,
        detail="write refused: 403",
    ),
    LedgerRow(
        "zd:A4:account-director:1",
        "zd",
        "A4",
        "acme",
        "P1",
        "account-director",
        1,
        to_us(NOW) + 3600 * US,
        "dana@msp.example",
        "planned",
    ),
]


def make_source(now: datetime = NOW) -> StaticSource:
    clock = {"now": now}
    source = StaticSource(
        policy_value=POLICY,
        clock=lambda: clock["now"],
        ticket_list=list(TICKETS),
        ledger_rows=list(LEDGER),
        connectors={
            "zd": ConnectorStatus(
                leading=True,
                last_poll_at=now,
                last_poll_ok=True,
                poll_errors=2,
                polls=10,
                last_poll_seconds=0.25,
            )
        },
        reports=[
            ReportRun(
                "weekly",
                to_us(NOW) - 2 * 86400 * US,
                "ops@acme.example",
                "failed",
                detail="SMTP 550",
            ),
            ReportRun("weekly", to_us(NOW) - 2 * 86400 * US, "cto@acme.example", "sent"),
        ],
    )
    source.clock_state = clock  # type: ignore[attr-defined]
    return source


def set_now(source: StaticSource, now: datetime) -> None:
    source.clock_state["now"] = now  # type: ignore[attr-defined]
