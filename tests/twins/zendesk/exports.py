"""The incremental exports: tickets (cursor-based and time-based) and ticket events.

Rules, and where they come from:

- Items changed within the minute before the request are left out, and the end time or
  cursor returned stops before them, so the next request picks them up (spec
  ``IncrementalUnixTime``: "Data isn't provided for the most recent minute";
  developer.zendesk.com/documentation/ticketing/managing-tickets/using-the-incremental-export-api;
  support.zendesk.com article 8143500919322 "Announcing a new limit for the Incremental
  Export API").
- ``start_time`` must be at least one minute in the past (spec ``IncrementalUnixTime``);
  a too recent one answers 422 ``{"error": "InvalidValue", "description": "Too recent
  start_time. Use a start_time older than 1 minute"}`` [3p: treasure-data/embulk-input-zendesk
  ``test/embulk/input/zendesk/test_client.rb``, from when the limit was 5 minutes].
- Tickets are compared by ``generated_timestamp`` (updated for every change), not
  ``updated_at``, so a ticket appears with its latest state once its latest change is a
  minute old (spec ``IncrementalTicketExportTime`` description).
- Cursor-based: ``start_time`` on the first request, then ``cursor``; answers
  ``after_cursor``, ``after_url``, ``before_cursor``/``before_url`` (null) and
  ``end_of_stream``; persist ``after_cursor`` (spec ``CursorBasedExportIncrementalTicketsResponse``;
  psa-apis.md section 3.2). Cursors look like the spec's example, base64 of
  ``"<time>||<id>|"``.
- Time-based: ``count``, ``end_time``, ``next_page`` (``start_time=end_time``) and
  ``end_of_stream``; pages end on a timestamp so the same ticket can come twice (spec
  ``TimeBasedExportIncrementalTicketsResponse``; psa-apis.md section 3.2).
- Up to 1000 items a page (using-the-incremental-export-api "per_page" [verify]);
  deleted tickets are included with status ``deleted`` unless ``exclude_deleted=true``
  (incremental exports page, "Excluding deleted tickets"); ``support_type_scope`` is
  ``all``, ``agent`` or ``ai_agent`` (spec ``TicketSupportTypeScope``).
- Ticket events: a time-based export of audits with ``include=comment_events`` adding the
  comments (spec ``IncrementalTicketEvents``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.twins.zendesk.model import Ticket, ZendeskError, ZendeskState
from tests.twins.zendesk.render import render_ticket, render_ticket_event, render_user

__all__ = ["Window", "cursor_export", "sideloads", "ticket_events_export", "time_export"]

MAX_PAGE = 1000
_SCOPES = ("all", "agent", "ai_agent")


def _invalid(description: str) -> ZendeskError:
    return ZendeskError(422, {"error": "InvalidValue", "description": description})


def _start_time(params: Mapping[str, str], now: float, lag: float) -> int:
    raw = params.get("start_time")
    if raw is None:
        raise _invalid("start_time is required")
    try:
        start = int(raw)
    except ValueError as exc:
        raise _invalid("start_time must be a Unix epoch time in seconds") from exc
    if start > now - lag:
        raise _invalid("Too recent start_time. Use a start_time older than 1 minute")
    return start


def _per_page(params: Mapping[str, str], page_size: int) -> int:
    try:
        size = int(params.get("per_page", page_size))
    except ValueError as exc:
        raise _invalid("per_page must be a number") from exc
    return max(1, min(size, MAX_PAGE))


def _check_support_type(params: Mapping[str, str]) -> None:
    scope = params.get("support_type_scope", "agent")
    if scope not in _SCOPES:
        raise ZendeskError(
            400, {"error": "InvalidValue", "description": f"support_type_scope {scope}"}
        )


def encode_cursor(at: float, ticket_id: int) -> str:
    return base64.b64encode(f"{at!r}||{ticket_id}|".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[float, int]:
    try:
        at, _, rest = base64.b64decode(cursor, validate=True).decode().partition("||")
        return float(at), int(rest.rstrip("|"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid("Invalid cursor") from exc


def _visible(state: ZendeskState, params: Mapping[str, str], cutoff: float) -> list[Ticket]:
    exclude_deleted = params.get("exclude_deleted", "false").lower() == "true"
    found = [
        t
        for t in state.tickets.values()
        if t.generated <= cutoff and not (exclude_deleted and t.deleted_at is not None)
    ]
    return sorted(found, key=lambda t: (t.generated, t.id))


def sideloads(
    state: ZendeskState, include: str, tickets: Iterable[Ticket], base: str
) -> dict[str, Any]:
    """``include=users,organizations,groups`` for ticket lists (Tickets sideloads page)."""
    wanted = {w.strip() for w in include.split(",") if w.strip()}
    tickets = list(tickets)
    extra: dict[str, Any] = {}
    if "users" in wanted:
        ids = {u for t in tickets for u in (t.requester_id, t.submitter_id, t.assignee_id) if u}
        extra["users"] = [
            render_user(state.users[u], base) for u in sorted(ids) if u in state.users
        ]
    if "organizations" in wanted:
        ids = {t.organization_id for t in tickets if t.organization_id}
        extra["organizations"] = [
            {
                "id": o,
                "name": state.organizations[o],
                "url": f"{base}/api/v2/organizations/{o}.json",
            }
            for o in sorted(ids)
            if o is not None
        ]
    if "groups" in wanted:
        ids = {t.group_id for t in tickets if t.group_id}
        extra["groups"] = [{"id": g, "name": state.groups[g]} for g in sorted(ids) if g is not None]
    return extra


@dataclass(frozen=True, slots=True)
class Window:
    """One export request's present: what it may show and how it links onwards."""

    now: float
    lag: float
    base: str
    page_size: int

    @property
    def cutoff(self) -> float:
        return self.now - self.lag


