"""The two Zendesk endpoints a ticket's history comes from, read to their ends.

A ticket's audits (``GET /api/v2/tickets/{id}/audits``, cursor or offset pages; spec path
``/api/v2/tickets/{ticket_id}/audits``) give its whole history once; the ticket event
stream (``GET /api/v2/incremental/ticket_events``, psa-apis.md "Zendesk: incremental
exports") gives the updates of every changed ticket since a start_time, 1,000 to a page.
Both are parsed by ``normalize``; what fails to parse is logged and that ticket's history
forgotten, so its audits are read again rather than trusted with a hole.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from sla_connector.core.errors import RetriableConnectorError, TicketError
from sla_connector.core.ticket import parse_instant
from sla_connector_psa.values import optional_int
from sla_connector_psa.zendesk.history import HistoryCache
from sla_connector_psa.zendesk.normalize import Audit, parse_audit, parse_ticket_event
from sla_connector_psa.zendesk.settings import ZendeskSettings

__all__ = ["EVENTS_PATH", "behind", "drain_events", "read_audits", "stream_pays"]

log = logging.getLogger("sla_connector_psa.zendesk")

EVENTS_PATH = "/api/v2/incremental/ticket_events"


class GetJson(Protocol):
    """The connector's budgeted GET (``export`` selects the incremental-export budget)."""

    def __call__(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        export: bool = False,
        max_attempts: int | None = None,
    ) -> Awaitable[Any]: ...


def _relative(url: str) -> tuple[str, dict[str, str]]:
    """A next-page URL as path and params, so it is fetched through our own base URL."""
    parts = urlsplit(url)
    return parts.path, dict(parse_qsl(parts.query))


async def read_audits(
    get_json: GetJson,
    absorb: Callable[[Mapping[str, Any]], None],
    ticket_id: int,
    automatic_channels: frozenset[str],
) -> list[Audit]:
    """Every audit of one ticket, page by page (``GET /api/v2/tickets/{id}/audits``,
    users side-loaded for ``absorb``); a repeated next-page link ends the walk."""
    audits: list[Audit] = []
    path, params = f"/api/v2/tickets/{ticket_id}/audits", {"include": "users"}
    seen: set[str] = set()
    while True:
        data = await get_json(path, params)
        if not isinstance(data, Mapping) or not isinstance(data.get("audits"), list):
            raise TicketError(f"ticket {ticket_id}: audits: unexpected response")
        absorb(data)
        audits.extend(parse_audit(raw, automatic_channels) for raw in data["audits"])
        next_page = data.get("next_page")
        links = data.get("links")
        if (
            not next_page
            and isinstance(links, Mapping)
            and (isinstance(data.get("meta"), Mapping) and data["meta"].get("has_more"))
        ):
            next_page = links.get("next")
        if not isinstance(next_page, str) or not next_page or next_page in seen:
            return audits
        seen.add(next_page)
        path, params = _relative(next_page)


async def drain_events(
    get_json: GetJson,
    history: HistoryCache,
    covered: int,
    settings: ZendeskSettings,
    *,
    attempts: int | None = None,
) -> int:
    """Read the ticket event stream from ``covered`` (a start_time) to its end into
    ``history``, each page in at most ``attempts`` attempts; the start_time the next read
    begins at. A page that fails raises; what the pages before it gave is kept (an audit
    is keyed by its id, so reading them again adds nothing twice)."""
    automatic_channels, name = settings.automatic_channels, settings.name
    while True:
        start = covered
        data = await get_json(
            EVENTS_PATH,
            {"start_time": start, "include": "comment_events"},
            export=True,
            max_attempts=attempts,
        )
        if not isinstance(data, Mapping):
            raise RetriableConnectorError(
                f"connector {name}: the ticket event export answered without an object"
            )
        items = data.get("ticket_events")
        for item in items if isinstance(items, list) else ():
            try:
                audit = parse_ticket_event(item, automatic_channels)
            except TicketError as exc:
                log.warning("connector %s: skipped a ticket event: %s", name, exc)
                if (
                    isinstance(item, Mapping)
                    and (tid := optional_int(item.get("ticket_id"))) is not None
                ):
                    history.forget(tid)  # its history now has a hole: re-read audits
                continue
            if audit is not None:
                history.add_stream(audit)
        end_time = optional_int(data.get("end_time"))
        if end_time is not None and end_time > start:
            covered = end_time
        if data.get("end_of_stream") is not False or not items:
            return covered
        if end_time is None or end_time <= start:
            log.warning("connector %s: ticket event stream did not advance past %d", name, start)
            return covered


def behind(raw_tickets: Iterable[Any], covered: int) -> bool:
    """True when a ticket was updated after ``covered``, the event stream's read position
    (a start_time, in seconds)."""
    for raw in raw_tickets:
        if not isinstance(raw, Mapping):
            continue
        try:
            updated = parse_instant(raw.get("updated_at"), "updated_at")
        except TicketError:
            continue
        if updated.timestamp() > covered:
            return True
    return False


def stream_pays(
    cold: int,
    worth: int,
    raw_tickets: Mapping[int, Mapping[str, Any]],
    covered: int | None,
    budget_free: bool,
) -> bool:
    """Whether to read the event stream before a page's ``cold`` tickets (those whose
    histories are to be read): for at least ``worth`` of them, when the stream (read up to
    ``covered``) is behind the page, and only if the export budget has a slot now
    (``budget_free``). A stream page saves audits reads of the account's budget; but when
    the export budget is spent (a crash loop: each life's poll takes a slot) the wait for a
    slot held up the whole page, new tickets included, for tens of seconds while their
    steps fell due (issue 10, the 50-kill soak)."""
    return (
        covered is not None
        and cold >= worth
        and budget_free
        and behind(raw_tickets.values(), covered)
    )
