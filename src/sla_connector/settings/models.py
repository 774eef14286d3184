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
    EnvVarName,
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
from sla_connector.settings.templates import NoteError, render_note, sample_context

__all__ = [
    "CalendarConfig",
    "ClassificationConfig",
    "ClientConfig",
    "ClocksConfig",
    "EscalationStepConfig",
    "HolidaysConfig",
    "PortalConfig",
    "RuleConfig",
    "TierConfig",
    "TierOverrideConfig",
]


class HolidaysConfig(Frozen):
    """Closed days: public holidays of a country (``holidays`` package) plus and minus dates."""

    country: str | None = Field(
        default=None,
        description="Country code of the `holidays` package (observed days included).",
        examples=["GB"],
    )
    subdivision: str | None = Field(
        default=None,
        description="Region of the country (needs `country`).",
        examples=["ENG"],
    )
    extra: tuple[date, ...] = Field(
        default=(),
        description="More closed dates.",
        examples=['["2026-12-24"]'],
    )
    remove: tuple[date, ...] = Field(
        default=(),
        description="Public holidays the desk works anyway.",
        examples=['["2026-08-31"]'],
    )

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

    timezone: TimeZoneName | None = Field(
        default=None,
        description=(
            "IANA time zone of `hours` and `holidays`; required unless `always_open` (then UTC)."
        ),
        examples=["Europe/London"],
    )
    hours: FrozenMap[DaySpec, ListOf[OpenInterval]] = Field(
        default_factory=dict,
        description=(
            "Weekly opening intervals in local wall-clock time, by day (`mon`..`sun`, ranges "
            "`mon-fri`, lists `sat,sun`, `daily`). Intervals of a day are unioned, may end at "
            "`24:00` and may not cross midnight. Required unless `always_open`."
        ),
        examples=['{mon-fri: ["08:00-18:00"], sat: ["09:00-13:00"]}'],
    )
    holidays: HolidaysConfig = Field(
        default_factory=HolidaysConfig,
        description=(
            "Closed local dates: public holidays plus `extra` minus `remove`. A holiday closes "
            "the whole date."
        ),
    )
    always_open: bool = Field(
        default=False,
        description=("24x7: business time is elapsed time; holidays ignored; `hours` not allowed."),
        examples=["true"],
    )

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

    name: Text | None = Field(
        default=None,
        description="Display name (default: the key).",
        examples=["Critical"],
    )
    severity: int = Field(
        ge=1,
        le=1000,
        description=(
            "1 is the most severe; ties between matching rules go to the rule listed first."
        ),
        examples=["1"],
    )
    response: Target = Field(
        description="Response target, business time of the tier's calendar.",
        examples=["15m"],
    )
    resolution: Target = Field(
        description=(
            "Resolution target; `3bd` is three business days (the same local time N open days "
            "later)."
        ),
        examples=["4h"],
    )
    calendar: Text = Field(
        description="Name of a calendar in `calendars`.",
        examples=["uk-office"],
    )
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

    name: Text | None = Field(
        default=None,
        description="Display name for this client.",
        examples=["Urgent"],
    )
    severity: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Severity for this client.",
        examples=["1"],
    )
    response: Target | None = Field(
        default=None,
        description="Response target for this client.",
        examples=["10m"],
    )
    resolution: Target | None = Field(
        default=None,
        description="Resolution target for this client.",
        examples=["2h"],
    )
    calendar: Text | None = Field(
        default=None,
        description="Calendar for this tier and client.",
        examples=["always"],
    )


class ClocksConfig(Frozen):
    """Clock options: what a reopen does to the resolution clock (DESIGN section 4)."""

    reopen: Literal["resume", "new_cycle"] = Field(
        default="resume",
        description=(
            "`resume`: a reopen resumes the resolution clock, the time spent resolved counting "
            "like a pause; `new_cycle`: a new cycle with the full target starts at the reopen."
        ),
        examples=["new_cycle"],
    )


class RuleConfig(Frozen):
    """A classification rule: every condition given must hold; within a list, any entry."""

    name: Text = Field(
        description="Unique name, shown by `explain` and `audit`.",
        examples=["outage"],
    )
    tier: Text = Field(
        description="Tier this rule gives.",
        examples=["P1"],
    )
    keywords: TextList = Field(
        default=(),
        description=("Words or phrases matched case-insensitively on word boundaries in `fields`."),
        examples=['["down", "all users"]'],
    )
    unless: TextList = Field(
        default=(),
        description="Any match vetoes this rule.",
        examples=['["not down", "test"]'],
    )
    regex: ListOf[RegexText] = Field(
        default=(),
        description=(
            "RE2 regular expressions (linear time; no backreferences or lookaround) "
            "searched case-insensitively in `fields`."
        ),
        examples=['["\\\\b(slow|degraded)\\\\b"]'],
    )
    fields: ListOf[Literal["subject", "description"]] = Field(
        default=(
            "subject",
            "description",
        ),
        description="Where keywords, unless and regex look.",
        examples=["[subject]"],
    )
    channel: TextList = Field(
        default=(),
        description=(
            "Ticket channel: email, phone, portal, chat, monitoring, api (case-insensitive)."
        ),
        examples=["[monitoring]"],
    )
    source_priority: TextList = Field(
        default=(),
        description="The PSA's own priority value (case-insensitive).",
        examples=["[critical, urgent]"],
    )
    client_tier: TextList = Field(
        default=(),
        description="The client's contract tier (`clients.<client>.tier`).",
        examples=["[enterprise]"],
    )

    @model_validator(mode="after")
    def _has_fields(self) -> RuleConfig:
        if not self.fields:
            raise FieldProblem("fields", "list at least one of subject, description")
        return self


