"""Read the configuration YAML the way an operator means it.

PyYAML follows YAML 1.1, where a bare ``on:`` key is the boolean ``True`` (SEMANTICS S23),
``no`` is false (the Norway problem: ``country: NO``), ``18:00`` is the base-60 number
1080 and ``0123`` is an octal number. ``ConfigLoader`` resolves scalars closer to YAML
1.2: only ``true``/``false`` are booleans, there are no base-60 numbers, and ``0123``
stays the text it is (often a PSA id). Duplicate keys, which PyYAML silently collapses to
the last one, are an error naming their key path.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from sla_connector.core.errors import ConfigError
from sla_connector.settings.paths import format_path

__all__ = ["ConfigLoader", "parse_yaml"]

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
    """The document in ``text``; syntax errors and duplicate keys raise ``ConfigError``."""
    loader = ConfigLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
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
