"""Soak: the daemon on the simulator for 30 days of virtual time (issue 4 acceptance).

The full version of ``tests/runtime/test_daemon_virtual.py`` (5 days in the suite), on the
same harness (``tests/runtime/harness.py``: the service ``run`` builds, in discrete-event
virtual time, the bundled example policy, 400 tickets a day polled every 15 minutes) and
with the same checks: plenty of steps due (a bound a little below what the seeded
simulator plans), every step due in the span fired exactly once (expected steps computed
with ``core.evaluate`` from the simulator's tickets, independently of the daemon), none more
than 1 s late, and one escalation note per fired step with a note, none written twice.

Prints: steps expected, fired, missing, extra, late by more than 1 s, the largest lateness,
the wall time of the run and the process's peak resident memory. ``--check`` exits 1 when a
check fails.

    .venv/bin/python bench/bench_virtual_month.py
    .venv/bin/python bench/bench_virtual_month.py --days 5 --check
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.runtime.harness import Harness, sim_config  # noqa: E402

# "Plenty of steps": a bound a little below what the seeded simulator plans (5,039 steps in
# 30 days; 988 in the suite's 5 days), so a run that stops escalating fails the check.
PLENTY = {30: 4500, 5: 900}


async def run(days: int, folder: Path) -> dict[str, float]:
    harness = await Harness.start(sim_config(folder))
    try:
        began = time.perf_counter()
        await harness.run_for(timedelta(days=days))
        wall = time.perf_counter() - began
        expected = harness.expected_steps()
        ledger = {row.key: row for row in harness.store.ledger()}
        fired = {key: row for key, row in ledger.items() if row.state == "done"}
        late = [row.lateness_us for row in fired.values() if row.lateness_us > 1_000_000]
        writes = harness.connectors["sim"].writes  # type: ignore[attr-defined]
        notes = [w for w in writes if w.action == "add_internal_note"]
        return {
            "expected": len(expected),
            "fired": len(fired),
            "missing": len(set(expected) - set(fired)),
            "extra": len(set(fired) - set(expected)),
            "late": len(late),
            "max_late_s": max((row.lateness_us for row in fired.values()), default=0) / 1e6,
            "notes": len(notes),
            "notes_twice": len(notes) - len({(w.ticket_id, str(w.payload)) for w in notes}),
            "note_steps": sum(1 for row in fired.values() if "note" in row.actions),
            "wall_s": wall,
        }
    finally:
        await harness.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30, help="virtual days (default 30)")
    parser.add_argument(
        "--min-steps",
        type=int,
        help="fewest steps expected (default: 4500 for 30 days, 900 for 5, else 1)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a check fails")
    args = parser.parse_args()
    plenty = args.min_steps if args.min_steps is not None else PLENTY.get(args.days, 1)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        result = asyncio.run(run(args.days, Path(folder)))
    total = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.days} virtual days, 400 tickets/day, polled every 15 virtual minutes")
    print(f"steps expected: {result['expected']:.0f} (at least {plenty})")
    print(f"steps fired:    {result['fired']:.0f}")
    print(f"missing:        {result['missing']:.0f}")
    print(f"extra:          {result['extra']:.0f}")
    print(f"late > 1 s:     {result['late']:.0f}")
    print(f"max lateness:   {result['max_late_s']:.3f} s")
    print(
        f"notes written:  {result['notes']:.0f} ({result['notes_twice']:.0f} twice; "
        f"{result['note_steps']:.0f} fired steps with a note)"
    )
    print(f"wall time:      {total:.1f} s ({result['wall_s']:.1f} s running the span)")
    print(f"peak RSS:       {peak:.0f} MiB")
    failed = [
        name
        for name, bad in (
            ("fewer steps than expected", result["expected"] < plenty),
            ("missing", result["missing"]),
            ("extra", result["extra"]),
            ("late", result["late"]),
            ("notes written twice", result["notes_twice"]),
            ("notes != fired steps with a note", result["notes"] != result["note_steps"]),
        )
        if bad
    ]
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
