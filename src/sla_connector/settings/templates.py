"""Escalation note templates: one sandboxed Jinja2 environment, checked when a file loads.

A template that parses can still fail when rendered (``{{ 1 // 0 }}``, a filter given the
wrong type, a sandbox refusal). So the configuration renders each step's note against a
sample ticket when it loads (``check``, ``run``, ``audit``): a failure is a configuration
error naming the step. At run time ``render_note`` is the same rendering; the runtime
catches its ``NoteError``, writes the default note and fails the step with the reason.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment

from sla_connector.core.ticket import Ticket

__all__ = ["DEFAULT_NOTE", "NoteError", "render_note", "sample_context"]

DEFAULT_NOTE = (
    "SLA escalation '{{ step }}' ({{ tier }}): {{ reason }}. "
    "Due {{ due_at }}; escalated to {{ recipient }}."
    "{% if late %} Fired late by {{ lateness }} (the PSA or the daemon was unavailable).{% endif %}"
)
_ENVIRONMENT = SandboxedEnvironment(autoescape=False)
_MAX_NOTE = 64_000  # characters; a PSA refuses far less, a template must not make megabytes


@functools.lru_cache(maxsize=256)
def _compiled(template: str) -> Template:
    """Each configured template is compiled once (a policy holds a handful)."""
    return _ENVIRONMENT.from_string(template)


class NoteError(Exception):
    """A note template failed to render; the message says why (never a traceback)."""


def render_note(template: str, context: dict[str, Any]) -> str:
    """Render ``template`` in the sandbox; any failure is a ``NoteError`` with the reason."""
    try:
        text = _compiled(template).render(context)
    except Exception as exc:  # whatever the template does, it is the template's failure
        raise NoteError(f"{type(exc).__name__}: {exc}") from None
    if len(text) > _MAX_NOTE:
        raise NoteError(f"the note is {len(text)} characters long (at most {_MAX_NOTE})")
    return text


def sample_context(step: str = "sample-step", tier: str = "P2") -> dict[str, Any]:
    """The variables a note sees, for a sample ticket with every field filled in."""
    created = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    ticket = Ticket(
        id="12345",
        source="psa",
        client="sample-client",
        created_at=created,
        subject="Sample subject",
        description="Sample description",
        channel="email",
        source_priority="high",
        status="open",
        tags=("sample",),
        notes=("Sample note",),
        extra={"sample": "value"},
    )
    return {
        "ticket": ticket,
        "step": step,
        "tier": tier,
        "reason": "resolution due in 1h 00m",
        "recipient": "team-lead",
        "due_at": "2026-01-05T13:00:00Z",
        "late": False,
        "lateness": "0s",
        "key": f"psa:12345:{step}:1",
        "cycle": 1,
    }