class ClassificationConfig(Frozen):
    """Rules, the fallback tier and whether a human's priority choice wins."""

    default_tier: Text | None = Field(
        default=None,
        description=(
            "Tier when no rule matches (a client's `default_tier` wins); if omitted, the least "
            "severe tier."
        ),
        examples=["P3"],
    )
    respect_manual_priority: bool = Field(
        default=True,
        description=(
            "A priority a person sets in the PSA (mapped back through `priority_map`) sets the "
            "tier from that instant, over rules and floor."
        ),
        examples=["false"],
    )
    rules: tuple[RuleConfig, ...] = Field(
        default=(),
        description=(
            "Rules; within a rule every condition given must hold, within one list any entry may "
            "match."
        ),
    )

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


class PortalConfig(Frozen):
    """A client's read-only portal (``/portal/<client>/``) and the credential that opens it."""

    token_env: EnvVarName = Field(
        description=(
            "Variable holding this client's portal token; it opens this client's portal only."
            " `VARIABLE_FILE` works too."
        ),
        examples=["ACME_PORTAL_TOKEN"],
    )


class ClientConfig(Frozen):
    """A client's contract: its tier label, floor, promised adherence, overrides, roles."""

    name: Text | None = Field(
        default=None,
        description="Display name in the dashboard and reports.",
        examples=["ACME Corporation"],
    )
    tier: Text | None = Field(
        default=None,
        description="Contract tier label, matched by rules' `client_tier`.",
        examples=["enterprise"],
    )
    floor: Text | None = Field(
        default=None,
        description="Least severe tier this client's tickets can get.",
        examples=["P2"],
    )
    default_tier: Text | None = Field(
        default=None,
        description="This client's tier when no rule matches.",
        examples=["P3"],
    )
    target_adherence: Percent | None = Field(
        default=None,
        description="Adherence the contract promises, shown against the measured figure.",
        examples=["98%"],
    )
    calendar: Text | None = Field(
        default=None,
        description="Replaces the calendar of every tier that is not `always_open`.",
        examples=["us-east"],
    )
    tiers: FrozenMap[str, TierOverrideConfig] = Field(
        default_factory=dict,
        description="Per-client changes to tiers; unset keys keep the tier's value.",
    )
    roles: FrozenMap[str, Text] = Field(
        default_factory=dict,
        description="Role → person for this client, before the top-level (`roles`, `to`).",
        examples=["{account_director: alex@msp.example}"],
    )
    contract: ContractConfig | None = Field(
        default=None,
        description="The client's contract: monthly objectives per tier and clock, service "
        "credits, pause governance and versions in force on dates (semantics S26-S36).",
    )
    portal: PortalConfig | None = Field(
        default=None,
        description="The client's read-only portal under `/portal/<client>/`.",
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

    name: Text = Field(
        description=(
            "Unique across all ladders: with source, ticket and cycle it is the firing's "
            "idempotency key."
        ),
        examples=["account-director"],
    )
    on: str = Field(
        description=(
            "`response_breach`, `resolution_breach`, `breach` (whichever comes first), "
            "`response_at_risk`, `resolution_at_risk`, `pause_limit_reached` (the cycle used up "
            "its `max_pause`)."
        ),
        examples=["breach"],
    )
    to: Text = Field(
        description=("A role (resolved through the client's `roles`, then `roles`) or a person."),
        examples=["account_director"],
    )
    actions: ListOf[str] = Field(
        description=(
            "Any of `reassign`, `set_priority`, `note`, `tag`, `notify`. Every firing that "
            "writes to the PSA also adds the marker tag `sla-<step>-c<cycle>`; a notify-only "
            "step (`[notify]`) writes nothing to the PSA (its record is the store's ledger)."
        ),
        examples=["[reassign, note, notify]"],
    )
    after: StepAfter | None = Field(
        default=None,
        description=(
            "Breach steps: delay after the trigger in business time of the tier's calendar, or "
            "`next_business_day` (first open instant on a later local date); omitted: at the "
            "trigger."
        ),
        examples=["30m"],
    )
    at: Percent | None = Field(
        default=None,
        description=(
            "At-risk steps (required there): due when elapsed reaches this share of the target."
        ),
        examples=["75%"],
    )
    note: str | None = Field(
        default=None,
        description=(
            "Jinja2 template of the internal note (needs the `note` action); variables: ticket, "
            "step, tier, reason, recipient, due_at, late, lateness, key, cycle."
        ),
        examples=['"SLA breach on {{ ticket.id }}: {{ recipient }}"'],
    )
    tag: Text | None = Field(
        default=None,
        description="Tag to add (needs the `tag` action).",
        examples=["sla-escalated"],
    )
    priority: Text | None = Field(
        default=None,
        description=(
            "Tier to set (needs `set_priority`; default: the tier in force), written through "
            "`priority_map`."
        ),
        examples=["P1"],
    )

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
            _check_template(self.note, self.name)
        return self

    @property
    def trigger(self) -> StepTrigger:
        """``on`` as the core's trigger type (validated above)."""
        return cast(StepTrigger, self.on)


def _check_template(text: str, step: str) -> None:
    """Parse the note, then render it in the sandbox against a sample ticket."""
    try:
        jinja2.Environment(autoescape=False).parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise FieldProblem("note", f"template error on line {exc.lineno}: {exc.message}") from None
    try:
        render_note(text, sample_context(step))
    except NoteError as exc:
        raise FieldProblem(
            "note", f"step {step!r}: the template fails when rendered for a sample ticket: {exc}"
        ) from None
