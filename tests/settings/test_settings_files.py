"""The shipped YAML files load: config.example.yaml (the seed policy), examples/policy.yaml
and tests/fixtures/reference/config-reference.yaml; the example documents every reference key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sla_connector.core.durations import BusinessDays
from sla_connector.core.policy import NEXT_BUSINESS_DAY
from sla_connector.settings import load_config, parse_yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.yaml"
SAMPLE = ROOT / "examples" / "policy.yaml"
REFERENCE = ROOT / "tests" / "fixtures" / "reference" / "config-reference.yaml"

# The seed policy of DESIGN section 1: targets, calendars and the one step of each ladder.
SEED = {
    "P1": (
        "Critical",
        timedelta(minutes=15),
        timedelta(hours=4),
        "always",
        ("account_director", timedelta(minutes=30)),
    ),
    "P2": (
        "High",
        timedelta(hours=1),
        timedelta(hours=8),
        None,
        ("senior_engineer", timedelta(hours=2)),
    ),
    "P3": ("Standard", timedelta(hours=4), BusinessDays(3), None, ("team_lead", NEXT_BUSINESS_DAY)),
}


@pytest.mark.parametrize("path", [EXAMPLE, SAMPLE], ids=["config.example", "examples-policy"])
def test_shipped_policy_is_exactly_the_seed(path: Path) -> None:
    policy = load_config(path).policy
    assert sorted(policy.tiers) == ["P1", "P2", "P3"]
    for key, (name, response, resolution, calendar, (role, after)) in SEED.items():
        tier = policy.tiers[key]
        assert (tier.name, tier.response, tier.resolution) == (name, response, resolution)
        if calendar is not None:
            assert tier.calendar == calendar
        else:
            assert not policy.calendars[tier.calendar].always_open
        (step,) = policy.ladder(key)
        assert (step.on, step.to, step.after) == ("breach", role, after)
    assert policy.calendars["always"].always_open


def test_sample_policy_has_the_two_clients_and_two_connectors() -> None:
    cfg = load_config(SAMPLE)
    policy = cfg.policy
    assert policy.client("acme").tier == "enterprise"
    assert policy.client("acme").floor == "P2"
    assert policy.terms("acme", "P2").calendar.tz.key == "America/New_York"
    assert policy.terms("acme", "P1").tier.calendar == "always"
    assert policy.client("globex").tier == "standard"
    assert policy.terms("globex", "P3").calendar.tz.key == "Europe/London"
    types = {key: connector.type for key, connector in cfg.connectors.items()}
    assert types == {"sim": "simulator", "zd": "zendesk"}


def test_example_client_override_lands_in_the_policy() -> None:
    policy = load_config(EXAMPLE).policy
    assert policy.terms("acme", "P1").tier.response == timedelta(minutes=10)
    assert policy.terms("acme", "P2").tier.calendar == "us-east"
    assert policy.terms("acme", "P1").tier.calendar == "always"


def test_config_reference_loads() -> None:
    cfg = load_config(REFERENCE)
    assert cfg.policy.ladder("P1")[1].at == 0.75
    assert cfg.connectors["cw"].options["boards"] == ["Service Desk"]


def key_paths(node: Any, prefix: str = "") -> set[str]:
    """Every key path of a document, list items collapsed to ``[]``."""
    paths: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            paths.add(path)
            paths |= key_paths(value, path)
    elif isinstance(node, list):
        for item in node:
            paths |= key_paths(item, f"{prefix}[]")
    return paths


def test_example_contains_every_key_of_the_reference() -> None:
    reference = key_paths(parse_yaml(REFERENCE.read_text(encoding="utf-8")))
    example = key_paths(parse_yaml(EXAMPLE.read_text(encoding="utf-8")))
    # The seed policy has no at-risk step, so `at` of a step appears only as a comment; the
    # reference's second P1 step is that at-risk step.
    exempt = {"escalations.P1[].at"}
    assert reference - example - exempt == set()
    assert "# - name: p1-at-risk" in EXAMPLE.read_text(encoding="utf-8")
