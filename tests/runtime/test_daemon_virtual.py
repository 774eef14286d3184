"""The daemon on the simulator in virtual time (issue 4 acceptance: the 30-day run).

The suite runs five virtual days (about 20 s); ``bench/bench_virtual_month.py`` runs the
full 30 days (about 3 minutes) with the same checks.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.runtime.harness import Harness, sim_config

pytestmark = pytest.mark.anyio


@pytest.mark.slow
async def test_five_days_every_planned_step_fires_exactly_once_on_time(tmp_path: Path) -> None:
    harness = await Harness.start(sim_config(tmp_path))
    try:
        await harness.run_for(timedelta(days=5))
        expected = harness.expected_steps()
        ledger = {row.key: row for row in harness.store.ledger()}
        fired = {key: row for key, row in ledger.items() if row.state == "done"}
        # The seeded simulator's five days plan 988 steps due in the span.
        assert len(expected) > 900, "the simulated five days should escalate plenty"
        missing, extra = set(expected) - set(fired), set(fired) - set(expected)
        assert not missing, f"missing {sorted(missing)[:5]}"
        assert not extra, f"extra {sorted(extra)[:5]}"
        late = {key: row.lateness_us for key, row in fired.items() if row.lateness_us > 1_000_000}
        assert not late, f"{len(late)} steps fired more than 1 s late: {list(late.items())[:5]}"
        writes = harness.connectors["sim"].writes  # type: ignore[attr-defined]
        notes = [w for w in writes if w.action == "add_internal_note"]
        assert len({(w.ticket_id, str(w.payload)) for w in notes}) == len(notes), (
            "a note was written twice"
        )
        assert len(notes) == sum(1 for row in fired.values() if "note" in row.actions)
    finally:
        await harness.close()
