"""The records everyone reads back from the state: a ledger row and a report run.

One class each, used by every reader: the store returns them, the escalator fires and
reconciles ``LedgerRow``s, and the dashboard and the reports build their lines from them
(``core.readmodel``). Every instant is UTC microseconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["LedgerRow", "ReportRun", "WithdrawnTicket"]


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One escalation step's life: planned, claimed (``firing``), then its outcome.

    ``state`` is one of ``core.vocabulary.LEDGER_STATES``. ``fired_at`` is the instant the
    final outcome was recorded; ``lateness_us`` is how far after ``due_at`` the write
    happened. ``detail`` carries the cancel reason or the last error (never a secret).
    """

    key: str
    source: str
    ticket_id: str
    client: str
    tier: str
    step: str
    cycle: int
    due_at: int
    recipient: str
    state: str
    attempts: int = 0
    fired_at: int | None = None
    lateness_us: int | None = None
    detail: str = ""
    actions: tuple[str, ...] = ()
    claimed_at: int | None = None
    owner: str = ""
    response_json: str | None = None

    def response(self) -> dict[str, Any] | None:
        """The PSA's answer recorded by ``finish``, parsed."""
        if self.response_json is None:
            return None
        value = json.loads(self.response_json)
        return value if isinstance(value, dict) else {"value": value}


@dataclass(frozen=True, slots=True)
class ReportRun:
    """One delivery of a report; unique per (kind, period_start, recipient).

    ``state`` is ``running``, ``sent`` or ``failed``; ``detail`` says what happened.
    """

    kind: str
    period_start: int
    recipient: str
    state: str
    claimed_at: int = 0
    finished_at: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class WithdrawnTicket:
    """A ticket that left the PSA or the connector's scope (``core.vocabulary``: withdrawn).

    ``reason`` is one of ``core.errors.WITHDRAWN_REASONS``; ``detail`` says more (the
    ticket it was merged into, where it moved); ``withdrawn_at`` is when the runtime learnt
    it (UTC µs). ``tier`` and ``subject`` are the last snapshot's.
    """

    source: str
    ticket_id: str
    client: str
    tier: str
    subject: str
    reason: str
    detail: str
    withdrawn_at: int
