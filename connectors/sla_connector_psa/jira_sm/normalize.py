"""Jira issue JSON (with the ``changelog`` expansion) and JSM comments -> canonical ``Ticket``.

Pure functions, no HTTP: the adapter fetches, this module decides what the data means.

Sources of each canonical event (DESIGN section 3):

- ``status``: the changelog's ``status`` items; plus one at ``created_at`` with the status
  the issue was born in (the ``fromString`` of its first status change, else the current
  status), so a ticket created straight into a paused or resolved status counts from birth.
- ``priority``: changelog ``priority`` items mapped back through ``priority_map`` (PSA
  priority name -> tier key). Only human changes count: changes by the integration's own
  account (our escalations) and by app accounts (automation rules) are skipped.
- tags: the issue's ``labels`` (Jira's tags; the runtime finds a step's marker tag there).
- ``assignee``: changelog ``assignee`` items (the person from ``users`` when the account id
  is mapped there, else the account id).
- ``public_reply`` / ``comment``: the issue's comments. A comment is *public* when its
  ``jsdPublic`` (platform API) or ``public`` (servicedeskapi) flag is true; internal notes
  become ``comment`` events. Who wrote a public comment:

  * an ``app`` account (Automation for Jira, other apps) -> an automatic message, recorded
    as a ``comment``, never an agent reply (SEMANTICS S07). servicedeskapi comments carry
    no account type, so there an app is recognised by id: Automation for Jira's fixed id,
    ``automation_accounts`` from the config, and app authors seen on the same issue;
  * the reporter, any account of type ``customer`` (portal-only accounts), an author that
    JSM flags as not able to see the request (``jsdAuthorCanSeeRequest: false``, an email
    from someone outside the issue), or an account already known as a customer on the issue
    -> ``by: customer``;
  * anyone else (a licensed Jira user answering in public) -> ``by: agent``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sla_connector.core.errors import TicketError
from sla_connector.core.ticket import Event, Ticket
from sla_connector_psa.values import aware_time, tier_of

__all__ = [
    "EMBEDDED_CHANGELOG_CAP",
    "ISSUE_FIELDS",
    "NormalizeContext",
    "adf_to_text",
    "changelog_is_complete",
    "comments_are_complete",
    "embedded_histories",
    "issue_key",
    "issue_to_ticket",
    "issue_updated",
    "parse_jira_time",
]

ISSUE_FIELDS: tuple[str, ...] = (
    "summary",
    "description",
    "status",
    "priority",
    "assignee",
    "reporter",
    "created",
    "updated",
    "resolutiondate",
    "labels",
    "comment",
    "project",
)
"""Fields every search asks for (the enhanced search returns only ``id`` by default)."""

_APP = "app"
AUTOMATION_FOR_JIRA = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"
"""The account Automation for Jira rules act as (the same id on every Cloud site)."""
_CUSTOMER = "customer"


@dataclass(frozen=True, slots=True)
class NormalizeContext:
    """What normalisation needs from the connector's configuration and identity."""

    source: str
    client_field: str  # a field id ("customfield_10002"), or "project"
    client_map: Mapping[str, str] = field(default_factory=dict)
    default_client: str = ""
    priority_map: Mapping[str, str] = field(default_factory=dict)  # tier -> PSA name
    users: Mapping[str, str] = field(default_factory=dict)  # person -> email or accountId
    channel_field: str | None = None
    self_account_id: str | None = None
    automation_accounts: frozenset[str] = frozenset()  # more app accounts (servicedeskapi)
    report_unmapped: Callable[[str, str], None] = lambda kind, value: None

    def tier_of(self, priority_name: str) -> str | None:
        """The tier whose mapped PSA priority is ``priority_name`` (case-insensitive)."""
        return tier_of(self.priority_map, priority_name)

    def client_of(self, names: Sequence[str]) -> str:
        """Client key of the first mapped name; unmapped -> the first name lowercased."""
        folded = {key.casefold(): value for key, value in self.client_map.items()}
        for name in names:
            if name in self.client_map:
                return self.client_map[name]
            if name.casefold() in folded:
                return folded[name.casefold()]
        if not names:
            return self.default_client
        for name in names:
            self.report_unmapped("organization", name)
        return names[0].lower()

    def person_of(self, account_id: str) -> str:
        """The configured person for an account id, else the id itself."""
        for person, target in self.users.items():
            if target == account_id:
                return person
        return account_id


