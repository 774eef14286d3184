"""Benchmark: what an hour of polling costs on each vendor's twin, in requests.

For each twin (Zendesk, ConnectWise, Jira SM) on a manual clock: 3,000 open tickets created
over the week before, a connector built as the daemon builds it, a start-up full read, then
one simulated hour of polls every ``--poll`` seconds (default 30) while 50 tickets change
(a status change, an agent's reply or a customer's reply, spread over the hour), then the
vendor's reconcile (a full read, as the runtime makes at each ``reconcile_interval``). The
twin's journal counts the requests: feed pages (exports, ticket lists, searches, event
streams), per-ticket history reads (Zendesk audits; ConnectWise audit trails and notes;
Jira changelogs and request comments) and the rest. The target (issue 12): the hour costs
its incremental polls plus at most one history read per changed ticket.

``--oauth`` runs instead the 5-minute OAuth check on the wall clock: a Zendesk and a Jira
connector against twins whose access tokens live 60 s, polling every 5 s and writing every
10 s; it reports polls and writes (all must succeed), the 401s the twins answered, the
renewals, and whether a token or secret reached a log line.

    .venv/bin/python bench/bench_requests.py [--tickets 3000] [--changes 50] [--poll 30]
    .venv/bin/python bench/bench_requests.py --oauth [--minutes 5] [--lifetime 60]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.twins.clock import ManualClock  # noqa: E402
from tests.twins.connectors import (  # noqa: E402
    TwinTime,
    VirtualSleep,
    connectwise_connector,
    jira_connector,
    zendesk_connector,
)
from tests.twins.connectwise import ConnectWiseTwin  # noqa: E402
from tests.twins.jira_sm import JiraTwin  # noqa: E402
from tests.twins.journal import RequestRecord  # noqa: E402
from tests.twins.zendesk import ZendeskTwin  # noqa: E402

from sla_connector.core.ports import Connector  # noqa: E402

HOUR = 3600.0
WEEK = 7 * 86400.0


def kind_of(vendor: str, path: str) -> str:
    """``feed``, ``history`` (one ticket's history), ``token`` or ``other``."""
    if path.endswith(("/oauth/tokens", "/oauth/token")):
        return "token"
    if vendor == "zendesk":
        if "/incremental/" in path:
            return "feed"
        return "history" if path.endswith("/audits") else "other"
    if vendor == "connectwise":
        if path.endswith("/service/tickets"):
            return "feed"
        history = ("/system/audittrail", "/notes", "/allNotes")
        return "history" if path.endswith(history) else "other"
    if path.endswith("/search/jql"):
        return "feed"
    return "history" if path.endswith(("/changelog", "/comment")) else "other"


@dataclass
class Phase:
    name: str
    requests: Counter[str]
    changed: int = 0

    def cells(self) -> list[str]:
        total = sum(self.requests.values())
        per = f"{self.requests['history'] / self.changed:.2f}" if self.changed else "-"
        return [
            self.name,
            str(total),
            str(self.requests["feed"]),
            str(self.requests["history"]),
            per,
            str(self.requests["other"] + self.requests["token"]),
        ]


@dataclass
class Tenant:
    """One twin seeded with open tickets, and the person-side changes of the hour."""

    vendor: str
    twin: Any
    ids: list[str]
    change: Callable[[str, int], None]
    build: Callable[[ManualClock, VirtualSleep], Connector]


def _spread(clock: ManualClock, count: int, create: Callable[[int], str]) -> list[str]:
    """``count`` tickets created evenly over the week before now (the clock comes back)."""
    now = clock()
    ids = []
    for n in range(count):
        clock._now = now - WEEK + n * (WEEK - HOUR) / count
        ids.append(create(n))
    clock._now = now
    return ids


def zendesk_tenant(clock: ManualClock, count: int) -> Tenant:
    twin = ZendeskTwin(clock=clock, account_limit=100_000, incremental_limit=10)
    ids = _spread(clock, count, lambda n: str(twin.create_ticket(f"ticket {n}", priority="high")))

    def change(ticket: str, n: int) -> None:
        tid = int(ticket)
        [
            lambda: twin.set_status(tid, "pending"),
            lambda: twin.agent_comment(tid, "On it"),
            lambda: twin.customer_comment(tid, "Any news?"),
        ][n % 3]()

    return Tenant(
        "zendesk",
        twin,
        ids,
        change,
        lambda c, s: zendesk_connector(twin, TwinTime(c), oauth=True, sleep=s),
    )


def connectwise_tenant(clock: ManualClock, count: int) -> Tenant:
    twin = ConnectWiseTwin(clock=clock, requests_per_minute=100_000)
    ids = _spread(clock, count, lambda n: str(twin.create_ticket(f"ticket {n}")))

    def change(ticket: str, n: int) -> None:
        tid = int(ticket)
        [
            lambda: twin.set_status(tid, "Waiting on Customer"),
            lambda: twin.member_reply(tid, "On it"),
            lambda: twin.customer_reply(tid, "Any news?"),
        ][n % 3]()

    return Tenant(
        "connectwise",
        twin,
        ids,
        change,
        lambda c, s: connectwise_connector(twin, TwinTime(c), sleep=s, page_size=1000),
    )


def jira_tenant(clock: ManualClock, count: int) -> Tenant:
    twin = JiraTwin(clock=clock, requests_per_minute=100_000)
    ids = _spread(clock, count, lambda n: twin.create_issue(f"ticket {n}", priority="High"))

    def change(ticket: str, n: int) -> None:
        [
            lambda: twin.transition(ticket, "Waiting for customer"),
            lambda: twin.agent_comment(ticket, "On it"),
            lambda: twin.customer_comment(ticket, "Any news?"),
        ][n % 3]()

    return Tenant(
        "jira_sm",
        twin,
        ids,
        change,
        lambda c, s: jira_connector(twin, TwinTime(c), sleep=s),
    )


def counted(vendor: str, records: list[RequestRecord]) -> Counter[str]:
    return Counter(kind_of(vendor, r.path) for r in records)


async def poll(connector: Connector, cursor: str | None) -> str | None:
    last = cursor
    async for page in connector.fetch_changed(cursor):
        last = page.cursor or last
    return last


async def one_hour(tenant: Tenant, clock: ManualClock, args: argparse.Namespace) -> list[Phase]:
    sleep = VirtualSleep(clock)
    connector = tenant.build(clock, sleep)
    journal = tenant.twin.journal
    rnd = random.Random(args.seed)
    changed = rnd.sample(tenant.ids, args.changes)
    due = sorted(rnd.uniform(0, HOUR - 120) for _ in changed)
    try:
        mark = len(journal.requests())
        cursor = await poll(connector, None)
        start = Phase("start-up full read", counted(tenant.vendor, journal.requests()[mark:]))
        mark = len(journal.requests())
        began, step = clock(), 0
        while clock() < began + HOUR:
            while step < len(changed) and began + due[step] <= clock():
                tenant.change(changed[step], step)
                step += 1
            cursor = await poll(connector, cursor)
            clock.advance(args.poll)
        hour = Phase(
            f"1 h of polls every {args.poll:g} s",
            counted(tenant.vendor, journal.requests()[mark:]),
            changed=len(set(changed)),
        )
        clock.advance(120)  # past the export lag: every change visible to the reconcile
        mark = len(journal.requests())
        await poll(connector, None)
        reconcile = Phase(
            "reconcile after the hour",
            counted(tenant.vendor, journal.requests()[mark:]),
            changed=len(set(changed)),
        )
    finally:
        await connector.aclose()
    return [start, hour, reconcile]


def requests_table(args: argparse.Namespace) -> str:
    rows = [
        "| vendor | phase | requests | feed pages | history reads "
        "| history reads per changed ticket | other |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for build in (zendesk_tenant, connectwise_tenant, jira_tenant):
        clock = ManualClock(start=float(int(time.time())))
        began = time.monotonic()
        tenant = build(clock, args.tickets)
        with tenant.twin.serve():
            phases = asyncio.run(one_hour(tenant, clock, args))
        for phase in phases:
            rows.append(f"| {tenant.vendor} | " + " | ".join(phase.cells()) + " |")
        print(f"  {tenant.vendor}: {time.monotonic() - began:.0f} s", file=sys.stderr)
    return "\n".join(rows)


# -- the OAuth run --------------------------------------------------------------------------


class Wall:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class OAuthRun:
    vendor: str
    polls: int = 0
    poll_failures: int = 0
    writes: int = 0
    write_failures: int = 0
    errors: int = 0


async def drive(connector: Connector, ticket: str, run: OAuthRun, seconds: float) -> None:
    cursor: str | None = None
    deadline = time.monotonic() + seconds
    last_write = 0.0
    while time.monotonic() < deadline:
        try:
            pages = [page async for page in connector.fetch_changed(cursor)]
            cursor = pages[-1].cursor
            run.polls += 1
            run.poll_failures += sum(bool(p.failures) for p in pages)
            if time.monotonic() - last_write >= 10:
                last_write = time.monotonic()
                fresh = await connector.fetch_ticket(ticket)
                result = await connector.add_tag(fresh, f"sla-oauth{run.writes}-c1")
                run.writes += 1
                run.write_failures += not result.ok
        except Exception as exc:  # counted: the acceptance is that none reaches here
            run.errors += 1
            print(f"  {run.vendor}: {exc!r}", file=sys.stderr)
        await asyncio.sleep(5)


def oauth_table(args: argparse.Namespace) -> str:
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)
    zendesk = ZendeskTwin(export_lag=1.0, incremental_limit=1000, token_lifetime=args.lifetime)
    zendesk.auth.api_tokens_enabled = False
    zd_ticket = str(zendesk.create_ticket("Mail server down", priority="urgent"))
    jira = JiraTwin(token_lifetime=args.lifetime)
    jira_key = jira.create_issue("Laptop broken", priority="High")
    runs = [OAuthRun("zendesk"), OAuthRun("jira_sm")]
    seconds = args.minutes * 60

    async def both() -> None:
        zd = zendesk_connector(zendesk, Wall(), oauth=True, export_requests_per_minute=100)
        jsm = jira_connector(jira, Wall())
        try:
            await asyncio.gather(
                drive(zd, zd_ticket, runs[0], seconds), drive(jsm, jira_key, runs[1], seconds)
            )
        finally:
            await zd.aclose()
            await jsm.aclose()

    with zendesk.serve(), jira.serve():
        time.sleep(1.1)
        asyncio.run(both())
    logging.getLogger().removeHandler(handler)
    secrets = [
        *zendesk.auth.access,
        *jira.auth.tokens,
        jira.account.client_secret,
        zendesk.auth.clients["twin-sla"].secret,
    ]
    leaked = any(secret in log.getvalue() for secret in secrets)
    rows = [
        "| vendor | token lifetime | polls (failed) | writes (failed) | errors reaching the caller "
        "| tokens issued | 401s answered by the twin | token in a log line |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run, twin, issued in (
        (runs[0], zendesk, zendesk.auth.issued),
        (runs[1], jira, jira.auth.issued),
    ):
        unauthorized = sum(r.status == 401 for r in twin.journal.requests())
        rows.append(
            f"| {run.vendor} | {args.lifetime:g} s | {run.polls} ({run.poll_failures}) | "
            f"{run.writes} ({run.write_failures}) | {run.errors} | {issued} | {unauthorized} | "
            f"{'yes' if leaked else 'no'} |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=3000)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--poll", type=float, default=30.0, help="seconds between polls")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--oauth", action="store_true", help="the 5-minute OAuth run instead")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--lifetime", type=float, default=60.0, help="access token lifetime, s")
    args = parser.parse_args()
    os.environ.setdefault("SLA_LOG_LEVEL", "WARNING")
    logging.getLogger("sla_connector_psa").setLevel(logging.ERROR)
    print(oauth_table(args) if args.oauth else requests_table(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
