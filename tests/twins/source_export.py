"""The twins' own data as canonical tickets, written without the connectors.

``tests/twins/test_backfill.py`` checks that ``backfill`` (the shipped connectors reading the
twins over HTTP) loses and invents nothing: ``audit`` over its output must agree with
``audit`` over these exports. An export built with the connectors' normalisers would agree
with them by construction, so nothing here imports ``sla_connector_psa``: each exporter reads
the twin's stored state (its tickets, audits, comments, notes, audit trail, changelogs) and
writes the shape of docs/ticket-format.md, following the mapping tables of
docs/connectors/<vendor>.md and the vendor behaviour the twin models (its module docstrings
cite the vendor pages). Only what a four-month audit reads is covered: status, reply,
comment, assignee and manual priority events; ``client``, ``channel``, ``source_priority``,
subject, description and tags. Deleted tickets are left out (a backfill cannot read them);
merges and moves are not modelled (the backfill scenario has none).

Times are written as whole UTC seconds with ``Z``: the three vendors' APIs give whole
seconds (Jira's ``.000`` milliseconds are always zero in the twin), so a fractional twin
clock never makes the two sides differ by a rounding.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from tests.twins.connectwise import ConnectWiseTwin
from tests.twins.jira_sm import JiraTwin
from tests.twins.zendesk import ZendeskTwin

__all__ = ["export_connectwise", "export_jira", "export_zendesk"]


def _utc(instant: float) -> str:
    return datetime.fromtimestamp(int(instant), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _vendor_time(text: str) -> str:
    """``2026-11-02T09:14:00Z`` or Jira's ``2026-11-02T09:14:00.000+0000`` -> RFC 3339 UTC."""
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text.replace("Z", "+00:00"))
    return _utc(datetime.fromisoformat(text).timestamp())


def _tier_of(priority_map: Mapping[str, str], value: str) -> str | None:
    """The first tier ``priority_map`` maps to this vendor priority (case-insensitive)."""
    return next((t for t, v in priority_map.items() if v.lower() == value.lower()), None)


