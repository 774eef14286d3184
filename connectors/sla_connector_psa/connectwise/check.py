"""ConnectWise ``check``: reach the tenant, read what the daemon reads, say what to fix.

One verdict per failure class (``checks.verdict``): wrong keys or company id, a security role
that lacks a permission, a wrong ``base_url``, an unreachable host. On success it counts the
open tickets, confirms the configured boards exist, reads one ticket's audit trail and notes
(``allNotes`` when time entries count), and reports:

- the credentials (API member keys: ConnectWise keys do not expire and carry no scopes);
- which identifier the connector's own changes carry (``api_member``, else the API members
  found by ``licenseClass``), and a warning when none is known;
- whether that ticket's audit trail could be read, with a sample of the wording when not;
- the connector's health (failing tickets and pages, counters).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sla_connector.core.errors import TicketError
from sla_connector.core.ports import CheckResult
from sla_connector_psa.checks import CheckAdvice, verdict
from sla_connector_psa.connectwise.cursor import quote
from sla_connector_psa.connectwise.normalize import Row, parse_row

if TYPE_CHECKING:
    from sla_connector_psa.connectwise.connector import ConnectWiseConnector

__all__ = ["CHECK_ATTEMPTS", "check"]

CHECK_ATTEMPTS = 2


def _advice(connector: ConnectWiseConnector) -> CheckAdvice:
    settings = connector.settings
    keys = " / ".join(settings.key_vars) or "the key variables"
    return CheckAdvice(
        credentials=lambda exc: (
            f"credentials rejected (401) by {settings.base_url}: check company_id "
            f"{settings.company_id!r} and the values of {keys}"
        ),
        permission=lambda exc: (
            f"permission missing (403) on {exc.url}: the API member's security role must "
            "allow reading service tickets, their notes, time entries and the audit trail"
        ),
        wrong_url=lambda exc: (
            f"wrong URL: {exc.url} answered 404; base_url should look like "
            "https://api-na.myconnectwise.net/v4_6_release/apis/3.0"
        ),
        unreachable="host unreachable",
        failed="ConnectWise check failed",
    )


async def check(connector: ConnectWiseConnector) -> CheckResult:
    """The verdict, with the credentials, the API member and the health in ``details``."""
    result = await verdict(lambda: _probe(connector), _advice(connector))
    details: dict[str, Any] = dict(result.details)
    warnings = list(details.get("warnings") or ())
    if connector.http.credentials is not None:
        details["auth"] = connector.http.credentials.describe().details()
    health = connector.health()
    warnings += [w for w in health.warnings if w not in warnings]
    details["warnings"] = warnings
    details["health"] = {
        "failing": [f"{f.kind} {f.object_id}: {f.error}" for f in health.failures],
        "counters": dict(health.counters),
    }
    return CheckResult(result.ok, result.summary, details)


async def _get(connector: ConnectWiseConnector, path: str, params: Mapping[str, Any]) -> Any:
    return await connector.http.get_json(
        path, params=params, headers=connector.headers, max_attempts=CHECK_ATTEMPTS
    )


async def _probe(connector: ConnectWiseConnector) -> CheckResult:
    settings = connector.settings
    board = connector.board_condition()
    open_only = f"{board} AND closedFlag = false" if board else "closedFlag = false"
    rows = await _get(
        connector,
        "service/tickets",
        {"conditions": open_only, "orderBy": "id desc", "page": 1, "pageSize": 1},
    )
    count = await _get(connector, "service/tickets/count", {"conditions": open_only})
    details: dict[str, Any] = {
        "company_id": settings.company_id,
        "open_tickets": (count or {}).get("count") if isinstance(count, Mapping) else None,
    }
    warnings: list[str] = []
    if settings.boards:
        names_in = ",".join(quote(b) for b in settings.boards)
        found = await _get(
            connector,
            "service/boards",
            {
                "conditions": f"name in ({names_in})",
                "fields": "id,name",
                "pageSize": len(settings.boards),
            },
        )
        names = {str(b.get("name", "")).casefold() for b in found or [] if isinstance(b, Mapping)}
        missing = [b for b in settings.boards if b.casefold() not in names]
        if missing:
            return CheckResult(
                ok=False,
                summary=(
                    f"board(s) not found: {', '.join(missing)}; fix "
                    f"connectors.{connector.name}.boards"
                ),
                details=details,
            )
        details["boards"] = list(settings.boards)
    history = connector.history
    await history.find_api_members()
    details["api_members"] = sorted(history.api_members)
    if not history.api_members:
        warnings.append(
            f"no API member is known: set connectors.{connector.name}.api_member to the "
            "identifier of the API member whose keys the connector uses, or its own priority "
            "changes may read as a person's"
        )
    if isinstance(rows, list) and rows and isinstance(rows[0], Mapping):
        with_time = settings.count_time_entries
        try:
            row: Row = parse_row(rows[0])
        except TicketError as exc:  # the endpoints are probed all the same
            warnings.append(f"a ticket could not be read: {exc}")
            probe_id = rows[0].get("id")
            await _get(connector, "system/audittrail", {"type": "Ticket", "id": probe_id})
            await history.notes(str(probe_id), with_time=with_time)
            details["warnings"] = warnings
            return _connected(connector, details)
        read = await history.read(row, force=True)
        if not history.wants_notes(row):  # the permission is needed all the same
            await history.notes(row.id, with_time=with_time)
        sample = history.unparsed.get(row.id)
        details["audit_trail_readable"] = sample is None
        if sample is not None:
            warnings.append(
                f"the audit trail of ticket {row.id} could not be read (sample: {sample!r}); "
                "status history comes from polls only"
            )
        details["probe_ticket"] = {"id": row.id, "changes": len(read.changes)}
    details["warnings"] = warnings
    return _connected(connector, details)


def _connected(connector: ConnectWiseConnector, details: dict[str, Any]) -> CheckResult:
    settings = connector.settings
    return CheckResult(
        ok=True,
        summary=(
            f"connected to {settings.base_url} as company {settings.company_id}: "
            f"{details['open_tickets']} open tickets; auth: API member keys"
        ),
        details=details,
    )
