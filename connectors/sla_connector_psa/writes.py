"""The one way the built-in connectors send a write that may or may not have landed.

``PsaHttp.send`` raises ``AmbiguousWriteError`` when a request left this process and no clear
answer came back (the connection broke after sending, a 5xx other than 503). Sending it again
blindly could write twice; giving up could write never. ``send_once`` settles it the same way
for every PSA: re-read (``landed``), report the write confirmed when the change is there, else
send it once more. A second ambiguous failure is raised: it is retriable, and the runtime
looks for the step's marker on the ticket before it tries again. An answer that refuses the
request itself (a 4xx: validation, a missing object) becomes a failed ``WriteResult``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sla_connector.core.errors import ConnectorError
from sla_connector.core.ports import WriteResult
from sla_connector_psa.http import AmbiguousWriteError, RequestRejectedError

__all__ = ["CONFIRMED", "send_once"]

log = logging.getLogger(__name__)

CONFIRMED = "confirmed after ambiguous failure"


async def send_once(
    send: Callable[[], Awaitable[WriteResult]],
    landed: Callable[[], Awaitable[Mapping[str, Any] | None]],
    refused: Callable[[ConnectorError], WriteResult],
    *,
    where: str,
    refusals: tuple[type[ConnectorError], ...] = (RequestRejectedError,),
) -> WriteResult:
    """``send()``; after an ambiguous failure, ``landed()`` decides whether to send again.

    ``landed`` re-reads the PSA and returns what to record as the answer when the write is
    there (an empty mapping will do), or None when it provably is not. ``refused`` turns one
    of ``refusals`` into the failed result. ``where`` names the write in log lines.
    """
    for attempt in (1, 2):
        try:
            return await send()
        except AmbiguousWriteError as exc:
            log.warning("%s: %s; re-reading to see whether it landed", where, exc)
            confirmed = await landed()
            if confirmed is not None:
                return WriteResult(ok=True, detail=CONFIRMED, response=confirmed)
            if attempt == 2:
                raise
            log.warning("%s: it did not land; sending it again", where)
        except refusals as exc:
            return refused(exc)
    raise AssertionError("unreachable")  # pragma: no cover