def parse_jira_time(value: Any, what: str) -> datetime:
    """A Jira timestamp (``2026-11-02T09:14:00.000+0000``) as an aware UTC datetime."""
    return aware_time(value, what, "a timestamp").astimezone(UTC)


def _jsm_time(value: Any, what: str) -> datetime:
    """A servicedeskapi ``DateDTO`` (iso8601 / jira / epochMillis) as aware UTC."""
    if not isinstance(value, Mapping):
        raise TicketError(f"{what}: missing")
    for key in ("iso8601", "jira"):
        if isinstance(value.get(key), str):
            return parse_jira_time(value[key], what)
    millis = value.get("epochMillis")
    if isinstance(millis, int) and not isinstance(millis, bool):
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    raise TicketError(f"{what}: no usable date in {dict(value)!r}")


def issue_key(issue: Any) -> str | None:
    """The issue key, if the object has one (for rejection messages)."""
    if isinstance(issue, Mapping) and isinstance(issue.get("key"), str) and issue["key"]:
        return str(issue["key"])
    return None


def _fields(issue: Any) -> Mapping[str, Any]:
    if not isinstance(issue, Mapping):
        raise TicketError(f"issue: expected an object, got {type(issue).__name__}")
    if issue_key(issue) is None:
        raise TicketError("issue: key missing")
    fields = issue.get("fields")
    if not isinstance(fields, Mapping):
        raise TicketError(f"issue {issue['key']}: fields missing or not an object")
    return fields


def issue_updated(issue: Any) -> datetime:
    """``fields.updated`` of a search result (the dedupe half of ``(key, updated)``)."""
    fields = _fields(issue)
    return parse_jira_time(fields.get("updated"), f"issue {issue['key']}: fields.updated")


def adf_to_text(value: Any) -> str:
    """Plain text of an Atlassian Document Format tree (v3 bodies); strings pass through."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child)
            return
        if not isinstance(node, Mapping):
            return
        kind = node.get("type")
        if kind == "text" and isinstance(node.get("text"), str):
            parts.append(node["text"])
        elif kind == "hardBreak":
            parts.append("\n")
        walk(node.get("content"))
        if kind in ("paragraph", "heading", "listItem", "codeBlock", "blockquote"):
            parts.append("\n")

    walk(value)
    return "".join(parts).strip()


def embedded_histories(issue: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The histories of the ``changelog`` expansion (newest first as Jira sends them)."""
    changelog = issue.get("changelog")
    if not isinstance(changelog, Mapping):
        return []
    histories = changelog.get("histories")
    return [h for h in histories if isinstance(h, Mapping)] if isinstance(histories, list) else []


EMBEDDED_CHANGELOG_CAP = 40
"""The enhanced search embeds at most this many histories per issue (psa-apis.md
"Corrections and changes as of 2026-12"), and its ``total`` may count only those."""


def changelog_is_complete(issue: Mapping[str, Any]) -> bool:
    """False when the expansion is missing, holds fewer histories than ``total``, or holds
    as many as the search's cap: then it may be cut short whatever ``total`` says."""
    changelog = issue.get("changelog")
    if not isinstance(changelog, Mapping) or not isinstance(changelog.get("histories"), list):
        return False
    held = len(changelog["histories"])
    total = changelog.get("total")
    return held < EMBEDDED_CHANGELOG_CAP and not (isinstance(total, int) and total > held)