def _time_page(
    items: list[Any], start: int, size: int, window: Window, path: str, key: Callable[[Any], float]
) -> tuple[list[Any], dict[str, Any]]:
    """A time-based page: ``count``, ``end_time``, ``next_page``, ``end_of_stream``."""
    page, more = items[:size], len(items) > size
    end_time = int(key(page[-1])) if more else max(start, int(window.cutoff))
    return page, {
        "count": len(page),
        "end_time": end_time,
        "next_page": f"{window.base}{path}.json?start_time={end_time}",
        "end_of_stream": not more,
    }


def cursor_export(
    state: ZendeskState, params: Mapping[str, str], window: Window
) -> tuple[dict[str, Any], list[str]]:
    _check_support_type(params)
    if "cursor" in params:
        position = _decode_cursor(params["cursor"])
    else:
        position = (float(_start_time(params, window.now, window.lag)), -1)
    size = _per_page(params, window.page_size)
    base = window.base
    with state.lock:
        visible = _visible(state, params, window.cutoff)
        pending = [t for t in visible if (t.generated, t.id) > position]
        page, more = pending[:size], len(pending) > size
        last = (
            (page[-1].generated, page[-1].id) if more else (max(window.cutoff, position[0]), 2**62)
        )
        cursor = encode_cursor(*last)
        body: dict[str, Any] = {
            "tickets": [render_ticket(t, base, exported=True) for t in page],
            "after_cursor": cursor,
            "after_url": f"{base}/api/v2/incremental/tickets/cursor.json?cursor={cursor}",
            "before_cursor": None,
            "before_url": None,
            "end_of_stream": not more,
        }
        body.update(sideloads(state, params.get("include", ""), page, base))
    return body, [str(t.id) for t in page]


def time_export(
    state: ZendeskState, params: Mapping[str, str], window: Window
) -> tuple[dict[str, Any], list[str]]:
    _check_support_type(params)
    start = _start_time(params, window.now, window.lag)
    size = _per_page(params, window.page_size)
    with state.lock:
        pending = [t for t in _visible(state, params, window.cutoff) if t.generated >= start]
        path = "/api/v2/incremental/tickets"
        page, links = _time_page(pending, start, size, window, path, lambda t: t.generated)
        body = {"tickets": [render_ticket(t, window.base, exported=True) for t in page], **links}
        body.update(sideloads(state, params.get("include", ""), page, window.base))
    return body, [str(t.id) for t in page]


def ticket_events_export(
    state: ZendeskState, params: Mapping[str, str], window: Window
) -> dict[str, Any]:
    _check_support_type(params)
    start = _start_time(params, window.now, window.lag)
    with_comments = "comment_events" in params.get("include", "")
    size = _per_page(params, window.page_size)
    with state.lock:
        audits = sorted(
            (
                a
                for t in state.tickets.values()
                for a in t.audits
                if start <= a.created <= window.cutoff
            ),
            key=lambda a: (a.created, a.id),
        )
        path = "/api/v2/incremental/ticket_events"
        page, links = _time_page(audits, start, size, window, path, lambda a: a.created)
        events = [render_ticket_event(a, with_comments=with_comments) for a in page]
        return {"ticket_events": events, **links}
