"""The embedded simulator PSA (``type: simulator``): the demo's and the daemon tests' PSA.

``SimulatorConnector`` adapts a ``SimulatedPsa`` (``state``) to the ``Connector``
port, reading the present from the injected ``Clock`` so it runs in accelerated virtual
time. The ticket stream is a pure function of the settings (``settings``) and the
virtual time (``life``); polling more or less often never changes it. Write-backs
are always accepted, recorded in ``writes`` and shown on the ticket.

``fetch_changed`` yields pages of ``page_size`` tickets. Only the last page carries the new
cursor; earlier pages carry the cursor they started from, so a runtime that persists a
page's cursor and crashes mid-poll re-reads that poll (at least once, never lost). A ticket
the simulated PSA withdrew (``SimulatedPsa.withdraw``: deleted, merged, spam, moved out of
scope) comes in ``PollPage.withdrawn`` with its reason, and ``fetch_ticket`` raises
``TicketGoneError`` for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from sla_connector.core.errors import FatalConnectorError, TicketGoneError
from sla_connector.core.ports import (
    CheckResult,
    Clock,
    ConnectorHealth,
    PollPage,
    Withdrawal,
    WriteResult,
)
from sla_connector.core.ticket import Ticket
from sla_connector_psa.simulator.settings import SimulatorConfig
from sla_connector_psa.simulator.state import (
    SimulatedPsa,
    SimWrite,
    UnknownTicketError,
    WithdrawnTicketError,
)

__all__ = ["SimulatorConnector", "WritesByName", "build"]


class WritesByName:
    """The port's four writes as one ``write(ticket, action, value)``, action named as the
    method is (``assign``, ``set_priority``, ``add_internal_note``, ``add_tag``)."""

    async def write(self, ticket: Ticket, action: str, value: str) -> WriteResult:
        raise NotImplementedError

    async def assign(self, ticket: Ticket, person_or_group: str) -> WriteResult:
        return await self.write(ticket, "assign", person_or_group)

    async def set_priority(self, ticket: Ticket, tier: str) -> WriteResult:
        return await self.write(ticket, "set_priority", tier)

    async def add_internal_note(self, ticket: Ticket, text: str) -> WriteResult:
        return await self.write(ticket, "add_internal_note", text)

    async def add_tag(self, ticket: Ticket, tag: str) -> WriteResult:
        return await self.write(ticket, "add_tag", tag)


class SimulatorConnector(WritesByName):
    """The ``Connector`` over an in-memory ``SimulatedPsa`` driven by the injected clock."""

    def __init__(self, name: str, psa: SimulatedPsa, clock: Clock) -> None:
        self.name = name
        self.psa = psa
        self._clock = clock
        self._closed = False

    @property
    def writes(self) -> tuple[SimWrite, ...]:
        """Every write-back accepted so far: ticket id, action, payload, virtual time."""
        return self.psa.writes

    def _open(self) -> None:
        if self._closed:
            raise FatalConnectorError(f"connector {self.name}: used after aclose()")

    async def fetch_changed(self, since_cursor: str | None) -> AsyncIterator[PollPage]:
        """Pages of tickets changed since the cursor; one empty page when nothing changed."""
        self._open()
        now = self._clock.now()
        ids, cursor = self.psa.changed_ids(since_cursor, now)
        size = self.psa.config.page_size
        if not ids:
            yield PollPage(tickets=(), cursor=cursor)
            return
        for offset in range(0, len(ids), size):
            last = offset + size >= len(ids)
            tickets: list[Ticket] = []
            withdrawn: list[Withdrawal] = []
            for ticket_id in ids[offset : offset + size]:
                gone = self.psa.withdrawal(ticket_id, now)
                if gone is None:
                    tickets.append(self.psa.ticket(ticket_id, now))
                else:
                    withdrawn.append(Withdrawal(ticket_id, *gone))
            yield PollPage(
                tickets=tuple(tickets),
                cursor=cursor if last else since_cursor,
                withdrawn=tuple(withdrawn),
            )

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        """The ticket as it stands now; ``TicketGoneError`` once withdrawn, and an unknown
        id is a ``FatalConnectorError``."""
        self._open()
        try:
            return self.psa.ticket(ticket_id, self._clock.now())
        except WithdrawnTicketError as gone:
            raise TicketGoneError(gone.ticket_id, gone.reason, gone.detail) from None
        except UnknownTicketError as error:
            raise FatalConnectorError(str(error)) from None

    async def write(self, ticket: Ticket, action: str, value: str) -> WriteResult:
        """Apply one write-back to the simulated PSA at the present; always accepted."""
        self._open()
        now = self._clock.now()
        gone = self.psa.withdrawal(ticket.id, now)
        if gone is not None:
            raise TicketGoneError(ticket.id, *gone)
        try:
            if action == "assign":
                write = self.psa.assign(ticket.id, value, now)
            elif action == "set_priority":
                write = self.psa.set_priority(ticket.id, value, now)
            elif action == "add_internal_note":
                write = self.psa.add_internal_note(ticket.id, value, now)
            else:
                write = self.psa.add_tag(ticket.id, value, now)
        except UnknownTicketError as error:
            return WriteResult(ok=False, detail=str(error))
        return WriteResult(
            ok=True,
            detail=f"{action} recorded as write {write.seq}",
            response={"seq": write.seq, "ticket_id": write.ticket_id, **write.payload},
        )

    def health(self) -> ConnectorHealth:
        """Nothing of the simulated PSA fails object by object; the counters only."""
        return ConnectorHealth(counters={"writes": len(self.writes)})

    async def check(self) -> CheckResult:
        """Always reachable; reports the ticket counts at the present."""
        self._open()
        counts = self.psa.counts(self._clock.now())
        config = self.psa.config
        return CheckResult(
            ok=True,
            summary=(
                f"simulator {self.name}: {counts['tickets']} tickets "
                f"({counts['open']} open, {counts['paused']} paused, "
                f"{counts['resolved']} resolved), {counts['writes']} write-backs"
            ),
            details={
                **counts,
                "seed": config.seed,
                "tickets_per_day": config.tickets_per_day,
                "clients": [client.key for client in config.clients],
            },
        )

    async def aclose(self) -> None:
        """Nothing to release; later calls fail loudly so a shutdown bug shows."""
        self._closed = True


def build(name: str, settings: Mapping[str, Any], clock: Clock) -> SimulatorConnector:
    """The factory behind the entry point ``simulator``: build from the raw config mapping."""
    config = SimulatorConfig.from_settings(name, settings, default_start=clock.now())
    return SimulatorConnector(name=name, psa=SimulatedPsa(config), clock=clock)
