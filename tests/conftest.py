"""Shared test configuration: async tests run on asyncio (through anyio's pytest plugin),
and the suite reads nothing outside the checkout.

An audit hook sees every file the test process opens; one beside the repository (a sibling
folder a fresh clone does not have) fails the run at the end, naming the files.
Subprocesses are covered by ``tests/test_self_contained.py``, which scans the sources.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_BESIDE = str(REPO.parent) + os.sep
_INSIDE = str(REPO) + os.sep
OUTSIDE_READS: set[str] = set()


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event != "open" or not args:
        return
    path = args[0]
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if isinstance(path, str) and path.startswith(_BESIDE) and not path.startswith(_INSIDE):
        OUTSIDE_READS.add(path)


sys.addaudithook(_audit)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if OUTSIDE_READS:
        listed = ", ".join(sorted(OUTSIDE_READS)[:10])
        print(f"\ntests read files outside the checkout {REPO}: {listed}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
