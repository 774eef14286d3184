"""Reusable field types for the configuration models: durations, percentages, names, maps.

Each type validates one value on its own and raises ``ValueError`` with a readable reason;
the model layer turns pydantic's error locations into key paths (``settings.errors``).
Parsed values are the core's domain values (``timedelta``, ``BusinessDays``, fractions),
so building the ``Policy`` needs no second parse. Durations and percentages serialize back
to the text the YAML uses, so ``model_dump`` output loads again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time, timedelta
from types import MappingProxyType
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    SerializerFunctionWrapHandler,
    WrapSerializer,
)

from sla_connector.core.calendars import parse_day_spec, parse_interval
from sla_connector.core.durations import (
    BusinessDays,
    Duration,
    duration_text,
    parse_duration,
    parse_percent,
)
from sla_connector.core.patterns import pattern_problem
from sla_connector.core.policy import NEXT_BUSINESS_DAY

__all__ = [
    "DaySpec",
    "EnvVarName",
    "FieldProblem",
    "Frozen",
    "FrozenMap",
    "Interval",
    "ListOf",
    "OpenInterval",
    "Percent",
    "Port",
    "RegexText",
    "StepAfter",
    "Target",
    "Text",
    "TextList",
    "TimeOfDay",
    "TimeZoneName",
    "duration_text",
    "show_input",
]

K = TypeVar("K")
V = TypeVar("V")
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TIME_OF_DAY_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


class FieldProblem(ValueError):
    """A model-level check that names the field at fault, relative to the model.

    Raised from a model validator, pydantic would report the model's own location; the
    error formatter appends ``field`` so the path points at the offending key.
    """

    def __init__(self, field: str | tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.field: tuple[str | int, ...] = (field,) if isinstance(field, str) else field


class Frozen(BaseModel):
    """Base of every config section: immutable, unknown keys rejected, ids may be numbers."""

    # PSA ids (Zendesk user and organization ids, priority ids) are often written as bare
    # numbers; they are names here, so numbers become text instead of failing.
    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)


def _freeze(mapping: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(dict(mapping))


def _thaw(mapping: Mapping[Any, Any], handler: SerializerFunctionWrapHandler) -> Any:
    return handler(dict(mapping))


FrozenMap = Annotated[Mapping[K, V], AfterValidator(_freeze), WrapSerializer(_thaw)]
"""A mapping that cannot be changed after validation (a read-only view of a private dict)."""


def _as_list(value: Any) -> Any:
    """Accept one string where a list is expected; ``null`` is an empty list."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return value


def _non_empty(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text


Text = Annotated[str, AfterValidator(_non_empty)]
"""A non-blank string."""

ListOf = Annotated[tuple[V, ...], BeforeValidator(_as_list)]
"""A list stored as a tuple; a single string is a list of one, ``null`` an empty list."""

TextList = ListOf[Text]
"""A list of non-blank strings."""


def show_input(value: Any) -> str:
    """A short rendering of an input for messages: scalars as written, containers by kind."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text_input(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected {what}, got {show_input(value)}")
    return str(value)


def _target(value: Any) -> Duration:
    if isinstance(value, timedelta | BusinessDays):
        parsed: Duration = value
    else:
        parsed = parse_duration(_text_input(value, "a duration such as 15m, 4h or 3bd"))
    if isinstance(parsed, timedelta) and parsed <= timedelta(0):
        raise ValueError(f"{value!r}: a target must be longer than zero")
    return parsed


def _interval(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        parsed = value
    else:
        text = _text_input(value, "a duration such as 60s or 5m")
        result = parse_duration(text, allow_business_days=False)
        assert isinstance(result, timedelta)  # business days were refused above
        parsed = result
    if parsed <= timedelta(0):
        raise ValueError(f"{value!r}: an interval must be longer than zero")
    return parsed


def _step_after(value: Any) -> timedelta | str:
    if isinstance(value, timedelta):
        return value
    text = _text_input(value, f"a duration such as 30m or {NEXT_BUSINESS_DAY}")
    if text.strip().lower() == NEXT_BUSINESS_DAY:
        return NEXT_BUSINESS_DAY
    try:
        result = parse_duration(text, allow_business_days=False)
    except ValueError as exc:
        raise ValueError(f"{exc}; or write {NEXT_BUSINESS_DAY}") from None
    assert isinstance(result, timedelta)
    return result


def _step_after_text(value: timedelta | str) -> str:
    return value if isinstance(value, str) else duration_text(value)


def _percent(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected a percentage such as 75%, got {show_input(value)}")
    return parse_percent(value)


def _percent_text(value: float) -> str:
    return f"{value * 100:g}%"


Target = Annotated[
    Duration, PlainValidator(_target), PlainSerializer(duration_text, return_type=str)
]
"""A response or resolution target: ``15m``, ``1h30m``, ``3bd``; longer than zero."""

Interval = Annotated[
    timedelta, PlainValidator(_interval), PlainSerializer(duration_text, return_type=str)
]
"""A wall-clock period such as a poll interval: ``60s``, ``5m``; no business days."""

StepAfter = Annotated[
    timedelta | str, PlainValidator(_step_after), PlainSerializer(_step_after_text, return_type=str)
]
"""An escalation offset: a duration (zero allowed, no ``bd``) or ``next_business_day``."""

Percent = Annotated[
    float, PlainValidator(_percent), PlainSerializer(_percent_text, return_type=str)
]
"""A fraction in (0, 1] written ``75%`` (or ``0.75``)."""


def _env_name(value: str) -> str:
    if not _ENV_NAME_RE.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an environment variable name; the YAML names the variable "
            "that holds the secret (e.g. ZENDESK_API_TOKEN), never the secret itself"
        )
    return value


EnvVarName = Annotated[str, AfterValidator(_env_name)]
"""The name of an environment variable that holds a secret (keys ending in ``_env``)."""


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name such as Europe/London"
        ) from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_time_zone)]
"""An IANA time zone name."""


def _open_interval(value: str) -> str:
    parse_interval(value)
    return value


OpenInterval = Annotated[str, AfterValidator(_open_interval)]
"""A local opening interval ``HH:MM-HH:MM`` (may end at 24:00, may not cross midnight)."""


def _day_spec(value: str) -> str:
    parse_day_spec(value)
    return value


DaySpec = Annotated[str, AfterValidator(_day_spec)]
"""A day or day range: ``mon``, ``mon-fri``, ``sat,sun``, ``daily``."""


def _regex(value: str) -> str:
    problem = pattern_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


RegexText = Annotated[str, AfterValidator(_regex)]
"""A regular expression that RE2, the linear-time engine classification uses, compiles."""


def _time_of_day(value: Any) -> time:
    if isinstance(value, time):
        return value
    text = _text_input(value, 'a time of day such as "08:00"')
    match = _TIME_OF_DAY_RE.fullmatch(text.strip())
    if match:
        hours, minutes, seconds = (int(group or 0) for group in match.groups())
        if hours < 24 and minutes < 60 and seconds < 60:
            return time(hours, minutes, seconds)
    raise ValueError(f"{text!r} is not a time of day (HH:MM, 00:00-23:59)")


def _time_text(value: time) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


TimeOfDay = Annotated[
    time, PlainValidator(_time_of_day), PlainSerializer(_time_text, return_type=str)
]
"""A local wall-clock time ``HH:MM``."""

Port = Annotated[int, Field(ge=1, le=65535)]
"""A TCP port number."""
