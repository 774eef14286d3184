"""Zendesk custom ticket statuses: the name a status event carries.

A Zendesk ticket's ``status`` is only its category (``new``, ``open``, ``pending``, ``hold``,
``solved``); with custom ticket statuses the status an agent picked is ``custom_status_id``,
and a move between two statuses of one category changes ``custom_status_id`` alone
(psa-apis.md "Corrections and changes as of 2026-12"; spec ``TicketObject.custom_status_id``;
developer.zendesk.com/api-reference/ticketing/tickets/custom_ticket_statuses/). The names come
from ``GET /api/v2/custom_statuses`` (``agent_label``, ``status_category``, ``default``).

The canonical status is the custom status's agent label when the configuration names that
label in ``paused_statuses``, ``resolved_statuses`` or ``responded_statuses``; otherwise its
category. So a configuration that names only categories (``paused_statuses: [pending]``)
behaves exactly as before, and one that names ``Pending - vendor`` can tell it apart from
``Pending - customer``. Pure: the connector fetches, this module decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sla_connector_psa.values import optional_int

__all__ = ["CATEGORIES", "CustomStatus", "StatusNames", "parse_custom_statuses"]

CATEGORIES = ("new", "open", "pending", "hold", "solved", "closed")


@dataclass(frozen=True, slots=True)
class CustomStatus:
    id: int
    category: str
    label: str
    default: bool


def parse_custom_statuses(body: Any) -> dict[int, CustomStatus]:
    """The ``custom_statuses`` list of ``GET /api/v2/custom_statuses``, by id."""
    items = body.get("custom_statuses") if isinstance(body, Mapping) else None
    found: dict[int, CustomStatus] = {}
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, Mapping):
            continue
        sid = optional_int(item.get("id"))
        category = item.get("status_category")
        label = item.get("agent_label") or item.get("raw_agent_label")
        if sid is None or not isinstance(category, str) or not isinstance(label, str):
            continue
        found[sid] = CustomStatus(sid, category, label, bool(item.get("default")))
    return found


class StatusNames:
    """Status names for events and tickets, from the known custom statuses and the config."""

    def __init__(self, configured: Iterable[str]) -> None:
        self.configured = frozenset(name.casefold() for name in configured)
        self.known: dict[int, CustomStatus] = {}

    @property
    def labels_matter(self) -> bool:
        """Whether a custom status's label can change a name: only when the configuration
        names a status that is not a category. Otherwise the category the ticket and its
        status changes carry is the name (a move within one category changes only
        ``custom_status_id`` and so changes no name), and the statuses need not be read."""
        return any(name not in CATEGORIES for name in self.configured)

    def learn(self, statuses: Mapping[int, CustomStatus]) -> None:
        self.known.update(statuses)

    def unknown(self, custom_id: Any) -> bool:
        sid = optional_int(custom_id)
        return sid is not None and sid not in self.known

    def category_of(self, custom_id: Any) -> str | None:
        found = self.known.get(optional_int(custom_id) or -1)
        return found.category if found else None

    def name(self, category: Any, custom_id: Any) -> str:
        """The status to show: the custom label when configured, else the category."""
        found = self.known.get(optional_int(custom_id) or -1)
        text = str(category) if isinstance(category, str) and category else ""
        if found is not None:
            if found.label.casefold() in self.configured:
                return found.label
            if not text or text not in ("closed", found.category):
                text = found.category  # the category of the status the ticket is in
        return text

    def unmatched(self) -> list[str]:
        """Configured names that are neither a category nor a known custom status."""
        labels = {s.label.casefold() for s in self.known.values()}
        return sorted(n for n in self.configured if n not in CATEGORIES and n not in labels)
