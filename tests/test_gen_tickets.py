"""The synthetic ticket generator (bench/gen_tickets.py) and the bundled example file.

The generator feeds benchmarks, the demo and `audit` examples, so its output must be valid
canonical tickets (DESIGN section 3), reproducible for a seed, and varied enough to
exercise every clock rule; examples/tickets.jsonl must stay what its README promises.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sla_connector.core.ticket import Ticket, parse_ticket

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "tickets.jsonl"
STATUSES = {"open", "pending", "solved", "closed"}
CHANNELS = {"email", "phone", "portal", "chat", "monitoring", "api"}
PRIORITIES = {"low", "normal", "high", "urgent", "critical"}
START = datetime(2026, 10, 5, tzinfo=UTC)
CLIENTS = [("acme", "America/New_York"), ("globex", "Europe/London")]
# The exact arguments README.md documents for regenerating examples/tickets.jsonl.
EXAMPLE_ARGS = (
    "--count 394 --seed 7 --clients acme:America/New_York,globex:Europe/London --showcase"
)


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_tickets", ROOT / "bench" / "gen_tickets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def _lines(count: int, seed: int, **options: Any) -> list[str]:
    buffer = io.StringIO()
    gen.write_tickets(buffer, gen.generate_tickets(count, seed=seed, start=START, **options))
    return buffer.getvalue().splitlines()


def _statuses(ticket: Ticket) -> list[str]:
    return [event.to or "" for event in ticket.events if event.type == "status"]


def _reopened(ticket: Ticket) -> bool:
    statuses = _statuses(ticket)
    return any(a == "solved" and b == "open" for a, b in pairwise(statuses))


@pytest.fixture(scope="module")
def sample() -> list[Ticket]:
    return [
        parse_ticket(json.loads(line), known_sources={"sim"})
        for line in _lines(2000, seed=11, clients=CLIENTS)
    ]


@pytest.fixture(scope="module")
def example() -> list[Ticket]:
    with EXAMPLE.open(encoding="utf-8") as handle:
        return [parse_ticket(json.loads(line), known_sources={"sim"}) for line in handle]


def test_same_seed_gives_byte_identical_output() -> None:
    assert _lines(300, seed=5) == _lines(300, seed=5)


def test_different_seeds_give_different_tickets() -> None:
    assert _lines(300, seed=5) != _lines(300, seed=6)


def test_generator_is_lazy_and_yields_exactly_count() -> None:
    tickets = gen.generate_tickets(123, seed=1, start=START)
    assert isinstance(tickets, Iterator)
    assert sum(1 for _ in tickets) == 123
    assert list(gen.generate_tickets(0, seed=1, start=START)) == []


def test_every_line_parses_as_a_canonical_ticket_in_the_window(sample: list[Ticket]) -> None:
    end = START + timedelta(days=28)
    assert len(sample) == 2000
    assert len({ticket.id for ticket in sample}) == 2000
    for ticket in sample:
        assert ticket.created_at.utcoffset() == timedelta(0)
        assert START <= ticket.created_at < end
        assert ticket.client in {"acme", "globex"}
        assert ticket.channel in CHANNELS
        assert ticket.source_priority in PRIORITIES
        assert ticket.subject
        assert ticket.description
        assert not ticket.extra
        times = [event.at for event in ticket.events]
        assert times == sorted(times)
        assert all(at > ticket.created_at and at < end for at in times)
        assert all(at.tzinfo is not None for at in times)
        assert set(_statuses(ticket)) <= STATUSES
        assert ticket.status == ["open", *_statuses(ticket)][-1]


def test_tickets_come_in_created_order_with_increasing_ids(sample: list[Ticket]) -> None:
    created = [ticket.created_at for ticket in sample]
    assert created == sorted(created)
    assert [int(ticket.id) for ticket in sample] == list(range(10001, 12001))


def test_arrivals_skew_to_each_clients_local_weekday_office_hours(sample: list[Ticket]) -> None:
    def in_office(ticket: Ticket, zone: str) -> bool:
        local = ticket.created_at.astimezone(ZoneInfo(zone))
        return local.weekday() < 5 and 8 <= local.hour < 18

    zones = dict(CLIENTS)
    own = sum(in_office(ticket, zones[ticket.client]) for ticket in sample) / len(sample)
    weekend = sum(
        ticket.created_at.astimezone(ZoneInfo(zones[ticket.client])).weekday() >= 5
        for ticket in sample
    ) / len(sample)
    acme = [ticket for ticket in sample if ticket.client == "acme"]
    acme_in_london_hours = sum(in_office(ticket, "Europe/London") for ticket in acme) / len(acme)
    assert own > 0.7
    assert weekend < 0.12
    # acme works New York hours: a UTC or London-only generator would score the same here.
    assert acme_in_london_hours < own - 0.2


def test_sample_varies_lifecycles_enough_to_exercise_every_clock_rule(
    sample: list[Ticket],
) -> None:
    seen: Counter[str] = Counter()
    for ticket in sample:
        statuses = _statuses(ticket)
        replies = [event.by for event in ticket.events if event.type == "public_reply"]
        seen["reopen"] += _reopened(ticket)
        seen["pause"] += "pending" in statuses
        seen["resume"] += any(a == "pending" and b == "open" for a, b in pairwise(statuses))
        seen["closed"] += "closed" in statuses
        seen["still_open"] += ticket.status == "open"
        seen["priority"] += any(event.type == "priority" for event in ticket.events)
        seen["customer_first"] += bool(replies) and replies[0] == "customer"
        seen["no_agent_reply"] += "agent" not in replies
        seen["assignee"] += any(event.type == "assignee" for event in ticket.events)
        seen["comment"] += any(event.type == "comment" for event in ticket.events)
    for kind in seen:
        assert seen[kind] >= 10, (kind, seen)
    assert len(seen) == 10
    targets = {e.to for t in sample for e in t.events if e.type == "priority"}
    assert targets <= {"P1", "P2", "P3"}
    assert "P1" in targets


def test_texts_carry_the_words_classification_rules_look_for(sample: list[Ticket]) -> None:
    text = " ".join(f"{t.subject} {t.description}".lower() for t in sample)
    for word in ("down", "ransomware", "not responding", "slow", "intermittent", "error",
                 "cannot", "new starter", "toner"):  # fmt: skip
        assert word in text, word
    assert {t.channel for t in sample} == CHANNELS
    assert {t.source_priority for t in sample} == PRIORITIES


def test_events_after_the_export_instant_are_cut() -> None:
    tickets = [json.loads(line) for line in _lines(200, seed=3, days=1)]
    end = "2026-10-06T00:00:00Z"
    assert all(event["at"] < end for ticket in tickets for event in ticket["events"])
    assert any(ticket["status"] == "open" for ticket in tickets)


def test_parse_clients_reads_optional_time_zones() -> None:
    assert gen.parse_clients("acme:America/New_York, globex", "Europe/Paris") == [
        ("acme", "America/New_York"),
        ("globex", "Europe/Paris"),
    ]
    with pytest.raises(ValueError, match="empty client"):
        gen.parse_clients("acme,,globex")


def test_cli_writes_the_requested_tickets_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "t.jsonl"
    args = "--count 25 --seed 2 --source zd --clients initech --start 2026-01-05T00:00:00Z --days 3"
    code = gen.main([*args.split(), "--out", str(out)])
    tickets = [parse_ticket(json.loads(line)) for line in out.read_text().splitlines()]
    assert code == 0
    assert len(tickets) == 25
    assert {(t.source, t.client) for t in tickets} == {("zd", "initech")}
    assert all(t.created_at < datetime(2026, 1, 8, tzinfo=UTC) for t in tickets)


def test_example_file_parses_entirely(example: list[Ticket]) -> None:
    assert 300 <= len(example) <= 500
    assert len({ticket.id for ticket in example}) == len(example)
    assert {ticket.client for ticket in example} == {"acme", "globex"}
    end = datetime(2026, 11, 2, tzinfo=UTC)
    for ticket in example:
        assert START <= ticket.created_at < end
        assert set(_statuses(ticket)) <= STATUSES
        assert all(ticket.created_at < event.at < end for event in ticket.events)


def test_example_showcase_tickets_are_what_the_readme_describes(example: list[Ticket]) -> None:
    by_id = {ticket.id: ticket for ticket in example}
    assert [ticket.id for ticket in example[:6]] == [
        "demo-p1-breach", "demo-weekend-pause", "demo-reopen", "demo-upgrade-p1",
        "demo-response-breach", "demo-still-pending",
    ]  # fmt: skip

    breach = by_id["demo-p1-breach"]
    solved = next(e.at for e in breach.events if e.to == "solved")
    assert solved - breach.created_at > timedelta(hours=4)

    pause = by_id["demo-weekend-pause"]
    paused = next(e.at for e in pause.events if e.to == "pending")
    resumed = next(e.at for e in pause.events if e.type == "status" and e.to == "open")
    assert (paused.weekday(), resumed.weekday()) == (4, 0)  # Friday -> Monday

    assert _reopened(by_id["demo-reopen"])

    upgrade = by_id["demo-upgrade-p1"]
    raised = [e for e in upgrade.events if e.type == "priority"]
    assert [(e.to, e.at - upgrade.created_at) for e in raised] == [("P1", timedelta(hours=2))]

    assert by_id["demo-still-pending"].status == "pending"


def test_example_file_is_reproducible_from_the_documented_command(tmp_path: Path) -> None:
    out = tmp_path / "tickets.jsonl"
    assert gen.main([*EXAMPLE_ARGS.split(), "--out", str(out)]) == 0
    assert out.read_bytes() == EXAMPLE.read_bytes()
    readme = (ROOT / "examples" / "README.md").read_text(encoding="utf-8")
    assert EXAMPLE_ARGS in readme
