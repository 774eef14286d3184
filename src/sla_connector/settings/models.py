"""Config models of the SLA policy sections: calendars, tiers, clocks, classification,
clients and escalation ladders (DESIGN sections 4-6, config-reference.yaml).

Each model checks what it can see on its own; references between sections (a rule's tier,
a tier's calendar) are checked once the whole file is read, in ``settings.app``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Literal, cast

import holidays
import jinja2
from pydantic import Field, model_validator

from sla_connector.core.policy import ESCALATION_ACTIONS, STEP_TRIGGERS, StepTrigger
from sla_connector.settings.contracts import ContractConfig, PauseMode
from sla_connector.settings.fields import (
    DaySpec,
    FieldProblem,
    Frozen,
    FrozenMap,
    ListOf,
    OpenInterval,
    Percent,
    RegexText,
    StepAfter,
    Target,
    Text,
    TextList,
    TimeZoneName,
)

__all__ = [
    "CalendarConfig",
    "ClassificationConfig",
    "ClientConfig",
    "ClocksConfig",
    "EscalationStepConfig",
    "HolidaysConfig",
    "RuleConfig",
    "TierConfig",
    "TierOverrideConfig",
]


class HolidaysConfig(Frozen):
    """Closed days: public holidays of a country (``holidays`` package) plus and minus dates."""

    country: str | None = None
    subdivision: str | None = None
    extra: tuple[date, ...] = ()
    remove: tuple[date, ...] = ()

    @model_validator(mode="after")
    def _known_country(self) -> HolidaysConfig:
        if self.subdivision and not self.country:
            raise FieldProblem("country", "required when a subdivision is given")
        if self.country:
            try:
                holidays.country_holidays(self.country, subdiv=self.subdivision, years=2026)
            except NotImplementedError as exc:
                field = "subdivision" if self.subdivision and "subdiv" in str(exc) else "country"
                raise FieldProblem(field, f"not known to the holidays package: {exc}") from None
        return self


class CalendarConfig(Frozen):
    """A business calendar: time zone, weekly local opening hours, holidays; or 24x7."""

    timezone: TimeZoneName | None = None
    hours: FrozenMap[DaySpec, ListOf[OpenInterval]] = Field(default_factory=dict)
    holidays: HolidaysConfig = Field(default_factory=HolidaysConfig)
    always_open: bool = False

    @model_validator(mode="after")
    def _shape(self) -> CalendarConfig:
        if self.always_open and self.hours:
            raise FieldProblem("hours", "cannot be combined with always_open: true")
        if not self.always_open and not self.hours:
            raise FieldProblem("hours", "required unless always_open: true")
        if not self.always_open and self.timezone is None:
            raise FieldProblem(
                "timezone", "required for a calendar with hours (an IANA name, e.g. Europe/London)"
            )
        return self

    def as_mapping(self) -> dict[str, Any]:
        """The plain mapping ``BusinessCalendar.from_config`` reads."""
        return {
            "timezone": self.timezone or "UTC",
            "hours": {spec: list(intervals) for spec, intervals in self.hours.items()},
            "holidays": {
                "country": self.holidays.country,
                "subdivision": self.holidays.subdivision,
                "extra": list(self.holidays.extra),
                "remove": list(self.holidays.remove),
            },
            "always_open": self.always_open,
        }


class TierConfig(Frozen):
    """An SLA tier; severity 1 is the most severe."""

    name: Text | None = None
    severity: int
    response: Target
    resolution: Target
    calendar: Text
    pause: PauseMode = Field(
        default="allowed",
        description="`never`: waiting statuses do not pause this tier's resolution clock "
        "(S33); `allowed`: they do.",
        examples=["never"],
    )
    max_pause: Target | None = Field(
        default=None,
        description="Most pause one resolution cycle may accumulate, in business time of "
        "the tier's calendar; past it the clock runs although the ticket waits (S34).",
        examples=["5bd"],
    )

    @model_validator(mode="after")
    def _pause(self) -> TierConfig:
        if self.pause == "never" and self.max_pause is not None:
            raise FieldProblem("max_pause", "pause: never already keeps the clock running")
        return self


class TierOverrideConfig(Frozen):
    """A client's change to any tier field; unset fields keep the policy's value."""

    name: Text | None = None
    severity: int | None = None
    response: Target | None = None
    resolution: Target | None = None
    calendar: Text | None = None


class ClocksConfig(Frozen):
    """Clock options: what a reopen does to the resolution clock (DESIGN section 4)."""

    reopen: Literal["resume", "new_cycle"] = "resume"


class RuleConfig(Frozen):
    """A classification rule: every condition given must hold; within a list, any entry."""

    name: Text
    tier: Text
    keywords: TextList = ()
    unless: TextList = ()
    regex: ListOf[RegexText] = ()
    fields: ListOf[Literal["subject", "description"]] = (
        "subject",
        "description",
    )
    channel: TextList = ()
    source_priority: TextList = ()
    client_tier: TextList = ()

    @model_validator(mode="after")
    def _has_fields(self) -> RuleConfig:
        if not self.fields:
            raise FieldProblem("fields", "list at least one of subject, description")
        return self


class ClassificationConfig(Frozen):
    """Rules, the fallback tier and whether a human's priority choice wins."""

    default_tier: Text | None = None
    respect_manual_priority: bool = True
    rules: tuple[RuleConfig, ...] = ()

    @model_validator(mode="after")
    def _unique_names(self) -> ClassificationConfig:
        seen: dict[str, int] = {}
        for index, rule in enumerate(self.rules):
            if rule.name in seen:
                raise FieldProblem(
                    ("rules", index, "name"),
                    f"duplicate rule name {rule.name!r} (also rules[{seen[rule.name]}]); "
                    "explain and audit report rules by name",
                )
            seen[rule.name] = index
        return self


