"""``clients.<client>.contract``, tier pause governance and ``exclusions`` in the YAML: what
they build, and one line naming the key path (exit 2) for every contract that cannot work."""

from __future__ import annotations

import copy
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sla_connector.cli import main
from sla_connector.core.credits import Bands, FixedShare, PerPoint
from sla_connector.core.durations import BusinessDays
from sla_connector.core.errors import ConfigError
from sla_connector.settings import config_from_mapping, parse_yaml

BASE = parse_yaml(
    textwrap.dedent(
        """\
        calendars:
          uk-office: {timezone: Europe/London, hours: {mon-fri: ["08:00-18:00"]}}
          always: {always_open: true}
        tiers:
          P1: {severity: 1, response: 15m, resolution: 4h, calendar: always, pause: never}
          P2: {severity: 2, response: 1h, resolution: 8h, calendar: uk-office}
          P3: {severity: 3, response: 4h, resolution: 3bd, calendar: uk-office, max_pause: 5bd}
        reports: {timezone: Europe/London}
        exclusions:
          tags:
            sla-exclude: {reason: customer-caused}
            sla-third-party: {reason: third party, clock: resolution}
        clients:
          acme:
            contract:
              currency: USD
              fee: 12000.50
              cap: 15%
              chronic: {missed: 2, months: 3}
              pause: never
              tiers: {P3: {pause: allowed, max_pause: 2bd}}
              objectives:
                - {tier: P1, clock: response, target: 95%, min_volume: 5, credit: {fixed: 5%}}
                - {tier: all, clock: resolution, target: 0.9, credit: {per_point: 0.7%, max: 10%}}
                - {clock: both, target: 85, credit: {bands: [{below: 85%, share: 2%}]}}
              versions:
                - {start: 2026-01-01, until: 2026-06-30}
                - start: 2026-07-01
                  fee: 13000
                  tiers: {P1: {response: 10m}}
        escalations:
          P3:
            - {name: pause-limit, on: pause_limit_reached, to: team_lead, actions: [notify]}
        """
    )
)


def _with(**changes: Any) -> dict[str, Any]:
    """BASE with ``clients.acme.contract`` keys replaced (``None`` deletes a key)."""
    data = copy.deepcopy(BASE)
    contract = data["clients"]["acme"]["contract"]
    for key, value in changes.items():
        if value is None:
            contract.pop(key, None)
        else:
            contract[key] = value
    return data


def test_a_contract_builds_versions_with_the_contract_defaults_filled_in() -> None:
    policy = config_from_mapping(BASE).policy
    contract = policy.clients["acme"].contract
    assert contract is not None
    assert (contract.currency, contract.timezone) == ("USD", "Europe/London")
    first, second = contract.versions
    assert (first.start, first.end, first.fee, first.cap) == (
        date(2026, 1, 1),
        date(2026, 6, 30),
        Decimal("12000.5"),
        Decimal("0.15"),
    )
    assert second.fee == Decimal("13000") and second.cap == Decimal("0.15")
    assert [o.key for o in second.objectives] == [
        ("P1", "response"),
        ("all", "resolution"),
        ("all", "both"),
    ]
    fixed, per_point, bands = (o.credit for o in first.objectives)
    assert fixed == FixedShare(Decimal("0.05"))
    assert per_point == PerPoint(Decimal("0.007"), Decimal("0.1"))
    assert isinstance(bands, Bands) and bands.bands[0].share == Decimal("0.02")
    assert first.objectives[2].target == Decimal("0.85")
    assert first.pause_allowed is False and set(first.tiers) == {"P3"}
    assert set(second.tiers) == {"P1", "P3"}  # a version's tier entries merge per tier
    assert second.tiers["P1"].response is not None
    assert first.chronic is not None and (first.chronic.missed, first.chronic.months) == (2, 3)


def test_tier_pause_governance_and_contract_precedence_reach_the_terms() -> None:
    policy = config_from_mapping(BASE).policy
    assert policy.tiers["P1"].pause_allowed is False
    assert policy.tiers["P3"].max_pause == BusinessDays(5)
    p3 = policy.terms("acme", "P3", version=0).tier
    assert (p3.pause_allowed, p3.max_pause) == (True, BusinessDays(2))
    p2 = policy.terms("acme", "P2", version=0).tier
    assert p2.pause_allowed is False  # contract-wide pause: never
    assert policy.terms("globex", "P2").tier.pause_allowed is True


