"""The config builds the right domain ``Policy``: overrides, calendars, ladders, defaults."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from sla_connector.core.durations import BusinessDays
from sla_connector.core.policy import NEXT_BUSINESS_DAY
from sla_connector.settings import AppConfig, build_policy, config_from_mapping, parse_yaml

POLICY = textwrap.dedent(
    """\
    calendars:
      uk-office:
        timezone: Europe/London
        hours: {mon-fri: ["08:00-18:00"]}
        holidays: {country: GB, subdivision: ENG, extra: [2026-12-24]}
      us-east:
        timezone: America/New_York
        hours: {mon-fri: "07:00-19:00"}
      always: {always_open: true}
    tiers:
      P1: {name: Critical, severity: 1, response: 15m, resolution: 4h, calendar: always}
      P2: {name: High, severity: 2, response: 1h, resolution: 8h, calendar: uk-office}
      P3: {severity: 3, response: 4h, resolution: 3bd, calendar: uk-office}
    classification:
      rules:
        - {name: outage, tier: P1, keywords: down, unless: [not down]}
    clients:
      acme:
        tier: enterprise
        floor: P2
        target_adherence: 98%
        calendar: us-east
        tiers: {P1: {response: 10m}, P3: {calendar: always}}
        roles: {account_director: alex@msp.example}
    roles: {account_director: dana@msp.example}
    escalations:
      P1:
        - name: account-director
          on: breach
          after: 30m
          to: account_director
          actions: [reassign, set_priority, note, tag]
          note: "Breach on {{ ticket.id }}"
          tag: sla-escalated
          priority: P1
        - {name: p1-at-risk, on: resolution_at_risk, at: 75%, to: team_lead, actions: notify}
      P3:
        - {name: team-lead, on: breach, after: next_business_day, to: team_lead,
           actions: [reassign]}
    connectors:
      zd:
        type: zendesk
        subdomain: mspco
        users: {dana@msp.example: 12345}
        responded_statuses: [Open]
        paused_statuses: [Pending, hold]
        resolved_statuses: [solved]
    """
)


def config(text: str = POLICY) -> AppConfig:
    return config_from_mapping(parse_yaml(text))


def test_client_tier_override_lands_in_the_policy() -> None:
    policy = config().policy
    assert policy.terms("acme", "P1").tier.response == timedelta(minutes=10)
    assert policy.terms("acme", "P1").tier.resolution == timedelta(hours=4)
    assert policy.terms("globex", "P1").tier.response == timedelta(minutes=15)


def test_client_calendar_replaces_business_calendars_but_not_24x7() -> None:
    policy = config().policy
    assert policy.terms("acme", "P2").tier.calendar == "us-east"
    assert policy.terms("acme", "P2").calendar.tz.key == "America/New_York"
    assert policy.terms("acme", "P1").tier.calendar == "always"
    assert policy.terms("globex", "P2").tier.calendar == "uk-office"


def test_tier_override_calendar_wins_over_client_calendar() -> None:
    assert config().policy.terms("acme", "P3").tier.calendar == "always"


def test_targets_parse_to_core_durations() -> None:
    tiers = config().policy.tiers
    assert tiers["P1"].response == timedelta(minutes=15)
    assert tiers["P3"].resolution == BusinessDays(3)
    assert tiers["P3"].name == "P3"  # the key when no name is given


def test_calendars_are_built_with_hours_and_holidays() -> None:
    calendars = config().policy.calendars
    uk = calendars["uk-office"]
    assert uk.is_open(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))  # Monday 09:00 GMT
    assert not uk.is_open(datetime(2026, 11, 2, 18, 30, tzinfo=UTC))
    assert not uk.is_open(datetime(2026, 12, 24, 10, 0, tzinfo=UTC))  # extra closed day
    assert not uk.is_open(datetime(2026, 12, 25, 10, 0, tzinfo=UTC))  # Christmas Day
    # a single interval written as a string is accepted: 07:00 New York = 12:00 UTC in winter
    assert calendars["us-east"].is_open(datetime(2026, 11, 2, 12, 0, tzinfo=UTC))
    assert calendars["always"].always_open


def test_rules_are_compiled_with_single_strings_as_lists() -> None:
    rule = config().policy.rules[0]
    assert rule.keywords == ("down",)
    assert rule.keyword_re is not None and rule.keyword_re.search("Server DOWN")
    assert rule.unless == ("not down",)


def test_client_contract_fields_land_in_the_policy() -> None:
    policy = config().policy
    acme = policy.client("acme")
    assert (acme.tier, acme.floor, acme.target_adherence) == ("enterprise", "P2", 0.98)
    assert policy.recipient("acme", "account_director") == "alex@msp.example"
    assert policy.recipient("globex", "account_director") == "dana@msp.example"


def test_escalation_steps_carry_every_field() -> None:
    ladder = config().policy.ladder("P1")
    breach, at_risk = ladder
    assert breach.on == "breach"
    assert breach.after == timedelta(minutes=30)
    assert breach.actions == ("reassign", "set_priority", "note", "tag")
    assert (breach.note, breach.tag, breach.priority) == (
        "Breach on {{ ticket.id }}",
        "sla-escalated",
        "P1",
    )
    assert at_risk.at == 0.75
    assert at_risk.after is None
    assert at_risk.actions == ("notify",)
    assert config().policy.ladder("P3")[0].after == NEXT_BUSINESS_DAY


def test_connector_status_sets_become_policy_sources() -> None:
    sources = config().policy.sources
    assert sources["zd"].paused == frozenset({"pending", "hold"})
    assert sources["zd"].responded == frozenset({"open"})
    assert sources["zd"].resolved == frozenset({"solved"})


def test_connector_numeric_user_id_is_kept_as_text_and_vendor_keys_as_options() -> None:
    zd = config().connectors["zd"]
    assert zd.users["dana@msp.example"] == "12345"
    assert zd.options["subdomain"] == "mspco"
    assert zd.poll_interval == timedelta(seconds=60)
    assert zd.reconcile_interval is None  # the connector type decides (runtime.service)


def test_defaults() -> None:
    cfg = config()
    assert cfg.clocks.reopen == "resume"
    assert cfg.policy.reopen == "resume"
    assert cfg.classification.respect_manual_priority is True
    assert cfg.policy.respect_manual_priority is True
    assert cfg.runtime.dry_run is False
    assert cfg.store.url == "sqlite:///sla-connector.db"
    assert (cfg.dashboard.bind, cfg.dashboard.port) == ("127.0.0.1", 8321)
    assert (cfg.reports.weekly.day, cfg.reports.weekly.at) == ("mon", time(8, 0))
    assert (cfg.reports.monthly.day, cfg.reports.monthly.at) == (1, time(8, 0))
    assert cfg.notify.smtp is None


def test_default_tier_falls_back_to_least_severe_tier() -> None:
    assert config().policy.default_tier == "P3"
    explicit = config(POLICY.replace("classification:\n", "classification:\n  default_tier: P2\n"))
    assert explicit.policy.default_tier == "P2"


def test_reopen_new_cycle_and_manual_priority_off_reach_the_policy() -> None:
    text = POLICY + "clocks: {reopen: new_cycle}\n"
    text = text.replace("classification:\n", "classification:\n  respect_manual_priority: false\n")
    policy = config(text).policy
    assert policy.reopen == "new_cycle"
    assert policy.respect_manual_priority is False


def test_config_is_immutable() -> None:
    cfg = config()
    with pytest.raises(ValidationError):
        cfg.runtime.dry_run = True
    with pytest.raises(TypeError):
        cfg.tiers["P9"] = cfg.tiers["P1"]  # type: ignore[index]
    with pytest.raises(TypeError):
        cfg.clients["acme"].roles["x"] = "y"  # type: ignore[index]
    assert isinstance(cfg.classification.rules, tuple)


def test_policy_is_built_once_and_build_policy_gives_an_equal_policy() -> None:
    cfg = config()
    assert cfg.policy is cfg.policy
    rebuilt = build_policy(cfg)
    assert rebuilt.tiers == cfg.policy.tiers
    assert rebuilt.escalations == cfg.policy.escalations


def test_model_copy_rebuilds_the_policy_from_the_copy() -> None:
    cfg = config()
    assert cfg.policy.reopen == "resume"
    clocks = cfg.clocks.model_copy(update={"reopen": "new_cycle"})
    changed = cfg.model_copy(update={"clocks": clocks})
    assert changed.policy.reopen == "new_cycle"
    assert cfg.policy.reopen == "resume"


def test_dump_round_trips_through_validation() -> None:
    cfg = config()
    dumped: dict[str, Any] = cfg.model_dump(mode="json")
    assert dumped["tiers"]["P3"]["resolution"] == "3bd"
    assert dumped["escalations"]["P1"][0]["after"] == "30m"
    assert dumped["clients"]["acme"]["target_adherence"] == "98%"
    assert config_from_mapping(dumped) == cfg


def test_environment_does_not_override_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTIME", '{"dry_run": true}')
    monkeypatch.setenv("STORE", '{"url": "postgresql://elsewhere/db"}')
    cfg = config()
    assert cfg.runtime.dry_run is False
    assert cfg.store.url == "sqlite:///sla-connector.db"