class ClientConfig(Frozen):
    """A client's contract: its tier label, floor, promised adherence, overrides, roles."""

    name: Text | None = None
    tier: Text | None = None
    floor: Text | None = None
    default_tier: Text | None = None
    target_adherence: Percent | None = None
    calendar: Text | None = None
    tiers: FrozenMap[str, TierOverrideConfig] = Field(default_factory=dict)
    roles: FrozenMap[str, Text] = Field(default_factory=dict)
    contract: ContractConfig | None = Field(
        default=None,
        description="The client's contract: monthly objectives per tier and clock, service "
        "credits, pause governance and versions in force on dates (semantics S26-S36).",
    )


def _rename_bool_on(data: Any) -> Any:
    """Undo YAML 1.1's reading of a bare ``on:`` key as ``True`` (SEMANTICS S23).

    The config loader already reads ``on`` as a string; this covers mappings that came
    through another YAML loader (``yaml.safe_load``, pydantic-settings' YAML source).
    """
    if isinstance(data, Mapping) and True in data and "on" not in data:
        return {("on" if key is True else key): value for key, value in data.items()}
    return data


class EscalationStepConfig(Frozen):
    """One rung of a tier's ladder (DESIGN section 6)."""

    name: Text
    on: str
    to: Text
    actions: ListOf[str]
    after: StepAfter | None = None
    at: Percent | None = None
    note: str | None = None
    tag: Text | None = None
    priority: Text | None = None

    @model_validator(mode="before")
    @classmethod
    def _on_key(cls, data: Any) -> Any:
        return _rename_bool_on(data)

    @model_validator(mode="after")
    def _consistent(self) -> EscalationStepConfig:
        if self.on not in STEP_TRIGGERS:
            expected = ", ".join(STEP_TRIGGERS)
            raise FieldProblem("on", f"{self.on!r} is not a trigger; expected one of {expected}")
        if not self.actions:
            raise FieldProblem("actions", f"list at least one of {', '.join(ESCALATION_ACTIONS)}")
        for index, action in enumerate(self.actions):
            if action not in ESCALATION_ACTIONS:
                raise FieldProblem(
                    ("actions", index),
                    f"{action!r} is not an action; expected one of {', '.join(ESCALATION_ACTIONS)}",
                )
            if action in self.actions[:index]:
                raise FieldProblem(("actions", index), f"{action!r} is listed twice")
        at_risk = self.on.endswith("_at_risk")
        if at_risk and self.at is None:
            raise FieldProblem("at", f"required for {self.on} (the share of the target, e.g. 75%)")
        if not at_risk and self.at is not None:
            raise FieldProblem("at", f"only at-risk steps take at; {self.on} steps use after")
        if at_risk and self.after is not None:
            raise FieldProblem(
                "after", "at-risk steps are due when elapsed reaches at; remove after"
            )
        for field, action in (("note", "note"), ("tag", "tag"), ("priority", "set_priority")):
            if getattr(self, field) is not None and action not in self.actions:
                raise FieldProblem(field, f"is set but actions does not include {action}")
        if self.note is not None:
            _check_template(self.note)
        return self

    @property
    def trigger(self) -> StepTrigger:
        """``on`` as the core's trigger type (validated above)."""
        return cast(StepTrigger, self.on)


def _check_template(text: str) -> None:
    try:
        jinja2.Environment(autoescape=False).parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise FieldProblem("note", f"template error on line {exc.lineno}: {exc.message}") from None
