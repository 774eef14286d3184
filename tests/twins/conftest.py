"""Fixtures: the Zendesk, ConnectWise and Jira SM twins served on loopback, and clients."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.twins.clock import ManualClock
from tests.twins.connectwise import ConnectWiseTwin
from tests.twins.jira_sm import JiraTwin
from tests.twins.zendesk import ZendeskTwin


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock starting at the real present (so a connector's own clock agrees)."""
    return ManualClock(start=float(int(time.time())))


@pytest.fixture
def zendesk(clock: ManualClock) -> Iterator[ZendeskTwin]:
    """A Zendesk twin on a manual clock: tests move time instead of sleeping."""
    twin = ZendeskTwin(clock=clock)
    twin.faults.stall_seconds = 1.5
    with twin.serve():
        yield twin


@pytest.fixture
def api(zendesk: ZendeskTwin) -> Iterator[httpx.Client]:
    """An httpx client authenticated as the twin's API user with its legacy API token."""
    with httpx.Client(base_url=zendesk.base_url, auth=zendesk.basic_auth(), timeout=5) as client:
        yield client


@pytest.fixture
def connectwise(clock: ManualClock) -> Iterator[ConnectWiseTwin]:
    """A ConnectWise twin on a manual clock."""
    twin = ConnectWiseTwin(clock=clock)
    twin.faults.stall_seconds = 1.5
    with twin.serve():
        yield twin


@pytest.fixture
def cw_api(connectwise: ConnectWiseTwin) -> Iterator[httpx.Client]:
    """An httpx client with the API member's keys and the integration's clientId."""
    with httpx.Client(
        base_url=connectwise.base_url,
        auth=connectwise.basic_auth(),
        headers=connectwise.headers(),
        timeout=5,
    ) as client:
        yield client


@pytest.fixture
def jira(clock: ManualClock) -> Iterator[JiraTwin]:
    """A Jira SM twin on a manual clock."""
    twin = JiraTwin(clock=clock)
    twin.faults.stall_seconds = 1.5
    with twin.serve():
        yield twin


@pytest.fixture
def jira_api(jira: JiraTwin) -> Iterator[httpx.Client]:
    """An httpx client on the site URL with a person's API token."""
    with httpx.Client(base_url=jira.base_url, auth=jira.basic_auth(), timeout=5) as client:
        yield client


class _Env(dict[str, str]):
    """Environment variables set for one test only (what the connector builders write)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__()
        self._monkeypatch = monkeypatch

    def update(self, values: Any = (), /, **more: str) -> None:  # type: ignore[override]
        for key, value in {**dict(values), **more}.items():
            self._monkeypatch.setenv(key, value)
            self[key] = value


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> _Env:
    return _Env(monkeypatch)
