"""Config models of client contracts and PSA-tag exclusions (issue 14; SEMANTICS S26-S36).

``clients.<client>.contract`` holds the terms (fee, cap, objectives, chronic failure,
pause governance, tier changes) either directly, as one version always in force, or as
defaults that each entry of ``versions`` (in force from ``start`` to ``until``) may
replace key by key. Shares and money parse to ``Decimal`` exactly as written (``2.5%``
is 0.025, never a binary float). A contract that cannot be computed (a currency without a
fee, a credit without a fee, overlapping versions) is refused with its key path.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import Field, PlainSerializer, PlainValidator, model_validator

from sla_connector.core.contracts import ContractVersion, overlaps
from sla_connector.settings.fields import (
    FieldProblem,
    Frozen,
    FrozenMap,
    Target,
    Text,
    TimeZoneName,
    show_input,
)

__all__ = [
    "BandConfig",
    "ChronicConfig",
    "ContractConfig",
    "ContractTierConfig",
    "CreditConfig",
    "CurrencyCode",
    "ExclusionTagConfig",
    "ExclusionsConfig",
    "Money",
    "ObjectiveConfig",
    "Share",
    "VersionConfig",
]

_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_HUNDRED = Decimal(100)


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"expected {what}, got {show_input(value)}")
    # A YAML float is parsed to its shortest repr first, so 0.1 stays 0.1.
    text = repr(value) if isinstance(value, float) else str(value).strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not {what}") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not {what}")
    return number


def _share(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        number = value
    else:
        text = str(value).strip() if isinstance(value, str) else value
        percent = isinstance(text, str) and text.endswith("%")
        raw = text[:-1] if percent and isinstance(text, str) else text
        number = _decimal(raw, "a percentage such as 2.5%")
        if percent or number > 1:  # a bare 95 means 95%, as for every percentage
            number = number / _HUNDRED
    if number > 1:
        raise ValueError(f"{show_input(value)} is over 100%")
    if number <= 0:
        raise ValueError(f"{show_input(value)} must be more than 0%")
    return number


def _share_text(value: Decimal) -> str:
    text = f"{(value * _HUNDRED).normalize():f}"
    return f"{text}%"


def _money(value: Any) -> Decimal:
    number = _decimal(value, "an amount such as 12000.00")
    if number <= 0:
        raise ValueError(f"{show_input(value)}: an amount must be more than zero")
    return number


def _currency(value: Any) -> str:
    if not isinstance(value, str) or not _CURRENCY_RE.fullmatch(value):
        raise ValueError(f"{show_input(value)} is not an ISO 4217 code such as USD, EUR, GBP")
    return value


Share = Annotated[Decimal, PlainValidator(_share), PlainSerializer(_share_text, return_type=str)]
"""An exact share in (0, 1]: ``2.5%`` (or ``0.025``); over 100% is refused."""

Money = Annotated[Decimal, PlainValidator(_money), PlainSerializer(str, return_type=str)]
"""An exact amount of money, more than zero: ``12000``, ``12000.50``."""

CurrencyCode = Annotated[str, PlainValidator(_currency)]
"""An ISO 4217 currency code in capitals."""

PauseMode = Literal["allowed", "never"]


class BandConfig(Frozen):
    """One band of a banded credit."""

    below: Share = Field(
        description="The band applies when the month's actual is below this.",
        examples=["90%"],
    )
    share: Share = Field(description="Share of the monthly fee the band credits.", examples=["10%"])


class CreditConfig(Frozen):
    """An objective's credit: exactly one of ``fixed``, ``per_point`` and ``bands``."""

    fixed: Share | None = Field(
        default=None,
        description="Share of the monthly fee credited when the objective is missed.",
        examples=["5%"],
    )
    per_point: Share | None = Field(
        default=None,
        description="Share of the fee per percentage point below target, pro rata "
        "(2.5 points at 1% = 2.5%).",
        examples=["1%"],
    )
    max: Share | None = Field(
        default=None,
        description="With `per_point`: the most this objective credits in a month.",
        examples=["10%"],
    )
    bands: tuple[BandConfig, ...] = Field(
        default=(),
        description="Bands of `below` and `share`; of the bands the actual is below, the "
        "highest share applies.",
    )

    @model_validator(mode="after")
    def _one_shape(self) -> CreditConfig:
        given = [
            name
            for name in ("fixed", "per_point", "bands")
            if getattr(self, name) not in (None, ())
        ]
        if len(given) != 1:
            shown = ", ".join(given) if given else "none"
            raise FieldProblem(
                given[-1] if len(given) > 1 else "fixed",
                f"give exactly one of fixed, per_point or bands (given: {shown})",
            )
        if self.max is not None and self.per_point is None:
            raise FieldProblem("max", "only a per_point credit takes max")
        return self


