"""Turn pydantic validation errors into one-line ``ConfigError``s that name the key path.

An operator reads ``tiers.P3.resolution: '3x' is not a duration; write e.g. 15m, 1h30m,
90s, 2d or 3bd`` — no pydantic class names, URLs or "Value error," prefixes. Only the
first problem is reported in full (an unknown key with a "did you mean" hint first, since a
typo also makes the intended key "missing"); the count of the others follows it.
"""

from __future__ import annotations

import difflib
import os
import re
import types
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from sla_connector.core.errors import ConfigError
from sla_connector.settings.app import AppConfig
from sla_connector.settings.fields import FieldProblem, show_input
from sla_connector.settings.paths import format_path

__all__ = ["config_error_from_validation", "format_config_error"]

# Location parts pydantic adds for its own schema steps rather than for user keys.
_SCHEMA_TAG_RE = re.compile(r"(?:function-\w+|union|tagged-union|nullable|lax-or-strict)\[.*\]")
_KEY_TAG = "[key]"
_TYPE_WORDS = {
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list",
    "tuple_type": "a list",
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}


def config_error_from_validation(exc: ValidationError, root: type[BaseModel]) -> ConfigError:
    """The first problem of ``exc`` as a ``ConfigError``; ``root`` is the validated model."""
    problems = [_describe(error, root) for error in exc.errors()]
    if not problems:
        return ConfigError("", "invalid configuration")
    # A typo ("reponse:") shows as a missing key plus an unknown one; the hint is the news.
    problems.sort(key=lambda item: "did you mean" not in item[1])
    path, problem = problems[0]
    others = len(problems) - 1
    if others:
        problem += f" (and {others} more problem{'s' if others > 1 else ''})"
    return ConfigError(path, problem)


def format_config_error(
    exc: ConfigError | ValidationError, source: str | os.PathLike[str] | None = None
) -> str:
    """One line for the operator: ``config.yaml: tiers.P3.resolution: <problem>``."""
    if isinstance(exc, ValidationError):
        exc = config_error_from_validation(exc, AppConfig)
    text = " ".join(str(exc).split())
    return f"{os.fspath(source)}: {text}" if source is not None else text


def _describe(error: ErrorDetails, root: type[BaseModel]) -> tuple[str, str]:
    kind = error["type"]
    parts: list[str | int] = []
    key_error = False
    for part in error["loc"]:
        if part == _KEY_TAG:
            key_error = True
        elif not (isinstance(part, str) and _SCHEMA_TAG_RE.fullmatch(part)):
            parts.append(part)
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, FieldProblem):
        parts.extend(cause.field)
    if kind in ("value_error", "assertion_error") and cause is not None:
        problem = str(cause)
    elif kind == "missing":
        problem = "required key is missing"
    elif kind == "extra_forbidden":
        problem = _unknown_key(root, parts)
    elif kind == "literal_error":
        problem = f"{show_input(error['input'])} is not allowed; expected {ctx.get('expected')}"
    elif kind == "too_short" and ctx.get("min_length") == 1:
        problem = "must not be empty"
    elif kind in _TYPE_WORDS:
        problem = f"expected {_TYPE_WORDS[kind]}, got {show_input(error['input'])}"
    else:
        message = error["msg"].replace("Input should be", "should be")
        problem = f"{message} (got {show_input(error['input'])})"
    if key_error:
        problem = f"invalid key: {problem}"
    return format_path(parts), problem


def _unknown_key(root: type[BaseModel], parts: Sequence[str | int]) -> str:
    model = _model_at(root, parts[:-1])
    if model is None:
        return "unknown key"
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(str(parts[-1]), allowed, n=1) if parts else []
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key; {hint}expected one of: {', '.join(allowed)}"


def _model_at(root: type[BaseModel], parts: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class found at a location, following fields, mapping values and list items."""
    current: Any = root
    for part in parts:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
            continue
        origin, args = get_origin(current), get_args(current)
        if origin in (dict, Mapping) and len(args) == 2:
            current = args[1]
        elif origin in (list, tuple) and args:
            current = args[0]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` down to the underlying type."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation
