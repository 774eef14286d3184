"""Every invalid input is a one-line ``ConfigError`` naming the full key path (DESIGN 9)."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sla_connector.core.errors import ConfigError
from sla_connector.settings import (
    AppConfig,
    config_from_mapping,
    format_config_error,
    load_config,
    parse_yaml,
)

BASE = textwrap.dedent(
    """\
    calendars:
      uk-office:
        timezone: Europe/London
        hours: {mon-fri: ["08:00-18:00"], sat: ["09:00-13:00"]}
        holidays: {country: GB, subdivision: ENG}
      always: {always_open: true}
    tiers:
      P1: {name: Critical, severity: 1, response: 15m, resolution: 4h, calendar: always}
      P2: {name: High, severity: 2, response: 1h, resolution: 8h, calendar: uk-office}
      P3: {name: Standard, severity: 3, response: 4h, resolution: 3bd, calendar: uk-office}
    classification:
      default_tier: P3
      rules:
        - {name: outage, tier: P1, keywords: [down]}
        - {name: monitoring, tier: P1, channel: [monitoring]}
        - {name: degraded, tier: P2, regex: ["\\\\b(slow|degraded)\\\\b"]}
    clients:
      acme: {tier: enterprise, floor: P2, tiers: {P1: {response: 10m}}}
    escalations:
      P1:
        - {name: account-director, on: breach, after: 30m, to: account_director,
           actions: [reassign, note, notify]}
        - {name: p1-at-risk, on: resolution_at_risk, at: 75%, to: team_lead, actions: [notify]}
      P3:
        - {name: team-lead, on: breach, after: next_business_day, to: team_lead,
           actions: [reassign]}
    connectors:
      zd:
        type: zendesk
        subdomain: mspco
        token_env: ZENDESK_API_TOKEN
        paused_statuses: [pending, hold]
        resolved_statuses: [solved, closed]
        priority_map: {P1: urgent}
    """
)


def base() -> dict[str, Any]:
    data = parse_yaml(BASE)
    assert isinstance(data, dict)
    return copy.deepcopy(data)


def put(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def drop(data: dict[str, Any], path: tuple[Any, ...]) -> None:
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]


def rejected(data: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping(data)
    return caught.value


def test_base_config_is_valid() -> None:
    assert config_from_mapping(base()).policy.default_tier == "P3"


# (where to write, what to write, the path the error must name, a phrase of the problem)
SET_CASES: list[tuple[tuple[Any, ...], Any, str, str]] = [
    (
        ("classification", "rules", 1, "tier"),
        "P9",
        "classification.rules[1].tier",
        "unknown tier 'P9'",
    ),
    (("tiers", "P2", "calendar"), "nowhere", "tiers.P2.calendar", "unknown calendar 'nowhere'"),
    (
        ("calendars", "uk-office", "hours", "mon-fri"),
        ["08:00-25:00"],
        "calendars.uk-office.hours.mon-fri[0]",
        "'25:00' is not a valid time of day",
    ),
    (
        ("calendars", "uk-office", "hours", "sat"),
        ["09:00-13:00", "22:00-02:00"],
        "calendars.uk-office.hours.sat[1]",
        "crosses midnight",
    ),
    (
        ("calendars", "uk-office", "hours", "funday"),
        ["09:00-10:00"],
        "calendars.uk-office.hours.funday",
        "not a day or day range",
    ),
    (("tiers", "P3", "resolution"), "3x", "tiers.P3.resolution", "'3x' is not a duration"),
    (("tiers", "P1", "response"), "0m", "tiers.P1.response", "longer than zero"),
    (("tiers", "P1", "severity"), "high", "tiers.P1.severity", "expected a whole number"),
    # Issue 11, finding 9: out-of-range numbers and durations are one line, never a traceback.
    (("tiers", "P3", "resolution"), "99999999bd", "tiers.P3.resolution", "longer than ten years"),
    (("tiers", "P1", "response"), "99999999999999999999h", "tiers.P1.response", "ten years"),
    (("tiers", "P1", "resolution"), "3700d", "tiers.P1.resolution", "longer than ten years"),
    (("tiers", "P1", "severity"), 10**40, "tiers.P1.severity", "less than or equal to 1000"),
    (
        ("classification", "rules", 2, "regex"),
        ["(a)\\1"],
        "classification.rules[2].regex[0]",
        "no backreferences",
    ),
    (
        ("calendars", "uk-office", "timezone"),
        "Mars/Olympus",
        "calendars.uk-office.timezone",
        "unknown time zone 'Mars/Olympus'",
    ),
    (
        ("classification", "rules", 2, "regex"),
        ["(unclosed"],
        "classification.rules[2].regex[0]",
        "does not compile",
    ),
    (
        ("calendars", "uk-office", "holidays", "country"),
        "XX",
        "calendars.uk-office.holidays.country",
        "not known to the holidays package",
    ),
    (
        ("calendars", "uk-office", "holidays", "subdivision"),
        "ZZ",
        "calendars.uk-office.holidays.subdivision",
        "not known to the holidays package",
    ),
    (
        ("calendars", "uk-office", "holidays", "extra"),
        ["2026-13-01"],
        "calendars.uk-office.holidays.extra[0]",
        "valid date",
    ),
    (
        ("calendars", "uk-office", "hours"),
        {"mon-fri": []},
        "calendars.uk-office.hours",
        "never open",
    ),
    (
        ("calendars", "always", "hours"),
        {"mon": ["08:00-10:00"]},
        "calendars.always.hours",
        "cannot be combined with always_open",
    ),
    (("tierz",), {}, "tierz", "did you mean 'tiers'?"),
    (("tiers", "P1", "respnse"), "1h", "tiers.P1.respnse", "did you mean 'response'?"),
    (("tiers",), {}, "tiers", "must not be empty"),
    (("tiers",), ["P1"], "tiers", "expected a mapping"),
    (("clocks",), {"reopen": "restart"}, "clocks.reopen", "expected 'resume' or 'new_cycle'"),
    (("classification", "default_tier"), "P4", "classification.default_tier", "unknown tier"),
    (
        ("classification", "rules", 1, "name"),
        "outage",
        "classification.rules[1].name",
        "duplicate rule name 'outage'",
    ),
    (
        ("classification", "rules", 0, "fields"),
        ["subject", "body"],
        "classification.rules[0].fields[1]",
        "'body' is not allowed",
    ),
    (("clients", "acme", "floor"), "P0", "clients.acme.floor", "unknown tier 'P0'"),
    (("clients", "acme", "calendar"), "eu", "clients.acme.calendar", "unknown calendar 'eu'"),
    (
        ("clients", "acme", "tiers"),
        {"P8": {"response": "1m"}},
        "clients.acme.tiers.P8",
        "unknown tier",
    ),
    (
        ("clients", "acme", "tiers", "P1", "calendar"),
        "eu",
        "clients.acme.tiers.P1.calendar",
        "unknown calendar",
    ),
    (
        ("clients", "acme", "target_adherence"),
        "198%",
        "clients.acme.target_adherence",
        "not a percentage",
    ),
    (("clients", "acme.example"), {"floor": "P0"}, 'clients["acme.example"].floor', "unknown tier"),
    (("escalations", "P1", 0, "on"), "breech", "escalations.P1[0].on", "'breech' is not a trigger"),
    (
        ("escalations", "P1", 0, "after"),
        "1bd",
        "escalations.P1[0].after",
        "business days are not allowed",
    ),
    (("escalations", "P1", 0, "after"), "soon", "escalations.P1[0].after", "next_business_day"),
    (("escalations", "P1", 0, "at"), "50%", "escalations.P1[0].at", "only at-risk steps"),
    (
        ("escalations", "P1", 0, "actions"),
        ["reassign", "email"],
        "escalations.P1[0].actions[1]",
        "'email' is not an action",
    ),
    (("escalations", "P1", 0, "actions"), [], "escalations.P1[0].actions", "at least one"),
    (
        ("escalations", "P1", 0, "priority"),
        "P2",
        "escalations.P1[0].priority",
        "actions does not include set_priority",
    ),
    (("escalations", "P1", 0, "note"), "{{ ticket.id ", "escalations.P1[0].note", "template error"),
    (("escalations", "P1", 1, "after"), "10m", "escalations.P1[1].after", "remove after"),
    (("escalations", "P9"), [], "escalations.P9", "unknown tier 'P9'"),
    (
        ("escalations", "P3", 0, "name"),
        "account-director",
        "escalations.P3[0].name",
        "duplicate step name",
    ),
    (("connectors", "zd", "api_token"), "s3cret", "connectors.zd.api_token", "api_token_env"),
    (
        ("connectors", "zd", "token_env"),
        "my token",
        "connectors.zd.token_env",
        "not an environment variable name",
    ),
    (("connectors", "zd", "poll_interval"), "1bd", "connectors.zd.poll_interval", "business days"),
    (
        ("connectors", "zd", "resolved_statuses"),
        ["solved", "Hold"],
        "connectors.zd.resolved_statuses[1]",
        "also in paused_statuses",
    ),
    (
        ("connectors", "zd", "priority_map"),
        {"P5": "low"},
        "connectors.zd.priority_map.P5",
        "unknown tier",
    ),
    (("connectors", "zd", "base_url"), "ftp://x", "connectors.zd.base_url", "not an http(s) URL"),
    (
        ("connectors", "zd", "requests_per_minute"),
        0,
        "connectors.zd.requests_per_minute",
        "greater than 0",
    ),
    (("store",), {"url": "mysql://db"}, "store.url", "not a supported store"),
    (("reports",), {"weekly": {"day": "monday"}}, "reports.weekly.day", "'monday' is not allowed"),
    (("reports",), {"weekly": {"at": "25:00"}}, "reports.weekly.at", "not a time of day"),
    (("reports",), {"monthly": {"day": 31}}, "reports.monthly.day", "less than or equal to 28"),
    (
        ("reports",),
        {"recipients": {"acme": {"email": ["nobody"]}}},
        "reports.recipients.acme.email[0]",
        "not an email address",
    ),
    (
        ("notify",),
        {"smtp": {"host": "smtp", "sender": "a@b", "ssl": True}},
        "notify.smtp.ssl",
        "not both",
    ),
    (("notify",), {"slack": {}}, "notify.slack.webhook_env", "required key is missing"),
    (("dashboard",), {"port": 70000}, "dashboard.port", "less than or equal to 65535"),
    (("runtime",), {"dry_run": "maybe"}, "runtime.dry_run", "expected true or false"),
]


@pytest.mark.parametrize(("where", "value", "path", "phrase"), SET_CASES)
def test_invalid_value_names_its_key_path(
    where: tuple[Any, ...], value: Any, path: str, phrase: str
) -> None:
    data = base()
    put(data, where, value)
    error = rejected(data)
    assert error.path == path
    assert phrase in error.problem
    assert str(error).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("where", "path"),
    [
        (("tiers", "P1", "severity"), "tiers.P1.severity"),
        (("tiers", "P2", "calendar"), "tiers.P2.calendar"),
        (("calendars", "uk-office", "timezone"), "calendars.uk-office.timezone"),
        (("escalations", "P1", 1, "at"), "escalations.P1[1].at"),
        (("escalations", "P1", 0, "to"), "escalations.P1[0].to"),
        (("connectors", "zd", "type"), "connectors.zd.type"),
    ],
)
def test_missing_required_key_names_its_path(where: tuple[Any, ...], path: str) -> None:
    data = base()
    drop(data, where)
    error = rejected(data)
    assert error.path == path
    assert "required" in error.problem


def test_messages_are_one_line_without_pydantic_noise() -> None:
    for where, value, _, _ in SET_CASES:
        data = base()
        put(data, where, value)
        message = str(rejected(data))
        assert "\n" not in message
        for noise in ("pydantic", "Value error", "Input should", "validation error", "[type="):
            assert noise not in message, message


def test_several_problems_report_the_first_and_count_the_rest() -> None:
    data = base()
    put(data, ("tiers", "P1", "response"), "soon")
    put(data, ("tiers", "P2", "resolution"), "later")
    error = rejected(data)
    assert error.path == "tiers.P1.response"
    assert error.problem.endswith("(and 1 more problem)")


def test_unknown_top_level_key_lists_the_sections() -> None:
    data = base()
    data["sla"] = {}
    error = rejected(data)
    assert error.path == "sla"
    assert "calendars, tiers, clocks, classification" in error.problem


def test_key_with_spaces_is_quoted_in_the_path() -> None:
    data = base()
    put(data, ("connectors", "zd", "client_map"), {"Acme Corp": None})
    assert rejected(data).path == 'connectors.zd.client_map["Acme Corp"]'


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.yaml")


def test_directory_instead_of_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_yaml_syntax_error_in_file_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("tiers:\n  P1: {severity: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value)
    assert "line 3" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "phrase"), [("", "is empty"), ("- a\n- b\n", "must be a mapping")]
)
def test_empty_or_non_mapping_file_is_rejected(tmp_path: Path, text: str, phrase: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=phrase):
        load_config(path)


def test_invalid_file_on_disk_names_the_key_path(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(BASE.replace("resolution: 3bd", "resolution: 3x"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.path == "tiers.P3.resolution"


def test_format_config_error_prefixes_the_source() -> None:
    error = ConfigError("tiers.P3.resolution", "'3x' is not a duration")
    assert format_config_error(error, "config.yaml") == (
        "config.yaml: tiers.P3.resolution: '3x' is not a duration"
    )


def test_format_config_error_accepts_a_raw_validation_error() -> None:
    data = base()
    put(data, ("tiers", "P3", "resolution"), "3x")
    with pytest.raises(ValidationError) as caught:
        AppConfig.model_validate(data)
    assert format_config_error(caught.value).startswith("tiers.P3.resolution: '3x'")


def test_a_typo_keeps_its_did_you_mean_hint_over_the_missing_key() -> None:
    data = base()
    data["tiers"]["P1"]["reponse"] = data["tiers"]["P1"].pop("response")
    error = rejected(data)
    assert error.path == "tiers.P1.reponse"
    assert "did you mean 'response'?" in str(error)


@pytest.mark.parametrize("speed", [float("inf"), float("nan"), 10**7, "9" * 5000])
def test_an_impossible_clock_speed_is_one_line(speed: Any) -> None:
    data = base()
    data["runtime"] = {
        "clock": {"start": "2026-11-02T00:00:00Z", "anchor": "2026-11-02T00:00:00Z", "speed": speed}
    }
    assert rejected(data).path == "runtime.clock.speed"


def test_a_five_thousand_digit_number_in_the_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE.replace("severity: 1,", f"severity: {'9' * 5000},"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line 8: a number of 5000 characters"):
        load_config(path)


def test_an_unknown_key_inside_a_connector_block_is_an_error_with_a_hint() -> None:
    data = base()
    data["connectors"]["zd"]["subdomian"] = data["connectors"]["zd"].pop("subdomain")
    error = rejected(data)
    assert error.path == "connectors.zd.subdomian"
    assert "did you mean 'subdomain'?" in str(error)
    assert "docs/connectors/zendesk.md" in str(error)


def test_an_unknown_connector_type_is_refused_when_the_file_loads() -> None:
    data = base()
    data["connectors"]["zd"]["type"] = "zendsk"
    error = rejected(data)
    assert error.path == "connectors.zd.type"
    assert "No connector named 'zendsk'; available:" in str(error)