def _embedded_comments(fields: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    page = fields.get("comment")
    if isinstance(page, Mapping):
        page = page.get("comments")
    if not isinstance(page, list):
        return None
    return [c for c in page if isinstance(c, Mapping)]


def comments_are_complete(issue: Mapping[str, Any]) -> bool:
    """False when the ``comment`` field is absent or holds fewer comments than ``total``."""
    fields = issue.get("fields")
    if not isinstance(fields, Mapping):
        return True  # the issue is rejected anyway; do not fetch for it
    page = fields.get("comment")
    if isinstance(page, list):
        return True
    if not isinstance(page, Mapping) or not isinstance(page.get("comments"), list):
        return False
    total = page.get("total")
    return not (isinstance(total, int) and total > len(page["comments"]))


def _name(value: Any) -> str:
    if isinstance(value, Mapping):
        for key in ("name", "value", "key"):
            if isinstance(value.get(key), str):
                return str(value[key])
        return ""
    if isinstance(value, str):
        return value
    return ""


def _client_names(fields: Mapping[str, Any], client_field: str) -> list[str]:
    raw = fields.get(client_field)
    if client_field == "project" and isinstance(raw, Mapping):
        names = [raw.get("key"), raw.get("name")]
        return [n for n in names if isinstance(n, str) and n][:1] or []
    items = raw if isinstance(raw, list) else [raw]
    return [name for name in (_name(item) for item in items) if name]


def _account(user: Any) -> tuple[str | None, str | None]:
    if not isinstance(user, Mapping):
        return None, None
    account = user.get("accountId")
    kind = user.get("accountType")
    return (account if isinstance(account, str) else None, kind if isinstance(kind, str) else None)


@dataclass(slots=True)
class _Comment:
    at: datetime
    public: bool
    author_id: str | None
    author_type: str | None
    outsider: bool  # jsdAuthorCanSeeRequest is false


def _platform_comment(raw: Mapping[str, Any], key: str) -> _Comment:
    author_id, author_type = _account(raw.get("author"))
    public = raw.get("jsdPublic")
    return _Comment(
        at=parse_jira_time(raw.get("created"), f"issue {key}: comment {raw.get('id')} created"),
        public=public is not False,  # absent outside JSM projects: visible, per the spec
        author_id=author_id,
        author_type=author_type,
        outsider=raw.get("jsdAuthorCanSeeRequest") is False,
    )


def _jsm_comment(raw: Mapping[str, Any], key: str, apps: frozenset[str]) -> _Comment:
    # servicedeskapi authors carry no accountType: recognise app accounts by id.
    author_id, _ = _account(raw.get("author"))
    author_type = _APP if author_id in apps else None
    return _Comment(
        at=_jsm_time(raw.get("created"), f"issue {key}: comment {raw.get('id')} created"),
        public=raw.get("public") is not False,
        author_id=author_id,
        author_type=author_type,
        outsider=False,
    )


def _comment_events(comments: Iterable[_Comment], reporter_id: str | None) -> list[Event]:
    comments = sorted(comments, key=lambda c: c.at)
    customers = {c.author_id for c in comments if c.author_type == _CUSTOMER and c.author_id}
    if reporter_id:
        customers.add(reporter_id)
    events: list[Event] = []
    for comment in comments:
        if comment.author_type == _APP:
            events.append(Event(at=comment.at, type="comment", by="automation"))
        elif not comment.public:
            events.append(Event(at=comment.at, type="comment", by="agent"))
        elif (
            comment.outsider
            or comment.author_type == _CUSTOMER
            or (comment.author_id is not None and comment.author_id in customers)
        ):
            events.append(Event(at=comment.at, type="public_reply", by="customer"))
        else:
            events.append(Event(at=comment.at, type="public_reply", by="agent"))
    return events


def _app_accounts(
    comments: Iterable[_Comment], histories: Iterable[Mapping[str, Any]], ctx: NormalizeContext
) -> frozenset[str]:
    """App account ids known for this issue: configured, well-known, or seen with a type."""
    found = {AUTOMATION_FOR_JIRA, *ctx.automation_accounts}
    found |= {c.author_id for c in comments if c.author_type == _APP and c.author_id}
    for history in histories:
        account, kind = _account(history.get("author"))
        if kind == _APP and account:
            found.add(account)
    return frozenset(found)


def _changelog_events(
    histories: Iterable[Mapping[str, Any]], key: str, ctx: NormalizeContext
) -> tuple[list[Event], str | None]:
    """Events from the histories, and the status the issue was born in (if it changed)."""
    dated: list[tuple[datetime, Mapping[str, Any]]] = []
    for history in histories:
        at = parse_jira_time(
            history.get("created"), f"issue {key}: changelog {history.get('id')} created"
        )
        dated.append((at, history))
    dated.sort(key=lambda pair: pair[0])
    events: list[Event] = []
    born: str | None = None
    for at, history in dated:
        author_id, author_type = _account(history.get("author"))
        automatic = author_type == _APP or (
            ctx.self_account_id is not None and author_id == ctx.self_account_id
        )
        items = history.get("items")
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, Mapping):
                continue
            changed = item.get("fieldId") or item.get("field")
            to_string = item.get("toString")
            if changed == "status" and isinstance(to_string, str) and to_string:
                if born is None and isinstance(item.get("fromString"), str):
                    born = item["fromString"]
                events.append(Event(at=at, type="status", to=to_string))
            elif changed == "priority" and isinstance(to_string, str) and not automatic:
                tier = ctx.tier_of(to_string)
                if tier is None:
                    ctx.report_unmapped("priority", to_string)
                else:
                    events.append(Event(at=at, type="priority", to=tier))
            elif changed == "assignee":
                target = item.get("to")
                if isinstance(target, str) and target:
                    events.append(Event(at=at, type="assignee", to=ctx.person_of(target)))
    return events, born


