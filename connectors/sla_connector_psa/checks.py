"""One ``check()`` verdict for the built-in connectors: each failure class gets its advice.

``sla-connector check`` prints one line per connector, and an operator acts on it: wrong
credentials, a missing permission, a wrong URL and an unreachable host each need a different
fix. ``verdict`` runs a connector's probe and maps the error classes of the shared HTTP layer
to a failed ``CheckResult`` whose summary says what to fix; the advice is the vendor's, the
mapping is the same for every PSA.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sla_connector.core.errors import ConnectorError
from sla_connector.core.ports import CheckResult
from sla_connector_psa.http import (
    CredentialsRejectedError,
    NotFoundError,
    PermissionDeniedError,
    UnreachableError,
)

__all__ = ["CheckAdvice", "verdict"]


@dataclass(frozen=True, slots=True)
class CheckAdvice:
    """What to tell the operator for each way ``check()`` can fail.

    ``unreachable`` and ``failed`` prefix the error's own message (which names the host).
    """

    credentials: Callable[[CredentialsRejectedError], str]
    permission: Callable[[PermissionDeniedError], str]
    wrong_url: Callable[[NotFoundError], str]
    unreachable: str = "unreachable"
    failed: str = "check failed"


async def verdict(probe: Callable[[], Awaitable[CheckResult]], advice: CheckAdvice) -> CheckResult:
    """The probe's result, or a failed result with the advice for the error it raised."""
    try:
        return await probe()
    except CredentialsRejectedError as exc:
        return CheckResult(ok=False, summary=advice.credentials(exc))
    except PermissionDeniedError as exc:
        return CheckResult(ok=False, summary=advice.permission(exc))
    except NotFoundError as exc:
        return CheckResult(ok=False, summary=advice.wrong_url(exc))
    except UnreachableError as exc:
        return CheckResult(ok=False, summary=f"{advice.unreachable}: {exc}")
    except ConnectorError as exc:
        return CheckResult(ok=False, summary=f"{advice.failed}: {exc}")
