"""The Zendesk twin's JSON shapes, from the spec's schemas and the vendor's examples.

- Ticket: spec ``components.schemas.TicketObject`` (``generated_timestamp`` in exports only,
  as in ``CursorBasedExportIncrementalTicketsResponseExample``).
- Audit and its events: spec ``TicketAuditObject`` and ``TicketAuditsForTicketResponseExample``
  (``Change`` with ``field_name``/``value``/``previous_value``; ids as integers).
- Comment: spec ``TicketCommentObject``.
- Ticket event (incremental ticket events): each audit is one item with ``timestamp``,
  ``updater_id``, ``via`` as a display string, ``event_type: "Audit"`` and ``child_events``:
  a change names its field as the key, with ``previous_value`` [3p: facetoe/zenpy
  ``specification/zendesk/ticket_event.json``; airbytehq source-zendesk-support unit-test
  fixture ``TICKET_EVENTS_STREAM_RESPONSE``]; a comment is only ``comment_present`` /
  ``comment_public`` unless ``include=comment_events`` (spec
  ``/api/v2/incremental/ticket_events`` description). The display names of ``via`` and
  the ``added_tags``/``removed_tags`` keys of a tags change are [verify].
- User: spec ``UserForAdmin`` (subset); custom status: spec ``CustomStatusObject``.
"""

from __future__ import annotations

from typing import Any

from tests.twins.zendesk.model import Audit, Comment, CustomStatus, Event, Ticket, User, iso

__all__ = [
    "render_audit",
    "render_comment",
    "render_custom_status",
    "render_ticket",
    "render_ticket_event",
    "render_user",
]

_VIA_DISPLAY = {
    "web": "Web form",
    "email": "Mail",
    "api": "Web service",
    "rule": "Rule",
    "merge": "Merge",
    "system": "System",
}


def _via(channel: str) -> dict[str, Any]:
    if channel == "merge":
        return {"channel": "web", "source": {"from": {}, "to": {}, "rel": "merge"}}
    return {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}}


def render_ticket(ticket: Ticket, base: str, *, exported: bool = False) -> dict[str, Any]:
    deleted = ticket.deleted_at is not None
    data: dict[str, Any] = {
        "id": ticket.id,
        "url": f"{base}/api/v2/tickets/{ticket.id}.json",
        "external_id": None,
        "created_at": iso(ticket.created),
        "updated_at": iso(ticket.updated),
        "type": ticket.type,
        "subject": ticket.subject,
        "raw_subject": ticket.subject,
        "description": ticket.description,
        "priority": ticket.priority,
        "status": "deleted" if deleted and exported else ticket.status,
        "custom_status_id": ticket.custom_status_id,
        "recipient": None,
        "requester_id": ticket.requester_id,
        "submitter_id": ticket.submitter_id,
        "assignee_id": ticket.assignee_id,
        "organization_id": ticket.organization_id,
        "group_id": ticket.group_id,
        "collaborator_ids": [],
        "follower_ids": [],
        "email_cc_ids": [],
        "forum_topic_id": None,
        "problem_id": None,
        "has_incidents": False,
        "is_public": ticket.is_public,
        "due_at": None,
        "tags": list(ticket.tags),
        "custom_fields": [],
        "satisfaction_rating": None,
        "sharing_agreement_ids": [],
        "followup_ids": [],
        "ticket_form_id": None,
        "brand_id": None,
        "allow_channelback": False,
        "allow_attachments": True,
        "from_messaging_channel": False,
        "via": _via(ticket.via),
    }
    if exported:
        data["generated_timestamp"] = int(ticket.generated)
    return data


def render_comment(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "type": "Comment",
        "author_id": comment.author_id,
        "body": comment.body,
        "html_body": f'<div class="zd-comment" dir="auto">{comment.body}</div>',
        "plain_body": comment.body,
        "public": comment.public,
        "attachments": [],
        "audit_id": comment.audit_id,
        "via": _via(comment.via),
        "created_at": iso(comment.created),
        "metadata": {"system": {}, "custom": {}},
    }


def _render_event(event: Event) -> dict[str, Any]:
    if event.type == "Comment":
        assert event.comment is not None
        found = render_comment(event.comment)
        found["id"] = event.id
        for key in ("created_at", "metadata", "via"):
            found.pop(key)
        return found
    data: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "field_name": event.field,
        "value": event.value,
    }
    if event.type == "Change":
        data["previous_value"] = event.previous
    return data


def render_audit(audit: Audit) -> dict[str, Any]:
    return {
        "id": audit.id,
        "ticket_id": audit.ticket_id,
        "created_at": iso(audit.created),
        "author_id": audit.author_id,
        "metadata": {"system": {}, "custom": {}},
        "via": _via(audit.via),
        "events": [_render_event(e) for e in audit.events],
    }


def _child_event(event: Event, via: str, *, with_comments: bool) -> dict[str, Any]:
    base: dict[str, Any] = {"id": event.id, "via": via, "via_reference_id": None}
    if event.type == "Comment":
        assert event.comment is not None
        if not with_comments:
            return {
                **base,
                "comment_present": True,
                "comment_public": event.comment.public,
                "event_type": "Comment",
            }
        found = render_comment(event.comment)
        found["id"] = event.id
        found.pop("metadata")
        return {**found, "via_reference_id": None, "event_type": "Comment"}
    assert event.field is not None
    data = {**base, event.field: event.value, "event_type": event.type}
    if event.type == "Change":
        data["previous_value"] = event.previous
        if event.field == "tags":
            old, new = list(event.previous or []), list(event.value or [])
            data["added_tags"] = [t for t in new if t not in old]
            data["removed_tags"] = [t for t in old if t not in new]
    return data


def render_ticket_event(audit: Audit, *, with_comments: bool) -> dict[str, Any]:
    via = _VIA_DISPLAY.get(audit.via, audit.via.capitalize())
    return {
        "id": audit.id,
        "ticket_id": audit.ticket_id,
        "timestamp": int(audit.created),
        "created_at": iso(audit.created),
        "updater_id": audit.author_id,
        "via": via,
        "system": {},
        "metadata": {},
        "event_type": "Audit",
        "child_events": [_child_event(e, via, with_comments=with_comments) for e in audit.events],
    }


def render_user(user: User, base: str) -> dict[str, Any]:
    return {
        "id": user.id,
        "url": f"{base}/api/v2/users/{user.id}.json",
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "organization_id": user.organization_id,
        "active": True,
        "verified": True,
        "suspended": user.suspended,
        "created_at": iso(user.created),
        "updated_at": iso(user.created),
        "time_zone": "UTC",
        "iana_time_zone": "Etc/UTC",
        "locale": "en-US",
        "tags": [],
        "user_fields": {},
    }


def render_anonymous() -> dict[str, Any]:
    # GET /api/v2/users/me is "Allowed For: Anonymous users" (spec ShowCurrentUser).
    return {"id": None, "url": None, "name": "Anonymous user", "email": None, "role": "end-user"}


def render_custom_status(status: CustomStatus, base: str) -> dict[str, Any]:
    return {
        "url": f"{base}/api/v2/custom_statuses/{status.id}.json",
        "id": status.id,
        "status_category": status.category,
        "agent_label": status.agent_label,
        "raw_agent_label": status.agent_label,
        "end_user_label": status.end_user_label,
        "raw_end_user_label": status.end_user_label,
        "description": "",
        "raw_description": "",
        "end_user_description": "",
        "raw_end_user_description": "",
        "active": status.active,
        "default": status.default,
        "created_at": iso(status.created),
        "updated_at": iso(status.created),
    }