def issue_to_ticket(
    issue: Any,
    ctx: NormalizeContext,
    *,
    histories: Sequence[Mapping[str, Any]] | None = None,
    jsm_comments: Sequence[Mapping[str, Any]] | None = None,
) -> Ticket:
    """The canonical ticket of one issue; raises ``TicketError`` when it cannot be read.

    ``histories`` replaces the embedded changelog (when it was truncated and fetched in
    full); ``jsm_comments`` (servicedeskapi ``CommentDTO`` objects) replaces the embedded
    comments likewise.
    """
    fields = _fields(issue)
    key = str(issue["key"])
    created = parse_jira_time(fields.get("created"), f"issue {key}: fields.created")
    updated = parse_jira_time(fields.get("updated"), f"issue {key}: fields.updated")
    status = _name(fields.get("status"))
    if not status:
        raise TicketError(f"issue {key}: fields.status missing")
    history_list = embedded_histories(issue) if histories is None else list(histories)
    change_events, born = _changelog_events(history_list, key, ctx)
    embedded = [_platform_comment(c, key) for c in _embedded_comments(fields) or []]
    if jsm_comments is not None:
        apps = _app_accounts(embedded, history_list, ctx)
        comments = [_jsm_comment(c, key, apps) for c in jsm_comments]
    else:
        comments = embedded
    reporter_id, _ = _account(fields.get("reporter"))
    events = [Event(at=created, type="status", to=born or status)]
    events += change_events
    events += _comment_events(comments, reporter_id)
    # Clamp clock skew so no event precedes creation, then keep time order (stable).
    events = [e if e.at >= created else Event(created, e.type, e.to, e.by) for e in events]
    events.sort(key=lambda e: e.at)
    assignee_id, _ = _account(fields.get("assignee"))
    labels = fields.get("labels")
    client_names = _client_names(fields, ctx.client_field)
    channel = _name(fields.get(ctx.channel_field)).lower() if ctx.channel_field else ""
    category = (
        fields.get("status", {}).get("statusCategory")
        if isinstance(fields.get("status"), Mapping)
        else None
    )
    extra: dict[str, Any] = {
        "key": key,
        "category": category.get("key") if isinstance(category, Mapping) else None,
        "jira_id": str(issue.get("id") or ""),
        "updated": updated.isoformat(),
        "assignee_account_id": assignee_id,
        "reporter_account_id": reporter_id,
        "organizations": client_names,
    }
    resolved = fields.get("resolutiondate")
    if isinstance(resolved, str) and resolved:
        extra["resolutiondate"] = parse_jira_time(
            resolved, f"issue {key}: resolutiondate"
        ).isoformat()
    return Ticket(
        id=key,
        source=ctx.source,
        client=ctx.client_of(client_names),
        created_at=created,
        subject=str(fields.get("summary") or ""),
        description=adf_to_text(fields.get("description")),
        channel=channel,
        source_priority=_name(fields.get("priority")),
        status=status,
        events=tuple(events),
        tags=tuple(str(label) for label in labels) if isinstance(labels, list) else (),
        extra=extra,
    )
