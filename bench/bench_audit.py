"""Benchmark: ``sla-connector audit`` over 1,000,000 synthetic tickets.

Targets (core issue, kept by issue 14 with contracts on every client): <= 60 s wall time
and <= 1 GB peak memory on this 2-core machine. Generates the input with
``bench/gen_tickets.py`` once (cached under ``--workdir``), runs the real console script
with ``examples/policy.yaml`` (both of its clients, acme and globex, have a contract with
credits), samples the resident memory of the whole process tree (the audit and its worker
processes) from /proc every 100 ms, and reports the CPU time the tree used, which other
jobs on a shared machine distort far less than the wall time.

    .venv/bin/python bench/bench_audit.py [--count 1000000] [--jobs N] [--config FILE]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from gen_tickets import main as generate  # noqa: E402


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        stack.extend(children.get(current, ()))
        try:
            with open(f"/proc/{current}/statm") as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "sla-bench")
    parser.add_argument("--config", type=Path, default=ROOT / "examples" / "policy.yaml")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    tickets = args.workdir / f"tickets-{args.count}.jsonl"
    if not tickets.exists():
        started = time.perf_counter()
        generate(
            [
                "--count",
                str(args.count),
                "--seed",
                "42",
                "--days",
                "90",
                "--clients",
                "acme,globex",
                "--source",
                "sim",
                "--out",
                str(tickets),
            ]
        )
        print(f"generated {args.count:,} tickets in {time.perf_counter() - started:.1f} s")
    command = [
        str(Path(sys.executable).parent / "sla-connector"),
        "audit",
        "-c",
        str(args.config),
        "--tickets",
        str(tickets),
        "--now",
        "2026-12-01T00:00:00Z",
        "--format",
        "json",
    ]
    if args.jobs is not None:
        command += ["--jobs", str(args.jobs)]
    peak = 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.PIPE)
        while process.poll() is None:
            peak = max(peak, _tree_rss(process.pid))
            time.sleep(0.1)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    errors = process.stderr.read().decode() if process.stderr else ""
    print(
        f"audit of {args.count:,} tickets: {elapsed:.1f} s wall, "
        f"{args.count / elapsed:,.0f} tickets/s, "
        f"peak RSS of the process tree {peak / 2**20:.0f} MiB, "
        f"CPU time of the tree {cpu:.1f} s, "
        f"exit code {process.returncode}, cpus {os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if errors.strip():
        print("stderr (first lines):", *errors.splitlines()[:5], sep="\n  ")
    return 0 if process.returncode in (0, 1) else process.returncode


if __name__ == "__main__":
    sys.exit(main())
