"""``writes.send_once``: an ambiguous write is re-read, then sent at most once more."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from sla_connector_psa.http import AmbiguousWriteError, NotFoundError, RequestRejectedError
from sla_connector_psa.writes import CONFIRMED, send_once

from sla_connector.core.errors import ConnectorError
from sla_connector.core.ports import WriteResult

pytestmark = pytest.mark.anyio
URL = "https://psa.example/api/tickets/1"


class Psa:
    """Answers scripted outcomes to sends and re-reads, and counts both."""

    def __init__(self, sends: list[Any], landed: list[bool]) -> None:
        self.sends = sends
        self.landed = landed
        self.sent = 0
        self.reads = 0

    async def send(self) -> WriteResult:
        self.sent += 1
        outcome = self.sends.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return WriteResult(ok=True, detail="written", response={"id": 7})

    async def reread(self) -> Mapping[str, Any] | None:
        self.reads += 1
        return {"seen": True} if self.landed.pop(0) else None


def refused(exc: ConnectorError) -> WriteResult:
    return WriteResult(ok=False, detail=f"refused: {exc}")


def ambiguous() -> AmbiguousWriteError:
    return AmbiguousWriteError("timed out after sending", url=URL)


async def test_a_clean_send_is_not_reread() -> None:
    psa = Psa(sends=["ok"], landed=[])
    result = await send_once(psa.send, psa.reread, refused, where="t")
    assert (result.ok, result.detail, psa.sent, psa.reads) == (True, "written", 1, 0)


async def test_an_ambiguous_write_that_landed_is_confirmed_without_a_resend() -> None:
    psa = Psa(sends=[ambiguous()], landed=[True])
    result = await send_once(psa.send, psa.reread, refused, where="t")
    assert (result.ok, result.detail, dict(result.response)) == (True, CONFIRMED, {"seen": True})
    assert (psa.sent, psa.reads) == (1, 1)


async def test_an_ambiguous_write_that_did_not_land_is_sent_once_more() -> None:
    psa = Psa(sends=[ambiguous(), "ok"], landed=[False])
    result = await send_once(psa.send, psa.reread, refused, where="t")
    assert (result.detail, psa.sent, psa.reads) == ("written", 2, 1)


async def test_two_ambiguous_failures_are_raised_for_the_runtime_to_retry() -> None:
    psa = Psa(sends=[ambiguous(), ambiguous()], landed=[False, False])
    with pytest.raises(AmbiguousWriteError):
        await send_once(psa.send, psa.reread, refused, where="t")
    assert (psa.sent, psa.reads) == (2, 2)


async def test_a_refused_request_is_a_failed_result_and_only_the_named_refusals() -> None:
    rejected = RequestRejectedError("422 invalid", url=URL, status=422)
    psa = Psa(sends=[rejected], landed=[])
    result = await send_once(psa.send, psa.reread, refused, where="t")
    assert not result.ok and "422 invalid" in result.detail
    gone = Psa(sends=[NotFoundError("404", url=URL)], landed=[])
    with pytest.raises(NotFoundError):  # not among the refusals: it propagates
        await send_once(gone.send, gone.reread, refused, where="t")
    allowed = Psa(sends=[NotFoundError("404", url=URL)], landed=[])
    result = await send_once(
        allowed.send, allowed.reread, refused, where="t", refusals=(NotFoundError,)
    )
    assert not result.ok
