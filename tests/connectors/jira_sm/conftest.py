"""Pytest fixtures of the Jira Service Management adapter tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from .support import FakeClock, Sleeps


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 2, 18, 0, tzinfo=UTC))


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()