def test_exclusion_tags_and_the_pause_limit_trigger_are_read() -> None:
    policy = config_from_mapping(BASE).policy
    assert [(t.tag, t.reason, t.clocks) for t in policy.exclusion_tags] == [
        ("sla-exclude", "customer-caused", ("response", "resolution")),
        ("sla-third-party", "third party", ("resolution",)),
    ]
    (step,) = policy.ladder("P3")
    assert (step.on, step.clock) == ("pause_limit_reached", "resolution")


def test_a_contract_without_versions_is_always_in_force() -> None:
    policy = config_from_mapping(_with(versions=None)).policy
    contract = policy.clients["acme"].contract
    assert contract is not None and len(contract.versions) == 1
    assert contract.version_at(0) == 0


def _message(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping(data)
    text = str(caught.value)
    assert "\n" not in text and "Traceback" not in text
    return text


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {
                "objectives": [
                    {"tier": "P9", "clock": "response", "target": "95%", "credit": {"fixed": "5%"}}
                ]
            },
            "clients.acme.contract.objectives[0].tier: unknown tier 'P9'",
        ),
        (
            {"versions": [{"start": "2026-01-01", "until": "2026-12-31"}, {"start": "2026-07-01"}]},
            "clients.acme.contract.versions[1].start: 2026-07-01 overlaps versions[0] "
            "(2026-01-01 to 2026-12-31)",
        ),
        (
            {"versions": [{"start": "2026-03-01"}, {"start": "2026-03-01"}]},
            "clients.acme.contract.versions[1].start: 2026-03-01 overlaps versions[0]",
        ),
        ({"cap": "120%"}, "clients.acme.contract.cap: '120%' is over 100%"),
        (
            {"fee": None, "versions": None},
            "clients.acme.contract.fee: required with currency USD",
        ),
        (
            {
                "versions": [{"start": "2026-01-01", "fee": 10}, {"start": "2026-07-01"}],
                "fee": None,
            },
            "clients.acme.contract.versions[1].fee: required with currency USD",
        ),
        (
            {"currency": None, "versions": None},
            "clients.acme.contract.currency: required with a fee",
        ),
        ({"currency": "usd"}, "clients.acme.contract.currency: 'usd' is not an ISO 4217 code"),
        (
            {
                "objectives": [
                    {
                        "clock": "response",
                        "target": "95%",
                        "credit": {"fixed": "5%", "per_point": "1%"},
                    }
                ]
            },
            "clients.acme.contract.objectives[0].credit.per_point: give exactly one of fixed, "
            "per_point or bands",
        ),
        (
            {"chronic": {"missed": 4, "months": 3}},
            "clients.acme.contract.chronic.missed: 4 is more than months (3)",
        ),
        (
            {"pause": "never", "max_pause": "5bd"},
            "clients.acme.contract.max_pause: pause: never already keeps the clock running",
        ),
        (
            {"versions": [{"start": "2026-01-01", "until": "2025-12-31"}]},
            "clients.acme.contract.versions[0].until: 2025-12-31 is before start",
        ),
        ({"fee": "twelve"}, "clients.acme.contract.fee: 'twelve' is not an amount"),
        (
            {"tiers": {"P7": {"pause": "never"}}},
            "clients.acme.contract.tiers.P7: unknown tier 'P7'",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_contract_that_cannot_work_names_its_key(changes: dict[str, Any], expected: str) -> None:
    assert _message(_with(**changes)).startswith(expected)


def test_a_credit_without_a_fee_or_currency_is_refused_at_the_credit() -> None:
    data = _with(fee=None, currency=None, versions=None)
    assert _message(data).startswith(
        "clients.acme.contract.objectives[0].credit: a credit needs the contract's fee"
    )


def test_a_tier_cannot_both_never_pause_and_limit_pauses() -> None:
    data = copy.deepcopy(BASE)
    data["tiers"]["P1"]["max_pause"] = "1h"
    assert _message(data).startswith("tiers.P1.max_pause: pause: never already keeps")


def test_bad_contract_config_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(__file__).resolve().parents[2]
    text = (root / "examples" / "policy.yaml").read_text().replace("cap: 15%", "cap: 150%")
    broken = tmp_path / "policy.yaml"
    broken.write_text(text)
    tickets = tmp_path / "tickets.jsonl"
    tickets.write_text("")
    code = main(["audit", "-c", str(broken), "--tickets", str(tickets), "--no-store"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [
        "sla-connector: configuration error: clients.acme.contract.cap: '150%' is over 100%"
    ]