class ObjectiveConfig(Frozen):
    """A monthly target on one clock of one tier (or of every tier)."""

    tier: Text | None = Field(
        default=None,
        description="Tier whose clocks count (the ticket's tier at the evaluation instant); "
        "omitted or `all`: every tier.",
        examples=["P1"],
    )
    clock: Literal["response", "resolution", "both"] = Field(
        description="`response`, `resolution` (every cycle) or `both` (the ticket met both, S22).",
        examples=["resolution"],
    )
    target: Share = Field(
        description="Share of the month's decided clocks that must be met.", examples=["95%"]
    )
    min_volume: int = Field(
        default=1,
        ge=1,
        description="Fewer decided clocks than this in a month: not assessed (no miss, no credit).",
        examples=["10"],
    )
    credit: CreditConfig | None = Field(
        default=None, description="What a miss credits; omitted: the objective is reported only."
    )

    @property
    def tier_key(self) -> str | None:
        """The tier, None for every tier."""
        return None if self.tier in (None, "all") else self.tier


class ChronicConfig(Frozen):
    """Chronic failure: an objective missed in ``missed`` of the last ``months`` months."""

    missed: int = Field(
        ge=1, description="Missed months that make a failure chronic.", examples=["3"]
    )
    months: int = Field(
        ge=1, le=120, description="Months looked back over, this one included.", examples=["6"]
    )

    @model_validator(mode="after")
    def _fits(self) -> ChronicConfig:
        if self.missed > self.months:
            raise FieldProblem("missed", f"{self.missed} is more than months ({self.months})")
        return self


class _Governance(Frozen):
    """Pause governance keys of a contract (S33-S34); unset keys keep the tier's."""

    pause: PauseMode | None = Field(
        default=None,
        description="`never`: waiting statuses do not pause the resolution clock.",
        examples=["never"],
    )
    max_pause: Target | None = Field(
        default=None,
        description="Most pause one resolution cycle may accumulate (business time); past "
        "it the clock runs although the ticket waits.",
        examples=["5bd"],
    )

    @model_validator(mode="after")
    def _pause(self) -> _Governance:
        if self.pause == "never" and self.max_pause is not None:
            raise FieldProblem(
                "max_pause", "pause: never already keeps the clock running; remove one"
            )
        return self


class ContractTierConfig(_Governance):
    """A contract's change to one tier for this client."""

    response: Target | None = Field(
        default=None, description="Response target under this contract.", examples=["10m"]
    )
    resolution: Target | None = Field(
        default=None, description="Resolution target under this contract.", examples=["2h"]
    )


class _Terms(_Governance):
    """The terms a contract version carries; unset keys of a version keep the contract's."""

    fee: Money | None = Field(
        default=None,
        description="Monthly fee credits are shares of (needs `currency`).",
        examples=["12000.00"],
    )
    cap: Share | None = Field(
        default=None,
        description="Monthly cap on the total credit, a share of the fee (default 100%).",
        examples=["20%"],
    )
    objectives: tuple[ObjectiveConfig, ...] | None = Field(
        default=None, description="Objectives assessed per calendar month."
    )
    chronic: ChronicConfig | None = Field(
        default=None, description="When a repeatedly missed objective is flagged as chronic."
    )
    tiers: FrozenMap[str, ContractTierConfig] | None = Field(
        default=None,
        description="Changes to single tiers for this client (they win over the "
        "contract-wide `pause` and `max_pause`).",
    )


