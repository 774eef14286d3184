"""The YAML reader: YAML 1.2-style scalars, the `on:` key (S23), duplicates, syntax errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from sla_connector.core.errors import ConfigError
from sla_connector.settings import config_from_mapping, load_config, parse_yaml

POLICY = textwrap.dedent(
    """\
    calendars:
      always: {always_open: true}
    tiers:
      P1: {name: Critical, severity: 1, response: 15m, resolution: 4h, calendar: always}
    escalations:
      P1:
        - name: account-director
          on: breach
          after: 30m
          to: account_director
          actions: [reassign, notify]
        - {name: p1-at-risk, on: resolution_at_risk, at: 75%, to: team_lead, actions: [notify]}
    """
)


def test_s23_on_key_is_a_string(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    config = load_config(path)
    steps = config.policy.ladder("P1")
    assert [step.on for step in steps] == ["breach", "resolution_at_risk"]
    assert parse_yaml("on: breach") == {"on": "breach"}


def test_s23_on_key_read_as_true_by_another_loader_is_still_accepted() -> None:
    data = yaml.safe_load(POLICY)  # plain PyYAML: the key arrives as True
    assert True in data["escalations"]["P1"][0]
    config = config_from_mapping(data)
    assert config.policy.ladder("P1")[0].on == "breach"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("country: NO", {"country": "NO"}),  # Norway, not false
        ("answer: yes", {"answer": "yes"}),
        ("switch: off", {"switch": "off"}),
        ("flag: true", {"flag": True}),
        ("flag: False", {"flag": False}),
        ("at: 18:00", {"at": "18:00"}),  # not the base-60 number 1080
        ("company_id: 0123", {"company_id": "0123"}),  # an id keeps its leading zero
        ("port: 587", {"port": 587}),
        ("ratio: 0.75", {"ratio": 0.75}),
        ("hex: 0x1F", {"hex": 31}),
    ],
)
def test_scalars_resolve_as_yaml_1_2(text: str, expected: dict[str, object]) -> None:
    assert parse_yaml(text) == expected


def test_yaml_reports_time_of_day_unquoted_as_text_so_reports_accept_it() -> None:
    data = parse_yaml(POLICY + "reports:\n  weekly: {day: mon, at: 18:00}\n")
    config = config_from_mapping(data)
    assert config.reports.weekly.at.hour == 18


def test_duplicate_key_is_an_error_naming_its_path() -> None:
    text = "tiers:\n  P1: {severity: 1}\n  P2: {severity: 2}\n  P1: {severity: 3}\n"
    with pytest.raises(ConfigError) as caught:
        parse_yaml(text)
    assert caught.value.path == "tiers.P1"
    assert "line 2 and line 4" in caught.value.problem


def test_duplicate_key_inside_a_list_item_names_the_index() -> None:
    text = "escalations:\n  P1:\n    - {name: a, to: x, to: y}\n"
    with pytest.raises(ConfigError) as caught:
        parse_yaml(text)
    assert caught.value.path == "escalations.P1[0].to"


def test_merge_keys_are_not_duplicates() -> None:
    text = "base: &b {severity: 1, name: x}\ntier:\n  <<: *b\n  name: y\n"
    assert parse_yaml(text)["tier"] == {"severity": 1, "name": "y"}


def test_yaml_syntax_error_is_a_config_error_with_line_and_column() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_yaml("tiers:\n  P1: [15m, 4h\n", source="policy.yaml")
    message = str(caught.value)
    assert message.startswith("policy.yaml, line 3")
    assert "invalid YAML" in message
    assert "\n" not in message


def test_python_tags_are_refused() -> None:
    with pytest.raises(ConfigError, match="could not determine a constructor"):
        parse_yaml("x: !!python/object/apply:os.system ['true']")


def test_empty_document_is_none() -> None:
    assert parse_yaml("# only a comment\n") is None


BOMB = textwrap.dedent(
    """\
    a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]
    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
    f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
    g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
    h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
    connectors: {zd: {type: zendesk, vendor: *h}}
    """
)


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB, encoding="utf-8")
    with pytest.raises(ConfigError, match="aliases expand to more than 100000 values"):
        load_config(path)


def test_small_aliases_still_work() -> None:
    assert parse_yaml("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}


@pytest.mark.parametrize(
    "text",
    [
        "[" * 2000 + "]" * 2000,
        "a:\n"
        + "".join("  " * depth + f"k{depth}:\n" for depth in range(1, 60))
        + "  " * 60
        + "v: 1\n",
    ],
)
def test_deep_nesting_is_one_clear_error(text: str) -> None:
    with pytest.raises(ConfigError, match="nesting too deep"):
        parse_yaml(text, "deep.yaml")


def test_an_oversized_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("# padding\n" * 200_000, encoding="utf-8")
    with pytest.raises(ConfigError, match="a configuration is at most"):
        load_config(path)
