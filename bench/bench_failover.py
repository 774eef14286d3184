"""Benchmark: two `sla-connector run` replicas on PostgreSQL, the leader SIGKILLed (issue 10).

Two replicas share one PostgreSQL schema (created for the run and dropped after) and a
PSA twin (``--vendor``, Zendesk by default); the leader is SIGKILLed ``--kills`` times
(default 6), each kill timed at a step's due instant, 0.3-0.9 s after one, or at random
(``tests/twins/soak_ha.KILL_PATTERN``), and restarted 0.5-1 s later. Prints one Markdown
row per run: steps written, missed, duplicates, extra and early writes, lateness, the
takeover times and the lateness of the steps that fell due during a failover; then what
went wrong and when each kill happened. ``--check`` exits 1 unless the run is clean (0
missed, 0 duplicates, 0 extra, 0 early) and those steps' p99 is at most 15 s.

Needs ``SLA_TEST_POSTGRES_URL`` (or ``--postgres``).

    SLA_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/bench_failover.py --minutes 5 --kills 6
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.twins.soak_ha import HaSoakConfig, run_ha_soak  # noqa: E402
from tests.twins.soak_report import percentile  # noqa: E402
from tests.twins.soak_vendors import VENDORS  # noqa: E402

P99_LIMIT = 15.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--vendor", choices=tuple(VENDORS), default="zendesk")
    parser.add_argument("--postgres", default=os.environ.get("SLA_TEST_POSTGRES_URL"))
    parser.add_argument("--out", type=Path, help="where logs and the journal go")
    parser.add_argument("--check", action="store_true", help="exit 1 when the run is not clean")
    args = parser.parse_args()
    if not args.postgres:
        parser.error("set SLA_TEST_POSTGRES_URL or pass --postgres")
    out = args.out or Path(tempfile.mkdtemp(prefix="sla-failover-"))
    cfg = HaSoakConfig(
        f"{args.minutes:g} min, leader killed {args.kills} times",
        args.minutes,
        out,
        args.postgres,
        kills=args.kills,
        seed=args.seed,
        vendor=args.vendor,
    )
    print(f"running {cfg.name} (logs in {out}) ...", flush=True)
    began = time.monotonic()
    report, ha = run_ha_soak(cfg)
    print(f"  done in {time.monotonic() - began:.0f} s\n", flush=True)
    row = {**report.row(), **ha.row()}
    head = list(row)
    print("| " + " | ".join(head) + " |")
    print("| " + " | ".join("---" for _ in head) + " |")
    print("| " + " | ".join(str(row[h]) for h in head) + " |")
    print()
    print("\n".join(report.details(most=20)))
    p99 = percentile(ha.failover_lateness, 0.99) or 0.0
    clean = not (report.missed or report.duplicates or report.extra or report.early)
    return 1 if args.check and (not clean or p99 > P99_LIMIT) else 0


if __name__ == "__main__":
    raise SystemExit(main())
