"""Render ``docs/configuration.md`` from the configuration models, so the reference cannot drift.

``python -m sla_connector.settings.reference > docs/configuration.md`` (``make docs``). Every
key path, type and default is read from ``AppConfig`` and its section models, and the words
too: each field's ``Field(description=..., examples=[...])`` (the example is YAML); ``render``
refuses to run while a field has no description. Vendor keys, which each connector validates
itself, come from the settings declaration each registered connector ships with its entry
point (``core.plugins.ConnectorSettings``), so a new connector brings its own reference.
``tests/test_reference.py`` checks those declarations against the keys every built-in
connector reads, and that every key of ``config.example.yaml`` is documented.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, cast, get_args, get_origin

import annotated_types
from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

from sla_connector.core.plugins import ConnectorSettings
from sla_connector.registry import connector_declarations
from sla_connector.settings.app import AppConfig
from sla_connector.settings.contracts import CurrencyCode, Money, Share
from sla_connector.settings.fields import (
    DaySpec,
    EnvVarName,
    Interval,
    OpenInterval,
    Percent,
    RegexText,
    StepAfter,
    Target,
    Text,
    TimeOfDay,
    TimeZoneName,
)

__all__ = ["Entry", "model_entries", "render", "vendor_entries"]


_INTRO = """
# Configuration reference

<!-- Generated from the configuration models by `make docs`
     (python -m sla_connector.settings.reference); do not edit by hand. -->

One YAML file configures a deployment. `config.example.yaml` is the commented seed policy and
`sla-connector init` writes a starter file; every command that takes `-c FILE` validates it
first and stops with one line naming the key path and the problem.

- `<calendar>`, `<tier>`, `<client>`, `<name>`, `<recipient>` stand for keys you choose;
  `[]` marks an item of a list.
- Durations: `15m`, `4h`, `90s`, `1h30m`, `2d`; targets also take business days (`3bd`).
  Targets and escalation delays are business time in the tier's calendar; intervals
  (`poll_interval`, `reconcile_interval`, `runtime.*`) are wall-clock time.
- Percentages: `75%` or `0.75`. Times of day: `"08:00"` (quote them).
- A list key also accepts a single value (a list of one), except `classification.rules`,
  `holidays.extra` and `holidays.remove`.
- Secrets are never written in the file: a key ending in `_env` names the environment
  variable that holds the secret.
- Booleans are `true` or `false`; `yes`, `no`, `on`, `off` stay text (`country: NO` is Norway).
- Unknown keys are errors, except vendor keys of a connector entry, which the connector checks
  when it is built (`run`). Numbers are accepted where text is expected (PSA ids).
"""

_VENDOR_INTRO = """
Each connector reads more keys from its entry; they are checked when the connector is built,
and errors name `connectors.<name>.<key>`. A key written as `something_env` must name an
environment variable; any other key that looks like a secret (`token`, `password`,
`private_key`...) is refused.
"""

_PLACEHOLDERS = {
    "calendars": "calendar",
    "tiers": "tier",
    "clients": "client",
    "clients.<client>.tiers": "tier",
    "escalations": "tier",
    "connectors": "name",
    "reports.recipients": "recipient",
    "clients.<client>.contract.tiers": "tier",
    "clients.<client>.contract.versions[].tiers": "tier",
    "exclusions.tags": "tag",
}
_LABELS: tuple[tuple[Any, str], ...] = tuple(
    (get_args(alias)[1], label)
    for alias, label in (
        (Target, "duration (`15m`, `1h30m`, `3bd`)"),
        (Interval, "duration (`60s`, `5m`; no `bd`)"),
        (StepAfter, "duration (no `bd`) or `next_business_day`"),
        (Percent, "percentage (`75%` or `0.75`)"),
        (Share, "exact percentage (`2.5%`)"),
        (Money, "amount (`12000.00`)"),
        (CurrencyCode, "ISO 4217 currency code"),
        (EnvVarName, "environment variable name"),
        (TimeZoneName, "IANA time zone"),
        (OpenInterval, "interval `HH:MM-HH:MM`"),
        (DaySpec, "days"),
        (RegexText, "regular expression"),
        (TimeOfDay, "time of day `HH:MM`"),
        (Text, "text"),
    )
)
_SCALARS = {bool: "`true` or `false`", int: "whole number", float: "number", str: "text"}
Kind = Literal["section", "sections", "ladders", "section_list", "leaf"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One documented key: its path pattern and what an operator needs to know about it."""

    path: str
    type: str
    default: str
    description: str
    example: str | None
    leaf: bool = True  # False for a section: its keys are entries of their own
    annotation: Any = None  # the field's full type, to validate ``example``; None: no check


