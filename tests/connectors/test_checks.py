"""``checks.verdict``: each failure class of the HTTP layer gets its own advice."""

from __future__ import annotations

import pytest
from sla_connector_psa.checks import CheckAdvice, verdict
from sla_connector_psa.http import (
    CredentialsRejectedError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    UnreachableError,
)

from sla_connector.core.ports import CheckResult

pytestmark = pytest.mark.anyio
URL = "https://psa.example/api/me"
ADVICE = CheckAdvice(
    credentials=lambda exc: "fix the token",
    permission=lambda exc: f"grant access to {exc.url}",
    wrong_url=lambda exc: "fix base_url",
    unreachable="host unreachable",
    failed="PSA check failed",
)


def raising(exc: Exception) -> object:
    async def probe() -> CheckResult:
        raise exc

    return probe


async def test_a_probe_that_succeeds_is_the_verdict() -> None:
    async def probe() -> CheckResult:
        return CheckResult(ok=True, summary="connected")

    assert await verdict(probe, ADVICE) == CheckResult(ok=True, summary="connected")


@pytest.mark.parametrize(
    ("error", "summary"),
    [
        (CredentialsRejectedError("401", url=URL), "fix the token"),
        (PermissionDeniedError("403", url=URL), f"grant access to {URL}"),
        (NotFoundError("404", url=URL), "fix base_url"),
        (UnreachableError("cannot reach psa.example", url=URL), "host unreachable: cannot reach"),
        (MalformedResponseError("bad JSON", url=URL), "PSA check failed: bad JSON"),
    ],
)
async def test_each_failure_class_gets_its_advice(error: Exception, summary: str) -> None:
    result = await verdict(raising(error), ADVICE)  # type: ignore[arg-type]
    assert not result.ok and result.summary.startswith(summary)


async def test_an_error_that_is_not_a_connector_error_is_not_swallowed() -> None:
    with pytest.raises(ZeroDivisionError):
        await verdict(raising(ZeroDivisionError()), ADVICE)  # type: ignore[arg-type]
