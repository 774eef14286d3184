"""The simulator's ticket stream: deterministic, realistic, and valid canonical tickets."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from zoneinfo import ZoneInfo

import pytest
from sla_connector_psa.simulator import create
from sla_connector_psa.simulator.life import WorkingHours

from sla_connector.core.errors import ConfigError
from sla_connector.core.ports import Connector
from sla_connector.core.ticket import Ticket, parse_ticket

from .sim_support import START, VirtualClock, make, poll_tickets, snapshot

LONDON = ZoneInfo("Europe/London")
RESPONDED = {"acknowledged", "solved", "closed"}


def first_response_seconds(ticket: Ticket) -> float | None:
    for event in ticket.events:
        if (event.type == "public_reply" and event.by == "agent") or (
            event.type == "status" and event.to in RESPONDED
        ):
            return (event.at - ticket.created_at).total_seconds()
    return None


def statuses(ticket: Ticket) -> list[str]:
    return [event.to or "" for event in ticket.events if event.type == "status"]


def three_days(**settings: object) -> list[Ticket]:
    clock = VirtualClock()
    connector = make(clock, **settings)
    clock.advance(timedelta(days=3))
    tickets, _ = poll_tickets(connector, None)
    return tickets


def test_same_seed_gives_identical_stream() -> None:
    first = three_days()
    assert len(first) > 800
    assert snapshot(first) == snapshot(three_days())


def test_different_seed_gives_different_stream() -> None:
    ours, theirs = three_days(seed=7), three_days(seed=8)
    assert [t.created_at for t in ours] != [t.created_at for t in theirs]
    assert [t.subject for t in ours[:50]] != [t.subject for t in theirs[:50]]


def test_stream_does_not_depend_on_the_start_instant() -> None:
    """A restarted embedded simulator with a later start sees the same later tickets."""
    later = START + timedelta(hours=30)
    clock = VirtualClock(later)
    late_start = make(clock, start=later.isoformat())
    clock.advance(timedelta(hours=42))
    restarted, _ = poll_tickets(late_start, None)
    full = [t for t in three_days() if t.created_at >= later]
    assert restarted
    assert snapshot(restarted) == snapshot(full)


def test_month_at_400_a_day_gives_about_12000_tickets(month: list[Ticket]) -> None:
    assert 11_000 <= len(month) <= 13_500
    assert len({t.id for t in month}) == len(month)
    assert all(START <= t.created_at <= START + timedelta(days=30) for t in month)


def test_month_arrivals_skew_to_business_hours_and_weekdays(month: list[Ticket]) -> None:
    local = [t.created_at.astimezone(LONDON) for t in month]
    in_hours = sum(1 for at in local if at.weekday() < 5 and 8 <= at.hour < 18)
    # Business hours are 50 of the week's 168 hours; well over half the tickets fall in them.
    assert in_hours / len(month) > 0.6
    per_weekday = Counter(at.date() for at in local if at.weekday() < 5)
    per_weekend = Counter(at.date() for at in local if at.weekday() >= 5)
    weekday_mean = sum(per_weekday.values()) / len(per_weekday)
    weekend_mean = sum(per_weekend.values()) / len(per_weekend)
    assert weekend_mean < 0.4 * weekday_mean


def test_month_spreads_over_the_default_clients(month: list[Ticket]) -> None:
    shares = Counter(t.client for t in month)
    assert set(shares) == {"acme", "globex", "initech"}
    assert all(0.25 < count / len(month) < 0.42 for count in shares.values())


def test_month_holds_every_tier_signal_rules_can_match(month: list[Ticket]) -> None:
    subjects = Counter(t.subject for t in month)
    for subject in (
        "Email server down for all staff",
        "VPN slow for remote users",
        "Printer jam on floor 2",
    ):
        assert subjects[subject] > 10, subject
    alerts = [t for t in month if t.channel == "monitoring" and t.source_priority == "critical"]
    assert 0.01 < len(alerts) / len(month) < 0.1
    assert {"email", "portal", "phone", "chat"} <= {t.channel for t in month}


def test_month_has_pauses_resolutions_reopens_and_manual_priorities(month: list[Ticket]) -> None:
    pended = [t for t in month if "pending" in statuses(t)]
    assert 0.15 < len(pended) / len(month) < 0.5
    for ticket in pended:  # every wait on the customer ends back in open (or is still running)
        history = statuses(ticket)
        index = history.index("pending")
        assert history[index + 1 : index + 2] in ([], ["open"])
    assert any("on-hold" in statuses(t) for t in month)
    early = [t for t in month if t.created_at < START + timedelta(days=25)]
    resolved = [t for t in early if {"solved", "closed"} & set(statuses(t))]
    assert len(resolved) / len(early) > 0.95
    reopened = [t for t in month if statuses(t).count("solved") > 1]
    assert 0.01 < len(reopened) / len(month) < 0.08
    assert all(statuses(t)[statuses(t).index("solved") + 1] == "open" for t in reopened)
    manual = [e.to for t in month for e in t.events if e.type == "priority"]
    assert 0.01 < len(manual) / len(month) < 0.1
    assert set(manual) <= {"P1", "P2", "P3"}


def test_month_answers_some_outages_late_so_breaches_happen(month: list[Ticket]) -> None:
    outages = [t for t in month if "down for all staff" in t.subject]
    delays = [d for t in outages if (d := first_response_seconds(t)) is not None]
    late = [d for d in delays if d > 15 * 60]
    assert len(delays) == len(outages)
    assert 0.02 < len(late) / len(delays) < 0.4


def test_customer_replies_and_internal_notes_are_not_agent_replies(month: list[Ticket]) -> None:
    kinds = Counter((e.type, e.by) for t in month for e in t.events)
    assert kinds[("public_reply", "customer")] > 0
    assert kinds[("comment", None)] > 0
    assert {by for kind, by in kinds if kind == "public_reply"} == {"agent", "customer"}


def test_month_tickets_round_trip_through_parse_ticket(month: list[Ticket]) -> None:
    for ticket in month:
        assert parse_ticket(ticket.to_json(), known_sources={"sim"}) == ticket


def test_top_level_status_is_the_last_status_event(month: list[Ticket]) -> None:
    for ticket in month:
        assert ticket.status == (statuses(ticket) or ["open"])[-1]


def test_clients_follow_client_map_and_their_own_time_zone() -> None:
    clock = VirtualClock()
    connector = make(
        clock,
        client_map={"Acme Corp": "acme", "Globex": "globex"},
        clients={"Acme Corp": {"timezone": "America/New_York"}, "Globex": {}},
    )
    clock.advance(timedelta(days=14))
    tickets, _ = poll_tickets(connector, None)
    assert {t.client for t in tickets} == {"acme", "globex"}
    assert {t.extra["company"] for t in tickets} == {"Acme Corp", "Globex"}
    new_york = ZoneInfo("America/New_York")

    def share_in_hours(client: str, zone: ZoneInfo) -> float:
        mine = [
            t.created_at.astimezone(zone)
            for t in tickets
            if t.client == client and t.channel != "monitoring"
        ]
        return sum(1 for at in mine if at.weekday() < 5 and 8 <= at.hour < 18) / len(mine)

    assert share_in_hours("acme", new_york) > share_in_hours("acme", LONDON) + 0.1
    assert share_in_hours("globex", LONDON) > share_in_hours("globex", new_york) + 0.1


def test_clients_default_to_client_map_keys() -> None:
    tickets = three_days(client_map={"Initech Ltd": "initech", "Umbrella": "umbrella"})
    assert {t.client for t in tickets} == {"initech", "umbrella"}


def test_status_names_come_from_config_or_the_status_sets() -> None:
    tickets = three_days(
        statuses={"responded": "In Progress"},
        paused_statuses=["Waiting on Customer", "Scheduled"],
        resolved_statuses=["Resolved"],
    )
    names = {name for t in tickets for name in statuses(t)}
    assert names == {"In Progress", "Waiting on Customer", "Scheduled", "Resolved", "open"}


def test_manual_priorities_name_the_priority_map_tiers() -> None:
    tickets = three_days(priority_map={"Sev1": "urgent", "Sev2": "high"})
    tiers = {e.to for t in tickets for e in t.events if e.type == "priority"}
    assert tiers and tiers <= {"Sev1", "Sev2"}


def test_create_builds_a_connector_from_a_config_mapping() -> None:
    clock = VirtualClock()
    connector = create("sim", {"type": "simulator", "seed": 3, "tickets_per_day": 50}, clock)
    assert isinstance(connector, Connector)
    assert connector.name == "sim"
    assert connector.psa.config.start == START  # default start: the clock's present
    assert connector.psa.config.tickets_per_day == 50


def test_entry_point_simulator_loads_create() -> None:
    (point,) = [p for p in entry_points(group="sla_connector.connectors") if p.name == "simulator"]
    assert point.load() is create


@pytest.mark.parametrize(
    ("settings", "path"),
    [
        ({"tickets_per_day": 0}, "connectors.sim.tickets_per_day"),
        ({"tickets_per_day": "lots"}, "connectors.sim.tickets_per_day"),
        ({"seed": 1.5}, "connectors.sim.seed"),
        ({"timezone": "Mars/Olympus"}, "connectors.sim.timezone"),
        ({"start": "2026-11-02T00:00:00"}, "connectors.sim.start"),
        ({"clients": []}, "connectors.sim.clients"),
        ({"clients": {"acme": {"weight": -1}}}, "connectors.sim.clients.acme.weight"),
        ({"page_size": 0}, "connectors.sim.page_size"),
        ({"statuses": {"open": "pending"}}, "connectors.sim.statuses.open"),
    ],
)
def test_create_rejects_bad_settings_naming_the_key(settings: dict[str, object], path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        create("sim", settings, VirtualClock())
    assert caught.value.path == path


def test_working_hours_add_skips_the_weekend_across_london_fall_back() -> None:
    hours = WorkingHours(LONDON)
    friday = datetime(2026, 10, 23, 17, 30, tzinfo=LONDON)  # BST; clocks go back Sunday
    result = datetime.fromtimestamp(hours.add(int(friday.timestamp()), 3600), UTC)
    assert result == datetime(2026, 10, 26, 8, 30, tzinfo=UTC)  # Monday 08:30 GMT


def test_working_hours_add_starts_counting_at_the_next_opening() -> None:
    hours = WorkingHours(LONDON)
    saturday = datetime(2026, 11, 7, 14, 30, tzinfo=LONDON)
    result = datetime.fromtimestamp(hours.add(int(saturday.timestamp()), 0), LONDON)
    assert result == datetime(2026, 11, 9, 8, 0, tzinfo=LONDON)