def _ordered(events: list[tuple[str, int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Events by time; at one instant, in the order the twin recorded them."""
    return [event for _, _, event in sorted(events, key=lambda e: (e[0], e[1]))]


# -- Zendesk -----------------------------------------------------------------------------

# docs/connectors/zendesk.md, the `channel` row (Zendesk's ``via.channel`` values).
_ZENDESK_CHANNELS = {
    **dict.fromkeys(("email", "mail"), "email"),
    **dict.fromkeys(
        ("web", "web_form", "help_center", "mobile", "mobile_sdk", "any_channel"), "portal"
    ),
    **dict.fromkeys(
        ("chat", "web_widget", "native_messaging", "messaging", "chat_transcript"), "chat"
    ),
    **dict.fromkeys(("voice", "phone", "phone_call_inbound", "sms"), "phone"),
    **dict.fromkeys(("api", "rule", "system"), "api"),
}


def export_zendesk(
    twin: ZendeskTwin, source: str, settings: Mapping[str, Any]
) -> Iterator[dict[str, Any]]:
    """Each live ticket with its audits: the first audit's comment is the description and
    a status other than ``new`` at creation is a status event; later comments are replies
    (public, by an agent or admin who is not the requester: ``agent``; by the requester or
    an end user: ``customer``) or comments (private, or via an automatic channel); status,
    priority (by a person, mapped back to a tier) and assignee changes are events."""
    state = twin.state
    priority_map: Mapping[str, str] = settings.get("priority_map") or {}
    automatic = set(settings.get("automatic_channels") or ("rule",))
    client_map: Mapping[str, str] = settings.get("client_map") or {}
    with state.lock:
        for ticket in sorted(state.tickets.values(), key=lambda t: t.id):
            if ticket.deleted_at is not None:
                continue
            events: list[tuple[str, int, dict[str, Any]]] = []
            for audit_no, audit in enumerate(ticket.audits):
                at = _utc(audit.created)
                author = state.users.get(audit.author_id)
                for event in audit.events:
                    seq = len(events)
                    if audit_no == 0:
                        born = event.type == "Create" and event.field == "status"
                        if born and event.value != "new":
                            events.append(
                                (at, seq, {"at": at, "type": "status", "to": event.value})
                            )
                        continue  # the first comment is the description, never a reply
                    if event.type == "Comment" and event.comment is not None:
                        note = event.comment
                        writer = state.users.get(note.author_id)
                        if not note.public or note.via in automatic or writer is None:
                            events.append((at, seq, {"at": at, "type": "comment"}))
                        elif writer.role == "end-user" or writer.id == ticket.requester_id:
                            events.append(
                                (at, seq, {"at": at, "type": "public_reply", "by": "customer"})
                            )
                        else:
                            events.append(
                                (at, seq, {"at": at, "type": "public_reply", "by": "agent"})
                            )
                    elif event.type == "Change" and event.field == "status":
                        events.append((at, seq, {"at": at, "type": "status", "to": event.value}))
                    elif event.type == "Change" and event.field == "priority" and event.value:
                        tier = _tier_of(priority_map, str(event.value))
                        person = author is not None and author.id != twin.account.api_user
                        if tier is not None and person and audit.via not in automatic:
                            events.append((at, seq, {"at": at, "type": "priority", "to": tier}))
                    elif event.type == "Change" and event.field == "assignee_id":
                        to = "" if event.value is None else str(event.value)
                        events.append((at, seq, {"at": at, "type": "assignee", "to": to}))
            org = state.organizations.get(ticket.organization_id or 0)
            client = (
                client_map.get(org, org.lower())
                if org
                else str(settings.get("default_client") or "")
            )
            yield {
                "id": str(ticket.id),
                "source": source,
                "client": client,
                "subject": ticket.subject,
                "description": ticket.description,
                "channel": _ZENDESK_CHANNELS.get(ticket.via, ""),
                "source_priority": ticket.priority or "",
                "status": ticket.status,
                "created_at": _utc(ticket.created),
                "events": _ordered(events),
                "tags": list(ticket.tags),
            }


# -- ConnectWise -------------------------------------------------------------------------

_AUDIT_CHANGE = re.compile(r'^(?P<field>\w+) changed from "(?P<old>.*)" to "(?P<new>.*)"$')
# docs/connectors/connectwise.md, the `channel` row (the built-in table).
_CW_CHANNELS = {
    name: channel
    for names, channel in (
        ("email", "email"),
        ("phone call", "phone"),
        ("portal web", "portal"),
        ("chat teams", "chat"),
        ("monitoring rmm alert automate", "monitoring"),
        ("api", "api"),
    )
    for name in names.split()
}


def export_connectwise(
    twin: ConnectWiseTwin, source: str, settings: Mapping[str, Any]
) -> Iterator[dict[str, Any]]:
    """Each ticket with its audit trail, notes and time entries: the status it was born in
    at ``dateEntered``, each ``Status``/``Priority``/``Owner`` change the trail records,
    discussion or resolution notes by a member (not the first note, the description; not by
    an automation or API member) and Discussion time entries as agent replies, notes by the
    contact as customer replies, internal notes and internal time entries as comments."""
    state = twin.state
    priority_map: Mapping[str, str] = settings.get("priority_map") or {}
    client_map: Mapping[str, str] = settings.get("client_map") or {}
    channel_map: Mapping[str, str] = settings.get("channel_map") or {}
    automatic = {m.identifier for m in state.members.values() if m.license_class == "A"}
    automatic |= set(settings.get("automation_members") or ())
    with state.lock:
        for tid in sorted(state.tickets):
            record = state.tickets[tid]
            data = record.data
            created = _vendor_time(data["_info"]["dateEntered"])
            events: list[tuple[str, int, dict[str, Any]]] = []
            born = data["status"]["name"]
            trail: list[tuple[str, dict[str, str]]] = []
            for entry in record.audit:
                found = _AUDIT_CHANGE.match(entry["text"])
                if found:
                    trail.append((_vendor_time(entry["enteredDate"]), entry | found.groupdict()))
            statuses = [change for _, change in trail if change["field"] == "Status"]
            if statuses:
                born = statuses[0]["old"]
            events.append((created, 0, {"at": created, "type": "status", "to": born}))
            for at, change in trail:
                seq = len(events)
                if change["field"] == "Status":
                    events.append((at, seq, {"at": at, "type": "status", "to": change["new"]}))
                elif change["field"] == "Owner":
                    events.append((at, seq, {"at": at, "type": "assignee", "to": change["new"]}))
                elif change["field"] == "Priority" and change["enteredBy"] not in automatic:
                    tier = _tier_of(priority_map, change["new"])
                    if tier is not None:
                        events.append((at, seq, {"at": at, "type": "priority", "to": tier}))
            # The twin writes the description as the first note, at creation (model).
            description = record.notes[0]["text"] if record.notes else ""
            for note in record.notes[1:]:
                at = _vendor_time(note["dateCreated"])
                seq = len(events)
                public = note["detailDescriptionFlag"] or note["resolutionFlag"]
                member = (note.get("member") or {}).get("identifier")
                if not public:
                    events.append((at, seq, {"at": at, "type": "comment"}))
                elif note.get("contact"):
                    events.append((at, seq, {"at": at, "type": "public_reply", "by": "customer"}))
                elif member and member not in automatic:
                    events.append((at, seq, {"at": at, "type": "public_reply", "by": "agent"}))
            for entry in record.time_entries:
                at = _vendor_time(entry["dateEntered"])
                seq = len(events)
                if entry["addToDetailDescriptionFlag"] or entry["addToResolutionFlag"]:
                    events.append((at, seq, {"at": at, "type": "public_reply", "by": "agent"}))
                else:
                    events.append((at, seq, {"at": at, "type": "comment"}))
            company = data["company"]["identifier"]
            origin = data["source"]["name"]
            yield {
                "id": str(tid),
                "source": source,
                "client": client_map.get(company, company.lower()),
                "subject": data["summary"],
                "description": description,
                "channel": channel_map.get(origin, _CW_CHANNELS.get(origin.lower(), "")),
                "source_priority": data["priority"]["name"],
                "status": data["status"]["name"],
                "created_at": created,
                "events": _ordered(events),
            }


# -- Jira Service Management -------------------------------------------------------------


def export_jira(
    twin: JiraTwin, source: str, settings: Mapping[str, Any]
) -> Iterator[dict[str, Any]]:
    """Each visible issue with its changelog and comments: one status event at creation
    with the status it was born in, each status change, assignee changes, priority changes
    by a person (mapped back to a tier); public comments by a licensed user who is not the
    reporter are agent replies, by the reporter or a customer account customer replies;
    internal comments and comments by app accounts are comments."""
    state = twin.state
    priority_map: Mapping[str, str] = settings.get("priority_map") or {}
    client_map = {k.lower(): v for k, v in (settings.get("client_map") or {}).items()}
    ours = twin.account.api_account
    with state.lock:
        for issue in sorted(state.visible(), key=lambda i: i.id):
            created = _utc(issue.created)
            status_items = [
                item for h in issue.histories for item in h["items"] if item["field"] == "status"
            ]
            born = status_items[0]["fromString"] if status_items else issue.status
            events: list[tuple[str, int, dict[str, Any]]] = [
                (created, 0, {"at": created, "type": "status", "to": born})
            ]
            for history in issue.histories:
                at = _vendor_time(history["created"])
                author = history["author"]
                for item in history["items"]:
                    seq = len(events)
                    if item["field"] == "status":
                        to = item["toString"]
                        events.append((at, seq, {"at": at, "type": "status", "to": to}))
                    elif item["field"] == "assignee":
                        to = item["to"] or ""
                        events.append((at, seq, {"at": at, "type": "assignee", "to": to}))
                    elif item["field"] == "priority":
                        person = author["accountType"] != "app" and author["accountId"] != ours
                        tier = _tier_of(priority_map, item["toString"])
                        if person and tier is not None:
                            events.append((at, seq, {"at": at, "type": "priority", "to": tier}))
            for comment in issue.comments:
                at = _utc(comment.created)
                seq = len(events)
                writer = state.users[comment.author]
                if not comment.public or writer.kind == "app":
                    events.append((at, seq, {"at": at, "type": "comment"}))
                elif comment.author == issue.reporter or writer.kind == "customer":
                    events.append((at, seq, {"at": at, "type": "public_reply", "by": "customer"}))
                else:
                    events.append((at, seq, {"at": at, "type": "public_reply", "by": "agent"}))
            mapped = next(
                (client_map[o.lower()] for o in issue.organizations if o.lower() in client_map),
                None,
            )
            first = issue.organizations[0].lower() if issue.organizations else ""
            yield {
                "id": issue.key,
                "source": source,
                "client": mapped or first or str(settings.get("default_client") or ""),
                "subject": issue.summary,
                # The twin renders the summary as the description's one paragraph (routes).
                "description": issue.summary,
                "channel": "",
                "source_priority": issue.priority,
                "status": issue.status,
                "created_at": created,
                "events": _ordered(events),
                "tags": list(issue.labels),
            }
