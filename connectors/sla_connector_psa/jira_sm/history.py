"""The full history of one Jira issue, read only where the search's embedded copy is cut short.

The enhanced search embeds the changelog (``expand=changelog``) and the ``comment`` field;
when either holds fewer items than its ``total``, the connector pages
``/rest/api/3/issue/{key}/changelog`` (``startAt``) or the servicedeskapi comments of the
request (``/rest/servicedeskapi/request/{key}/comment``, ``start``; they say which comments
are internal). Both stop at ``MAX_SUBPAGES`` pages, a guard against a server that never says
it is done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote

from sla_connector.core.errors import TicketError

__all__ = ["MAX_SUBPAGES", "Get", "all_histories", "all_jsm_comments", "issue_path", "request_path"]

MAX_SUBPAGES = 200

Get = Callable[[str, Mapping[str, Any] | None], Awaitable[Any]]
"""A JSON GET through the connector's budgeted, authenticated HTTP layer."""


def issue_path(key: str, suffix: str = "") -> str:
    return f"/rest/api/3/issue/{quote(key, safe='')}{suffix}"


def request_path(key: str, suffix: str = "") -> str:
    return f"/rest/servicedeskapi/request/{quote(key, safe='')}{suffix}"


async def _paged(
    get: Get, path: str, what: str, keys: tuple[str, str], last: Callable[[Any, int], bool]
) -> list[Mapping[str, Any]]:
    """Every value of a ``values`` list endpoint; ``keys`` name its start and limit params."""
    items: list[Mapping[str, Any]] = []
    start = 0
    for _ in range(MAX_SUBPAGES):
        page = await get(path, {keys[0]: start, keys[1]: 100})
        values = page.get("values") if isinstance(page, Mapping) else None
        if not isinstance(values, list):
            raise TicketError(f"{what} page without values")
        items += [v for v in values if isinstance(v, Mapping)]
        start += len(values)
        if not values or last(page, start):
            break
    return items


async def all_histories(get: Get, key: str) -> list[Mapping[str, Any]]:
    """Every changelog of one issue, oldest first, paging ``startAt``."""

    def last(page: Any, seen: int) -> bool:
        total = page.get("total")
        return page.get("isLast") is True or (isinstance(total, int) and seen >= total)

    path = issue_path(key, "/changelog")
    return await _paged(get, path, f"issue {key}: changelog", ("startAt", "maxResults"), last)


async def all_jsm_comments(get: Get, key: str) -> list[Mapping[str, Any]]:
    """Every servicedeskapi comment (public and internal) of one request."""

    def last(page: Any, seen: int) -> bool:
        return page.get("isLastPage") is not False

    path = request_path(key, "/comment")
    return await _paged(get, path, f"request {key}: comment", ("start", "limit"), last)