def _peel(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    """Strip ``Annotated`` (keeping its metadata) and ``X | None`` down to the base type."""
    metadata: list[Any] = []
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            base, *extra = get_args(annotation)
            metadata.extend(extra)
            annotation = base
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation, tuple(metadata)
            annotation = members[0]
        else:
            return annotation, tuple(metadata)


def _model(annotation: Any) -> type[BaseModel] | None:
    base, _ = _peel(annotation)
    return base if isinstance(base, type) and issubclass(base, BaseModel) else None


def _shape(field: FieldInfo) -> tuple[Kind, type[BaseModel] | None]:
    """What a field holds: a section, sections by name, ladders, a list of sections, a value."""
    base, _ = _peel(field.annotation)
    if (model := _model(base)) is not None:
        return "section", model
    origin, args = get_origin(base), get_args(base)
    if origin is Mapping and len(args) == 2:
        if (model := _model(args[1])) is not None:
            return "sections", model
        value, _ = _peel(args[1])
        if get_origin(value) is tuple and (model := _model(get_args(value)[0])) is not None:
            return "ladders", model
    if origin is tuple and args and (model := _model(args[0])) is not None:
        return "section_list", model
    return "leaf", None


def full_type(field: FieldInfo) -> Any:
    """The field's annotation with its constraints, as a ``TypeAdapter`` validates it."""
    if not field.metadata:
        return field.annotation
    return cast(Any, Annotated)[(field.annotation, *field.metadata)]


def _describe(annotation: Any, extra: tuple[Any, ...] = ()) -> str:
    base, metadata = _peel(annotation)
    metadata = (*extra, *metadata)
    for marker, label in _LABELS:
        if marker in metadata:
            return label
    origin, args = get_origin(base), get_args(base)
    if origin is Literal:
        words = "one of " + ", ".join(f"`{arg}`" for arg in args)
    elif origin is tuple:
        words = f"list of {_describe(args[0])}".replace("list of one of", "list of")
    elif origin is Mapping:
        words = f"mapping: {_describe(args[0])} → {_describe(args[1])}"
    elif isinstance(base, type) and issubclass(base, BaseModel):
        words = "section"
    elif base in _SCALARS:
        words = _SCALARS[base]
    else:
        named = {"date": "date `YYYY-MM-DD`", "datetime": "RFC 3339 time with offset"}
        words = named.get(getattr(base, "__name__", ""), str(base))
    return words + _constraints(metadata)


def _constraints(metadata: tuple[Any, ...]) -> str:
    bounds = []
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            bounds.append(f"≥ {item.ge}")
        elif isinstance(item, annotated_types.Gt):
            bounds.append(f"> {item.gt}")
        elif isinstance(item, annotated_types.Le):
            bounds.append(f"≤ {item.le}")
        elif isinstance(item, annotated_types.MinLen) and item.min_length == 1:
            bounds.append("at least one")
    return f" ({', '.join(bounds)})" if bounds else ""


def _flow(value: Any) -> str:
    """A JSON-mode value in YAML flow style: ``[a, b]``, ``{}``, ``true``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}: {_flow(item)}" for key, item in value.items()) + "}"
    return str(value)


def _default(field: FieldInfo, kind: Kind) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "none"
    if kind == "section":
        return "see its keys"
    return f"`{_flow(TypeAdapter(full_type(field)).dump_python(value, mode='json'))}`"


def _walk(model: type[BaseModel], prefix: str) -> Iterator[Entry]:
    for name, field in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        kind, inner = _shape(field)
        if not field.description:
            raise LookupError(f"{path}: no description; give the field Field(description=...)")
        description = field.description
        example = str(field.examples[0]) if field.examples else None
        words = {
            "sections": f"mapping: {_PLACEHOLDERS.get(path)} → section",
            "ladders": f"mapping: {_PLACEHOLDERS.get(path)} → list of steps",
            "section_list": "list of sections",
        }.get(kind) or _describe(field.annotation, tuple(field.metadata))
        if kind == "sections":
            words += _constraints(tuple(field.metadata))
        leaf = kind == "leaf"
        checked = full_type(field) if leaf else None
        yield Entry(path, words, _default(field, kind), description, example, leaf, checked)
        if inner is None:
            continue
        below = {
            "section": path,
            "sections": f"{path}.<{_PLACEHOLDERS.get(path)}>",
            "ladders": f"{path}.<{_PLACEHOLDERS.get(path)}>[]",
            "section_list": f"{path}[]",
        }[kind]
        yield from _walk(inner, below)


def model_entries() -> list[Entry]:
    """Every key of the configuration file as the models define it, in file order."""
    return list(_walk(AppConfig, ""))


def vendor_entries(declaration: ConnectorSettings) -> list[Entry]:
    """The vendor keys one connector type declares, as reference entries."""
    return [
        Entry(f"connectors.<name>.{key.key}", key.type, key.default, key.description, key.example)
        for key in declaration.keys
    ]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _table(entries: list[Entry]) -> list[str]:
    lines = ["| Key | Type | Default | Description | Example |", "| --- | --- | --- | --- | --- |"]
    for entry in entries:
        example = f"`{_cell(entry.example)}`" if entry.example else ""
        lines.append(
            f"| `{entry.path}` | {_cell(entry.type)} | {_cell(entry.default)} | "
            f"{_cell(entry.description)} | {example} |"
        )
    return lines


def render() -> str:
    """The whole reference as Markdown; the same models always give the same text."""
    entries = model_entries()
    sections = [entry for entry in entries if "." not in entry.path]
    lines = [_INTRO.strip(), "", "## Contents", ""]
    lines += [f"- [`{entry.path}`](#{entry.path})" for entry in sections]
    for top in sections:
        rows = [entry for entry in entries if entry.path.startswith(top.path + ".")]
        lines += ["", f"## {top.path}", "", _cell(top.description), ""]
        lines.append(f"Type: {top.type}. Default: {top.default}.")
        if top.example:
            lines += ["", f"Example: `{_cell(top.example)}`"]
        if rows:
            lines += ["", *_table(rows)]
        if top.path == "connectors":
            lines += ["", "### Vendor keys", "", _VENDOR_INTRO.strip()]
            for connector_type, declaration in connector_declarations().items():
                page = declaration.page
                lines += ["", f"#### type: {connector_type}", ""]
                lines += [f"See [connectors/{page}.md](connectors/{page}.md).", ""]
                lines += _table(vendor_entries(declaration))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
