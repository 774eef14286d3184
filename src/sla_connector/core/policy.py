"""The SLA policy as immutable domain values: tiers, rules, clients, ladders, status sets.

The YAML loader (``sla_connector.settings``) validates the file and builds a ``Policy``;
everything downstream (classification, clocks, escalation, reports) reads only these
values. ``Policy.terms`` resolves what a tier means for one client: per-client overrides
and the calendar replacement rules of DESIGN section 5 and SEMANTICS S16, then the
changes of the client's contract version in force (targets, pause governance, S26).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Literal, get_args

from sla_connector.core.calendars import BusinessCalendar
from sla_connector.core.contracts import Contract
from sla_connector.core.durations import Duration
from sla_connector.core.errors import ConfigError
from sla_connector.core.exclusions import ExclusionTag
from sla_connector.core.patterns import Pattern, compile_pattern

__all__ = [
    "ESCALATION_ACTIONS",
    "NEXT_BUSINESS_DAY",
    "PAUSE_LIMIT_REACHED",
    "STEP_TRIGGERS",
    "Client",
    "EscalationStep",
    "Policy",
    "Rule",
    "StatusSets",
    "TermsOf",
    "Tier",
    "TierOverride",
    "TierTerms",
]

ReopenMode = Literal["resume", "new_cycle"]
StepTrigger = Literal[
    "response_breach",
    "resolution_breach",
    "breach",
    "response_at_risk",
    "resolution_at_risk",
    "pause_limit_reached",
]
STEP_TRIGGERS: tuple[str, ...] = get_args(StepTrigger)
PAUSE_LIMIT_REACHED = "pause_limit_reached"
ESCALATION_ACTIONS: tuple[str, ...] = ("reassign", "set_priority", "note", "tag", "notify")
NEXT_BUSINESS_DAY = "next_business_day"
RULE_FIELDS: tuple[str, ...] = ("subject", "description")


@dataclass(frozen=True, slots=True)
class Tier:
    """One SLA tier: targets in business time of its calendar, and its pause governance.

    ``pause_allowed`` False (``pause: never``) keeps the resolution clock running through
    waiting statuses; ``max_pause`` bounds the pause one cycle may accumulate (S33-S34).
    """

    key: str
    name: str
    severity: int
    response: Duration
    resolution: Duration
    calendar: str
    pause_allowed: bool = True
    max_pause: Duration | None = None

    def target(self, kind: str) -> Duration:
        """The configured target of a clock kind: ``response``, else the resolution."""
        return self.response if kind == "response" else self.resolution


@dataclass(frozen=True, slots=True)
class TierOverride:
    """A client's changes to a tier; ``None`` keeps the policy's value."""

    name: str | None = None
    severity: int | None = None
    response: Duration | None = None
    resolution: Duration | None = None
    calendar: str | None = None


@dataclass(frozen=True, slots=True)
class TierTerms:
    """What a tier means for one client: targets and the calendar object to measure them."""

    tier: Tier
    calendar: BusinessCalendar

    @property
    def key(self) -> str:
        return self.tier.key


def _phrase_pattern(phrase: str) -> str:
    words = phrase.split()
    return r"(?<!\w)" + r"\s+".join(re.escape(word) for word in words) + r"(?!\w)"


@dataclass(frozen=True, slots=True)
class Rule:
    """A classification rule (DESIGN section 5): every given condition must hold."""

    name: str
    tier: str
    keywords: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    fields: tuple[str, ...] = RULE_FIELDS
    channel: tuple[str, ...] = ()
    source_priority: tuple[str, ...] = ()
    client_tier: tuple[str, ...] = ()
    keyword_re: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    unless_re: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    regex_res: tuple[Pattern, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def build(
        cls,
        name: str,
        tier: str,
        *,
        keywords: tuple[str, ...] = (),
        unless: tuple[str, ...] = (),
        regex: tuple[str, ...] = (),
        fields: tuple[str, ...] = RULE_FIELDS,
        channel: tuple[str, ...] = (),
        source_priority: tuple[str, ...] = (),
        client_tier: tuple[str, ...] = (),
    ) -> Rule:
        """Compile the rule's patterns; a bad regex raises ``ConfigError`` naming its index.

        User regexes go to RE2 (``core.patterns``); keywords stay on ``re``: they are
        escaped literals joined by ``\\s+``, which cannot backtrack badly.
        """
        compiled = [
            compile_pattern(pattern, f"regex[{index}]") for index, pattern in enumerate(regex)
        ]

        def alternation(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
            usable = [_phrase_pattern(p) for p in phrases if p.strip()]
            return re.compile("|".join(usable), re.IGNORECASE) if usable else None

        return cls(
            name=name,
            tier=tier,
            keywords=keywords,
            unless=unless,
            regex=regex,
            fields=fields,
            channel=tuple(c.lower() for c in channel),
            source_priority=tuple(p.lower() for p in source_priority),
            client_tier=tuple(t.lower() for t in client_tier),
            keyword_re=alternation(keywords),
            unless_re=alternation(unless),
            regex_res=tuple(compiled),
        )


@dataclass(frozen=True, slots=True)
class Client:
    """A client: its tier, floor, adherence promise, overrides, roles and contract."""

    key: str
    tier: str | None = None
    floor: str | None = None
    default_tier: str | None = None
    target_adherence: float | None = None
    calendar: str | None = None
    tiers: Mapping[str, TierOverride] = field(default_factory=dict)
    roles: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None
    contract: Contract | None = None


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """One rung of a tier's ladder (DESIGN section 6)."""

    name: str
    on: StepTrigger
    to: str
    actions: tuple[str, ...]
    after: timedelta | str | None = None
    at: float | None = None
    note: str | None = None
    tag: str | None = None
    priority: str | None = None

    @property
    def clock(self) -> Literal["response", "resolution", "any"]:
        if self.on.startswith("response"):
            return "response"
        if self.on.startswith("resolution") or self.on == PAUSE_LIMIT_REACHED:
            return "resolution"
        return "any"

    @property
    def at_risk(self) -> bool:
        return self.on.endswith("_at_risk")


@dataclass(frozen=True, slots=True)
class StatusSets:
    """A connector's status names for the clock rules, compared case-insensitively."""

    responded: frozenset[str] = frozenset()
    paused: frozenset[str] = frozenset()
    resolved: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        responded: tuple[str, ...] = (),
        paused: tuple[str, ...] = (),
        resolved: tuple[str, ...] = (),
    ) -> StatusSets:
        def fold(names: tuple[str, ...]) -> frozenset[str]:
            return frozenset(name.casefold() for name in names)

        return cls(fold(responded), fold(paused), fold(resolved))


_DEFAULT_CLIENT = Client(key="")
TermsOf = Callable[[str], "TierTerms"]
"""What a tier means for one ticket: tier key -> terms (client and contract version fixed)."""


@dataclass(frozen=True)
class Policy:
    """The whole SLA policy. Build it through ``sla_connector.settings`` or directly in tests."""

    calendars: Mapping[str, BusinessCalendar]
    tiers: Mapping[str, Tier]
    default_tier: str
    rules: tuple[Rule, ...] = ()
    clients: Mapping[str, Client] = field(default_factory=dict)
    roles: Mapping[str, str] = field(default_factory=dict)
    escalations: Mapping[str, tuple[EscalationStep, ...]] = field(default_factory=dict)
    sources: Mapping[str, StatusSets] = field(default_factory=dict)
    reopen: ReopenMode = "resume"
    respect_manual_priority: bool = True
    exclusion_tags: tuple[ExclusionTag, ...] = ()
    # Caches, fresh in every instance (``dataclasses.replace`` included).
    _terms: dict[tuple[str, str, int | None], TierTerms] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    _terms_of: dict[tuple[str, int | None], TermsOf] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        self._validate()

    def client(self, key: str) -> Client:
        """The client's contract, or the global defaults for an unknown client (S16)."""
        return self.clients.get(key) or _DEFAULT_CLIENT

    def severity(self, tier_key: str) -> int:
        return self.tiers[tier_key].severity

    def terms(self, client_key: str, tier_key: str, version: int | None = None) -> TierTerms:
        """The tier as it applies to one client (under a contract version when given), cached."""
        cache_key = (client_key, tier_key, version)
        cached = self._terms.get(cache_key)
        if cached is not None:
            return cached
        tier = self.tiers[tier_key]
        client = self.client(client_key)
        override = client.tiers.get(tier_key)
        calendar_name = tier.calendar
        if client.calendar and not self.calendars[tier.calendar].always_open:
            calendar_name = client.calendar
        if override is not None:
            tier = replace(
                tier,
                name=override.name or tier.name,
                severity=override.severity if override.severity is not None else tier.severity,
                response=override.response or tier.response,
                resolution=override.resolution or tier.resolution,
            )
            calendar_name = override.calendar or calendar_name
        tier = replace(tier, calendar=calendar_name)
        if version is not None and client.contract is not None:
            tier = _under_contract(tier, client.contract, version)
        terms = TierTerms(tier=tier, calendar=self.calendars[calendar_name])
        self._terms[cache_key] = terms
        return terms

    def contract_version(self, client_key: str, instant_us: int) -> int | None:
        """The client's contract version in force at an instant (a ticket's creation, S26)."""
        contract = self.client(client_key).contract
        return None if contract is None else contract.version_at(instant_us)

    def terms_of(self, client_key: str, version: int | None = None) -> TermsOf:
        """``terms`` with the client and version fixed: what the clocks of one ticket use.

        The lookup is one dict access per call, kept per (client, version) (hot path).
        """
        found = self._terms_of.get((client_key, version))
        if found is None:
            found = self._terms_of[(client_key, version)] = _TermsMap(
                lambda tier_key: self.terms(client_key, tier_key, version)
            ).__getitem__
        return found

    def recipient(self, client_key: str, role: str) -> str:
        """The person behind a role: the client's roles, then the policy's, else the role (S20)."""
        return self.client(client_key).roles.get(role) or self.roles.get(role) or role

    def ladder(self, tier_key: str) -> tuple[EscalationStep, ...]:
        return self.escalations.get(tier_key, ())

    def _validate(self) -> None:
        def need_tier(path: str, key: str | None) -> None:
            if key is not None and key not in self.tiers:
                raise ConfigError(
                    path, f"unknown tier {key!r}; defined tiers: {sorted(self.tiers)}"
                )

        def need_calendar(path: str, name: str | None) -> None:
            if name is not None and name not in self.calendars:
                raise ConfigError(
                    path, f"unknown calendar {name!r}; defined calendars: {sorted(self.calendars)}"
                )

        if not self.tiers:
            raise ConfigError("tiers", "define at least one tier")
        for key, tier in self.tiers.items():
            need_calendar(f"tiers.{key}.calendar", tier.calendar)
        need_tier("classification.default_tier", self.default_tier)
        for index, rule in enumerate(self.rules):
            need_tier(f"classification.rules[{index}].tier", rule.tier)
        for key, client in self.clients.items():
            need_tier(f"clients.{key}.floor", client.floor)
            need_tier(f"clients.{key}.default_tier", client.default_tier)
            need_calendar(f"clients.{key}.calendar", client.calendar)
            for tier_key, override in client.tiers.items():
                need_tier(f"clients.{key}.tiers", tier_key)
                need_calendar(f"clients.{key}.tiers.{tier_key}.calendar", override.calendar)
            if client.contract is not None:
                for index, version in enumerate(client.contract.versions):
                    where = f"clients.{key}.contract.versions[{index}]"
                    for tier_key in version.tiers:
                        need_tier(f"{where}.tiers", tier_key)
                    for number, objective in enumerate(version.objectives):
                        need_tier(f"{where}.objectives[{number}].tier", objective.tier)
        for tier_key, steps in self.escalations.items():
            need_tier(f"escalations.{tier_key}", tier_key)
            for index, step in enumerate(steps):
                need_tier(f"escalations.{tier_key}[{index}].priority", step.priority)


class _TermsMap(dict[str, TierTerms]):
    """Tier key -> terms, filled on first use by ``resolve``."""

    def __init__(self, resolve: TermsOf) -> None:
        super().__init__()
        self.resolve = resolve

    def __missing__(self, tier_key: str) -> TierTerms:
        terms = self[tier_key] = self.resolve(tier_key)
        return terms


def _under_contract(tier: Tier, contract: Contract, version: int) -> Tier:
    """A tier with a contract version's changes: the version's tier entry wins over the
    version-wide pause keys, which win over the tier's own (S26, S33-S34)."""
    terms = contract.versions[version]
    own = terms.tiers.get(tier.key)
    pause_allowed = tier.pause_allowed if terms.pause_allowed is None else terms.pause_allowed
    max_pause = terms.max_pause or tier.max_pause
    if own is not None:
        pause_allowed = pause_allowed if own.pause_allowed is None else own.pause_allowed
        max_pause = own.max_pause or max_pause
    return replace(
        tier,
        response=(own.response if own and own.response else tier.response),
        resolution=(own.resolution if own and own.resolution else tier.resolution),
        pause_allowed=pause_allowed,
        max_pause=max_pause,
    )
