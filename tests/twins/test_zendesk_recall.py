"""A restarted Zendesk connector answers unchanged tickets from the store (issue 10).

Every request a restarted daemon spends re-reading the audits of tickets that have not
changed is taken from the budget its overdue steps need. The first connector (the killed
life) reads five tickets and the planner stores their snapshots; a second connector (the
next life) on the same store reads them again: only the tickets themselves, no audits,
for as long as Zendesk's ``updated_at`` shows no update since (zendesk.recall cites the
rules); a ticket that changed, a mapping setting that changed, or a snapshot taken within
a second or two of the update, all read the audits again.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sla_connector.core.ports import Connector, TicketRecaller
from sla_connector.runtime.planner import Planner
from sla_connector.store import Store
from tests.twins.clock import ManualClock
from tests.twins.connectors import TwinTime, zendesk_connector
from tests.twins.soak_vendors import ZendeskSoak
from tests.twins.test_notify_only import soak_policy
from tests.twins.zendesk import ZendeskTwin

pytestmark = pytest.mark.anyio


def audits_reads(twin: ZendeskTwin, since: int) -> list[str]:
    return [r.path for r in twin.journal.requests()[since:] if r.path.endswith("/audits")]


async def _first_life(
    zendesk: ZendeskTwin, clock: ManualClock, env: Any, store: Store
) -> list[str]:
    soak = ZendeskSoak(zendesk)
    ids = [soak.create(f"P1 {n}: mail down", "P1", n)[0] for n in range(5)]
    clock.advance(1)
    first = zendesk_connector(zendesk, TwinTime(clock), environ=env)
    planner = Planner(
        soak_policy("zendesk"), store, TwinTime(clock), horizon=timedelta(days=1), not_before=0
    )
    clock.advance(3)  # the snapshots are taken seconds after the tickets' last update
    planner.ingest([await first.fetch_ticket(ticket) for ticket in ids])
    await first.aclose()
    return ids


def _next_life(zendesk: ZendeskTwin, clock: ManualClock, env: Any, store: Store, **kw: Any) -> Any:
    second: Connector = zendesk_connector(zendesk, TwinTime(clock), environ=env, **kw)
    assert isinstance(second, TicketRecaller)
    second.recall_with(store)
    return second


async def test_a_restarted_connector_reads_no_audits_of_tickets_unchanged_since_stored(
    zendesk: ZendeskTwin, clock: ManualClock, env: Any, tmp_path: Path
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    ids = await _first_life(zendesk, clock, env, store)
    stored = {t: store.get_ticket("zd", t) for t in ids}
    clock.advance(10)
    second = _next_life(zendesk, clock, env, store)
    seen = len(zendesk.journal.requests())
    again = [await second.fetch_ticket(ticket) for ticket in ids]
    assert audits_reads(zendesk, seen) == []
    assert all(stored[t] is not None for t in ids)
    assert [t.to_json() for t in again] == [stored[t.id].ticket().to_json() for t in again]  # type: ignore[union-attr]
    # A customer writes on the first ticket: its history is read again, with the reply.
    zendesk.customer_comment(int(ids[0]), "Still down!")
    clock.advance(5)
    seen = len(zendesk.journal.requests())
    changed = await second.fetch_ticket(ids[0])
    assert audits_reads(zendesk, seen) == [f"/api/v2/tickets/{ids[0]}/audits"]
    assert len(changed.events) > len(again[0].events)
    await second.aclose()
    store.close()


async def test_a_changed_mapping_or_a_snapshot_too_close_to_the_update_reads_the_audits(
    zendesk: ZendeskTwin, clock: ManualClock, env: Any, tmp_path: Path
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    ids = await _first_life(zendesk, clock, env, store)
    remapped = _next_life(
        zendesk, clock, env, store, client_map={"Globex": "globex", "Initech": "initech"}
    )
    seen = len(zendesk.journal.requests())
    await remapped.fetch_ticket(ids[1])
    assert audits_reads(zendesk, seen) == [f"/api/v2/tickets/{ids[1]}/audits"]
    await remapped.aclose()
    # A snapshot taken in the same second as the update it shows proves nothing about a
    # second update stamped with that second.
    zendesk.customer_comment(int(ids[2]), "Any news?")
    planner = Planner(
        soak_policy("zendesk"), store, TwinTime(clock), horizon=timedelta(days=1), not_before=0
    )
    reader = zendesk_connector(zendesk, TwinTime(clock), environ=env)
    planner.ingest([await reader.fetch_ticket(ids[2])])
    await reader.aclose()
    clock.advance(10)
    second = _next_life(zendesk, clock, env, store)
    seen = len(zendesk.journal.requests())
    await second.fetch_ticket(ids[2])
    assert audits_reads(zendesk, seen) == [f"/api/v2/tickets/{ids[2]}/audits"]
    await second.aclose()
    store.close()
