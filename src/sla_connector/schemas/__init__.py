"""JSON Schemas shipped with the package: ``ticket.schema.json``, the canonical ticket.

``ticket_schema()`` loads it; ``ticket_schema_problem(data)`` is the schema's first
objection to one JSON value (a JSON pointer and the reason), or None. ``audit`` adds it to
the message of a line ``parse_ticket`` rejects; a test keeps the schema and the parser in
agreement (docs/ticket-format.md).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

__all__ = ["TICKET_SCHEMA", "ticket_schema", "ticket_schema_problem"]

TICKET_SCHEMA = "ticket.schema.json"


@functools.cache
def ticket_schema() -> dict[str, Any]:
    """The canonical ticket's JSON Schema (draft 2020-12), as shipped in the package."""
    text = resources.files(__package__).joinpath(TICKET_SCHEMA).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(ticket_schema())


def ticket_schema_problem(data: Any) -> str | None:
    """``/events/2/type: 'closed' is not one of [...]``, or None when the schema accepts."""
    error = best_match(_validator().iter_errors(data))
    if error is None:
        return None
    pointer = "/" + "/".join(str(part) for part in error.absolute_path)
    message = error.message
    if error.validator == "pattern":  # the instant pattern: say what it means
        message = f"{error.instance!r} is not an RFC 3339 time with a UTC offset"
    return f"{pointer}: {message}"
