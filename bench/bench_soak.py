"""Benchmark: `sla-connector run` as a real process against a PSA twin, killed and faulted.

``--vendor`` picks the twin (``zendesk``, the default; ``connectwise``; ``jira_sm``; ``all``
runs each plan on the three in turn).

Modes (``--mode``):

- ``quick`` (about 3 minutes): one run of 3 minutes with 15 SIGKILLs (bursts and kills
  while a write is held included) and 30 % injected faults, the shape of the CI soak of
  issue 10;
- ``full`` (about 13 minutes): a 6-minute run with no kills and no faults, then a 6-minute
  run with 50 SIGKILLs and 30 % faults.

``--minutes``, ``--kills``, ``--faults``, ``--seed`` run one custom run instead. Prints one
Markdown table row per run (steps written, missed, duplicates, extra writes, early writes,
lateness p50/p99/max) and the details of what went wrong; exits 1 when any run missed,
duplicated, added or wrote early (``--check``). Logs, the generated config and the twin's
journal stay in ``--out`` (default a temporary folder).

    .venv/bin/python bench/bench_soak.py --mode quick
    .venv/bin/python bench/bench_soak.py --mode full
    .venv/bin/python bench/bench_soak.py --mode quick --vendor all
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataclasses import replace  # noqa: E402

from tests.twins.soak import SoakConfig, run_soak  # noqa: E402
from tests.twins.soak_report import SoakReport, render_table  # noqa: E402
from tests.twins.soak_vendors import VENDORS  # noqa: E402


def for_vendors(plans: list[SoakConfig], vendor: str) -> list[SoakConfig]:
    """Each plan on the chosen twin, or on every twin in turn (``all``)."""
    chosen = list(VENDORS) if vendor == "all" else [vendor]
    return [
        replace(plan, vendor=kind, workdir=plan.workdir / kind) for kind in chosen for plan in plans
    ]


def plans(args: argparse.Namespace, out: Path) -> list[SoakConfig]:
    if args.minutes is not None:
        name = f"{args.minutes:g} min, {args.kills} kills, {args.faults:.0%} faults"
        return [
            SoakConfig(
                name,
                args.minutes,
                out / "custom",
                kills=args.kills,
                fault_rate=args.faults,
                seed=args.seed,
            )
        ]
    if args.mode == "quick":
        return [
            SoakConfig(
                "3 min, 15 kills, 30% faults",
                3,
                out / "quick",
                kills=15,
                fault_rate=0.3,
                seed=args.seed,
            )
        ]
    return [
        SoakConfig("6 min, no kills, no faults", 6, out / "clean", seed=args.seed),
        SoakConfig(
            "6 min, 50 kills, 30% faults",
            6,
            out / "killed",
            kills=50,
            fault_rate=0.3,
            seed=args.seed,
        ),
    ]


def failed(report: SoakReport) -> bool:
    return bool(report.missed or report.duplicates or report.extra or report.early)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("quick", "full"), default="quick")
    parser.add_argument("--vendor", choices=(*VENDORS, "all"), default="zendesk")
    parser.add_argument("--minutes", type=float, help="one custom run of this length")
    parser.add_argument("--kills", type=int, default=0)
    parser.add_argument("--faults", type=float, default=0.0, help="share of requests faulted")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="where logs and journals go")
    parser.add_argument("--check", action="store_true", help="exit 1 when a run is not clean")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="sla-soak-"))
    reports = []
    for plan in for_vendors(plans(args, out), args.vendor):
        began = time.monotonic()
        print(f"running {plan.name} (logs in {plan.workdir}) ...", flush=True)
        reports.append(run_soak(plan))
        print(f"  done in {time.monotonic() - began:.0f} s", flush=True)
    print()
    print(render_table(reports))
    print()
    for report in reports:
        print("\n".join(report.details()))
    return 1 if args.check and any(failed(r) for r in reports) else 0


if __name__ == "__main__":
    raise SystemExit(main())