class VersionConfig(_Terms):
    """One version of the contract: the terms in force from ``start`` to ``until``."""

    start: date = Field(
        description="First day in force (local date in the contract's time zone).",
        examples=["2026-07-01"],
    )
    until: date | None = Field(
        default=None,
        description="Last day in force (inclusive); omitted: until the next version starts.",
        examples=["2027-06-30"],
    )

    @model_validator(mode="after")
    def _dates(self) -> VersionConfig:
        if self.until is not None and self.until < self.start:
            raise FieldProblem("until", f"{self.until} is before start ({self.start})")
        return self


class ContractConfig(_Terms):
    """A client's contract: currency, month time zone, terms, and versions of the terms."""

    currency: CurrencyCode | None = Field(
        default=None, description="ISO 4217 currency of `fee` and of credits.", examples=["USD"]
    )
    timezone: TimeZoneName | None = Field(
        default=None,
        description="Zone of the contract's calendar months and version dates "
        "(default: `reports.timezone`).",
        examples=["America/New_York"],
    )
    versions: tuple[VersionConfig, ...] = Field(
        default=(),
        description="Versions in force on dates (renewals); each key a version sets replaces "
        "the contract's (`tiers` entries replace per tier). Omitted: the terms above are "
        "always in force.",
    )

    @model_validator(mode="after")
    def _computable(self) -> ContractConfig:
        order = sorted(range(len(self.versions)), key=lambda i: self.versions[i].start)
        for before, after in pairwise(order):
            first, second = self.versions[before], self.versions[after]
            if overlaps(_dates_only(first), _dates_only(second)):
                raise FieldProblem(
                    ("versions", after, "start"),
                    f"{second.start} overlaps versions[{before}] "
                    f"({first.start} to {first.until or 'the next version'}); "
                    "each date may have one version",
                )
        for where, terms in self.effective_terms():
            fee = terms.fee
            if self.currency is not None and fee is None:
                raise FieldProblem(
                    (*where, "fee"),
                    f"required with currency {self.currency}: credits are shares of the "
                    "monthly fee",
                )
            if fee is not None and self.currency is None:
                raise FieldProblem("currency", "required with a fee (an ISO 4217 code, e.g. USD)")
            for index, objective in enumerate(terms.objectives or ()):
                if objective.credit is not None and fee is None:
                    path = (*_objectives_path(self, where), index, "credit")
                    raise FieldProblem(path, "a credit needs the contract's fee and currency")
        return self

    def effective_terms(self) -> list[tuple[tuple[str | int, ...], _Terms]]:
        """(key path relative to the contract, terms with the contract's defaults applied)."""
        if not self.versions:
            return [((), self)]
        merged: list[tuple[tuple[str | int, ...], _Terms]] = []
        for index, version in enumerate(self.versions):
            given = {name: getattr(version, name) for name in _Terms.model_fields}
            defaults = {name: getattr(self, name) for name in _Terms.model_fields}
            values = {name: given[name] if given[name] is not None else defaults[name]
                      for name in given}  # fmt: skip
            if version.tiers is not None and self.tiers is not None:
                values["tiers"] = {**self.tiers, **version.tiers}  # merged per tier
            merged.append((("versions", index), _Terms.model_construct(**values)))
        return merged


def _objectives_path(
    contract: ContractConfig, where: tuple[str | int, ...]
) -> tuple[str | int, ...]:
    """Where a version's effective objectives were written: the version's own or the defaults."""
    if where and contract.versions[int(where[1])].objectives is not None:
        return (*where, "objectives")
    return ("objectives",)


def _dates_only(version: VersionConfig) -> ContractVersion:
    return ContractVersion(start=version.start, end=version.until)


class ExclusionTagConfig(Frozen):
    """What a PSA tag excludes."""

    reason: Text = Field(
        description="Why the clocks of tagged tickets are excluded (shown in reports).",
        examples=["customer-caused"],
    )
    clock: Literal["response", "resolution", "both"] = Field(
        default="both",
        description="Which clock the tag excludes: `response`, `resolution` or `both`.",
        examples=["resolution"],
    )


class ExclusionsConfig(Frozen):
    """Exclusions from contract objectives that come from the PSA."""

    tags: FrozenMap[str, ExclusionTagConfig] = Field(
        default_factory=dict,
        description="PSA tag (Zendesk tag, Jira label; compared case-insensitively) -> what "
        "it excludes. `sla-connector exclude` records exclusions in the store instead.",
    )
