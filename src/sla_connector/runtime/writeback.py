"""Turn a due ladder step into PSA writes, with the marker that makes them reconcilable.

Every escalation note carries ``[sla-connector <key>]`` and every escalation adds the tag
``sla-<step>-c<cycle>``; after a crash the runtime re-reads the ticket and looks for either
before deciding whether to write again (exactly once, DESIGN section 6). What a connector
can do beyond the port (``core.ports.StepWriter``, ``NoteFinder``) is found once, when it is
built, by ``capabilities``; ``marker_written`` and ``write_actions`` take that answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sla_connector.core.calendars import from_us
from sla_connector.core.durations import format_seconds
from sla_connector.core.escalation import StepPlan
from sla_connector.core.ports import (
    Connector,
    NoteFinder,
    StepWriter,
    TicketBatchReader,
    WriteResult,
)
from sla_connector.core.ticket import Ticket
from sla_connector.core.vocabulary import Vocabulary
from sla_connector.settings.templates import DEFAULT_NOTE, NoteError, render_note

__all__ = [
    "DEFAULT_NOTE",
    "Capabilities",
    "Writeback",
    "capabilities",
    "has_marker",
    "marker_tag",
    "marker_text",
    "marker_written",
    "write_actions",
    "writes_to_psa",
]


def marker_text(key: str) -> str:
    return f"[sla-connector {key}]"


def marker_tag(step: str, cycle: int) -> str:
    return f"sla-{step}-c{cycle}".lower().replace(" ", "-")


def has_marker(ticket: Ticket, key: str, tag: str) -> bool:
    """Whether the ticket shows an earlier write of this step: the marker tag among its
    ``tags``, or ``[sla-connector <key>]`` in one of its ``notes`` (canonical fields every
    connector fills as far as its PSA shows them; see ``NoteFinder`` for the rest)."""
    marker = marker_text(key)
    return tag in ticket.tags or any(marker in note for note in ticket.notes)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What one connector offers beyond the port, found once by ``capabilities``."""

    step_writer: StepWriter | None = None
    note_finder: NoteFinder | None = None
    batch_reader: TicketBatchReader | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """``apply``, ``find_note`` and ``fetch_tickets`` where offered (for start-up logs
        and ``check``)."""
        offered = (
            ("apply", self.step_writer),
            ("find_note", self.note_finder),
            ("fetch_tickets", self.batch_reader),
        )
        return tuple(name for name, found in offered if found is not None)


def capabilities(connector: Connector) -> Capabilities:
    """Check the optional protocols once, when the runtime builds the connector."""
    return Capabilities(
        step_writer=connector if isinstance(connector, StepWriter) else None,
        note_finder=connector if isinstance(connector, NoteFinder) else None,
        batch_reader=connector if isinstance(connector, TicketBatchReader) else None,
    )


@dataclass(frozen=True, slots=True)
class Writeback:
    """The writes of one step: (action, value) pairs in the order they are applied."""

    actions: tuple[tuple[str, str], ...]
    notify: bool
    note: str | None
    problem: str | None = None  # the step's note template failed: the default note is used


def plan_writes(
    plan: StepPlan, ticket: Ticket, lateness_us: int, vocabulary: Vocabulary
) -> Writeback:
    """The writes for a step: idempotent ones first, the marker-bearing note and tag last.

    A step writes to the PSA only the actions it lists: a notify-only step
    (``actions: [notify]``) has no writes at all, not even the marker tag; its exactly-once
    record is the ledger row in the store (issue 10 item 1). The note says the step fired
    late when ``vocabulary`` calls its lateness late.
    A note template that fails to render is replaced by the default note and ``problem``
    says why.
    """
    step = plan.step
    late = vocabulary.is_late(lateness_us)
    context: dict[str, Any] = {
        "ticket": ticket,
        "step": step.name,
        "tier": plan.tier,
        "reason": plan.reason,
        "recipient": plan.to,
        "due_at": from_us(plan.due_at).isoformat().replace("+00:00", "Z"),
        "late": late,
        "lateness": format_seconds(lateness_us / 1e6),
        "key": plan.key,
        "cycle": plan.cycle,
    }
    actions: list[tuple[str, str]] = []
    if "reassign" in step.actions:
        actions.append(("reassign", plan.to))
    if "set_priority" in step.actions:
        actions.append(("set_priority", step.priority or plan.tier))
    note: str | None = None
    problem: str | None = None
    if "note" in step.actions:
        try:
            body = render_note(step.note or DEFAULT_NOTE, context)
        except NoteError as exc:
            problem = f"note template failed ({exc}); the default note was written"
            body = render_note(DEFAULT_NOTE, context)
        note = f"{body}\n{marker_text(plan.key)}"
        actions.append(("note", note))
    if writes_to_psa(step.actions):
        actions.append(("tag", marker_tag(step.name, plan.cycle)))
    if "tag" in step.actions and step.tag:
        actions.append(("tag", step.tag))
    return Writeback(tuple(actions), "notify" in step.actions, note, problem)


def writes_to_psa(actions: Sequence[str]) -> bool:
    """Whether a step with these actions writes to the PSA at all (not notify-only)."""
    return any(action != "notify" for action in actions)


async def marker_written(
    connector: Connector, ticket: Ticket, key: str, tag: str, can: Capabilities | None = None
) -> bool:
    """``has_marker``, or the connector's own note search when it has one.

    ``can`` is what ``capabilities(connector)`` found at start-up; without it the check is
    made here.
    """
    if has_marker(ticket, key, tag):
        return True
    finder = (can or capabilities(connector)).note_finder
    return finder is not None and await finder.find_note(ticket.id, marker_text(key))


async def write_actions(
    connector: Connector,
    ticket: Ticket,
    actions: Sequence[tuple[str, str]],
    can: Capabilities | None = None,
) -> list[WriteResult]:
    """Apply the writes: in one request where the connector can, else one call each.

    ``can`` is what ``capabilities(connector)`` found at start-up; without it the check is
    made here.
    """
    writer = (can or capabilities(connector)).step_writer
    if writer is not None:
        return [await writer.apply(ticket, list(actions))]
    results: list[WriteResult] = []
    for action, value in actions:
        if action == "reassign":
            results.append(await connector.assign(ticket, value))
        elif action == "set_priority":
            results.append(await connector.set_priority(ticket, value))
        elif action == "note":
            results.append(await connector.add_internal_note(ticket, value))
        elif action == "tag":
            results.append(await connector.add_tag(ticket, value))
    return results
