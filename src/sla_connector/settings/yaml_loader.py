"""Read the configuration YAML the way an operator means it.

PyYAML follows YAML 1.1, where a bare ``on:`` key is the boolean ``True`` (SEMANTICS S23),
``no`` is false (the Norway problem: ``country: NO``), ``18:00`` is the base-60 number
1080 and ``0123`` is an octal number. ``ConfigLoader`` resolves scalars closer to YAML
1.2: only ``true``/``false`` are booleans, there are no base-60 numbers, and ``0123``
stays the text it is (often a PSA id). Duplicate keys, which PyYAML silently collapses to
the last one, are an error naming their key path.

A configuration is small, so anything that is not small is refused before it can cost
memory or time: a file over ``MAX_CONFIG_BYTES``, nesting deeper than ``MAX_DEPTH``, or
aliases that would expand to more than ``MAX_VALUES`` values (a "billion laughs" bomb of
a few hundred bytes otherwise becomes billions of values once pydantic walks it).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from sla_connector.core.errors import ConfigError
from sla_connector.settings.paths import format_path

__all__ = ["MAX_CONFIG_BYTES", "MAX_DEPTH", "MAX_VALUES", "ConfigLoader", "parse_yaml"]

MAX_CONFIG_BYTES = 1024 * 1024
MAX_DEPTH = 40
MAX_VALUES = 100_000
MAX_NUMBER_DIGITS = 30

_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"


class ConfigLoader(yaml.SafeLoader):
    """A safe loader with YAML 1.2 booleans and numbers (see the module docstring)."""


ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL_TAG, _INT_TAG, _FLOAT_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ConfigLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
ConfigLoader.add_implicit_resolver(
    _INT_TAG,
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    list("-+0123456789"),
)
ConfigLoader.add_implicit_resolver(
    _FLOAT_TAG,
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str, source: str = "<config>") -> Any:
    """The document in ``text``; syntax errors, duplicate keys and bombs raise ``ConfigError``."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(
            "", f"{source}: {len(text)} characters; a configuration is at most {MAX_CONFIG_BYTES}"
        )
    loader = ConfigLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise ConfigError(
                "", f"{source}: nesting too deep (at most {MAX_DEPTH} levels)"
            ) from None
        if node is None:
            return None
        _check_size(node, source)
        _reject_duplicates(node, (), set())
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}, line {mark.line + 1}, column {mark.column + 1}" if mark else source
        what = "; ".join(part for part in (exc.context, exc.problem) if part)
        raise ConfigError("", f"{where}: invalid YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise ConfigError("", f"{source}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _check_size(root: yaml.Node, source: str) -> None:
    """Refuse a document nested deeper than ``MAX_DEPTH`` or expanding past ``MAX_VALUES``.

    The count expands aliases (an alias counts as many values as the node it names), with a
    memo per node, so the check itself is linear in the composed document.
    """
    expanded: dict[int, int] = {}

    def count(node: yaml.Node, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise ConfigError(
                "",
                f"{source}, line {node.start_mark.line + 1}: nesting too deep "
                f"(at most {MAX_DEPTH} levels)",
            )
        if (
            isinstance(node, yaml.ScalarNode)
            and node.tag in (_INT_TAG, _FLOAT_TAG)
            and len(node.value) > MAX_NUMBER_DIGITS
        ):
            raise ConfigError(
                "",
                f"{source}, line {node.start_mark.line + 1}: a number of {len(node.value)} "
                f"characters; numbers in a configuration have at most {MAX_NUMBER_DIGITS}",
            )
        known = expanded.get(id(node))
        if known is not None:
            return known
        expanded[id(node)] = 1  # a node that contains itself counts once (no recursion)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                total += count(key_node, depth + 1) + count(value_node, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += count(item, depth + 1)
        if total > MAX_VALUES:
            raise ConfigError(
                "",
                f"{source}, line {node.start_mark.line + 1}: aliases expand to more than "
                f"{MAX_VALUES} values; write the values out instead of nesting aliases",
            )
        expanded[id(node)] = total
        return total

    count(root, 0)


def _reject_duplicates(node: yaml.Node, path: tuple[str | int, ...], seen: set[int]) -> None:
    """Walk the composed tree; a key repeated in one mapping is a ``ConfigError``."""
    if id(node) in seen:  # an alias already checked (and a guard against recursion)
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            if key == "<<" or not isinstance(key_node, yaml.ScalarNode):
                _reject_duplicates(value_node, path, seen)
                continue
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise ConfigError(
                    format_path((*path, key)),
                    f"duplicate key (line {first_line[key]} and line {line}); "
                    "YAML would silently keep only the last",
                )
            first_line[key] = line
            _reject_duplicates(value_node, (*path, key), seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _reject_duplicates(item, (*path, index), seen)
