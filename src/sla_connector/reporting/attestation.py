"""A report's figures cross-checked against the evidence log (issue 11 item 2).

The figures are recomputed from the ``tickets`` and ``ledger`` tables, which no hash
covers. The evidence log records every decided clock outcome (``clock_outcomes``: source,
ticket, client, clock, outcome and the instant it was decided) and every escalation
outcome (``escalation``), under its hash chain. Before a report states that it is backed
by the log, every outcome the log records as decided in the report's period (and scope)
is looked up in what the tables gave:

- a clock the log records as breached must be a breach of the report (a deleted ticket,
  or one edited into meeting its target, shows here);
- a clock the log records as met must belong to a ticket the report read;
- an escalation the log records as fired must be a fired escalation of the report.

The check is one way: the tables may hold outcomes the log does not (tickets the daemon
has not polled since they were decided, or decided before it was installed). Entries
written before the log carried the decision instant are not cross-checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sla_connector.core.vocabulary import FIRED_STATES
from sla_connector.reporting.model import EvidenceAttestation
from sla_connector.reporting.periods import Period
from sla_connector.reporting.ports import EvidenceRecord, EvidenceVerdict

__all__ = ["CLOCK_OUTCOMES", "ESCALATION", "ChainFacts", "attest"]

CLOCK_OUTCOMES = "clock_outcomes"
ESCALATION = "escalation"
_EXAMPLES = 3

_ClockKey = tuple[str, str, str]  # (source, ticket, clock kind)


@dataclass(slots=True)
class _Outcome:
    state: str
    at: int  # decided (a clock) or finished (an escalation), µs
    client: str | None


@dataclass(slots=True)
class ChainFacts:
    """The latest outcome of each clock and escalation, as the log records them."""

    clocks: dict[_ClockKey, _Outcome] = field(default_factory=dict)
    escalations: dict[str, _Outcome] = field(default_factory=dict)

    @classmethod
    def read(cls, entries: Iterable[EvidenceRecord]) -> ChainFacts:
        facts = cls()
        for entry in entries:
            if entry.kind == CLOCK_OUTCOMES:
                facts._clock_outcomes(entry.payload)
            elif entry.kind == ESCALATION:
                payload = entry.payload
                key, state = payload.get("key"), payload.get("state")
                if isinstance(key, str) and isinstance(state, str):
                    client = payload.get("client")
                    facts.escalations[key] = _Outcome(
                        state, entry.at, client if isinstance(client, str) else None
                    )
        return facts

    def _clock_outcomes(self, payload: Mapping[str, Any]) -> None:
        for line in payload.get("outcomes") or ():
            if not isinstance(line, Mapping):
                continue
            decided, client = line.get("decided_at"), line.get("client")
            if not isinstance(decided, int) or not isinstance(client, str):
                continue  # written before outcomes carried their instant: not checked
            key = (str(line.get("source")), str(line.get("ticket")), str(line.get("clock")))
            self.clocks[key] = _Outcome(str(line.get("outcome")), decided, client)


def _in_scope(outcome: _Outcome, period: Period, client: str | None) -> bool:
    inside = period.start_us <= outcome.at < period.end_us
    return inside and (client is None or outcome.client == client)


def _problem(what: str, keys: list[str]) -> str:
    examples = ", ".join(keys[:_EXAMPLES])
    more = f" and {len(keys) - _EXAMPLES} more" if len(keys) > _EXAMPLES else ""
    return f"{len(keys)} {what} (e.g. {examples}{more})"


def attest(
    verdict: EvidenceVerdict,
    facts: ChainFacts,
    *,
    period: Period,
    client: str | None,
    breached: set[_ClockKey],
    read: set[tuple[str, str]],
    fired: set[str],
) -> EvidenceAttestation:
    """The attestation of a report whose tables gave ``breached`` clocks, ``read`` tickets
    and ``fired`` escalation keys, against the log's ``facts``."""
    missing: list[str] = []
    not_breached: list[str] = []
    met_missing: list[str] = []
    checked = 0
    for (source, ticket, kind), outcome in sorted(facts.clocks.items()):
        if not _in_scope(outcome, period, client):
            continue
        checked += 1
        name = f"{source}/{ticket} {kind}"
        present = (source, ticket) in read
        if outcome.state == "breached" and (source, ticket, kind) not in breached:
            (not_breached if present else missing).append(name)
        elif outcome.state == "met" and not present:
            met_missing.append(name)
    unfired: list[str] = []
    for key, outcome in sorted(facts.escalations.items()):
        if outcome.state in FIRED_STATES and _in_scope(outcome, period, client):
            checked += 1
            if key not in fired:
                unfired.append(key)
    problems: list[str] = []
    if missing:
        problems.append(
            _problem("breached clock(s) in the log have no ticket in the tables", missing)
        )
    if not_breached:
        problems.append(
            _problem("breached clock(s) in the log are not breaches in the tables", not_breached)
        )
    if met_missing:
        problems.append(
            _problem("met clock(s) in the log have no ticket in the tables", met_missing)
        )
    if unfired:
        problems.append(
            _problem("fired escalation(s) in the log are missing from the ledger", unfired)
        )
    return EvidenceAttestation(
        key_id=verdict.key_id,
        first_seq=verdict.first_seq,
        last_seq=verdict.last_seq,
        head_hash=verdict.head_hash,
        consistent=not problems,
        problems=tuple(problems),
        verified=verdict.ok,
        entries=verdict.entries,
        message=verdict.message,
        cross_checked=checked,
    )
