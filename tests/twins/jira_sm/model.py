"""The Jira Service Management twin's state: users, projects, issues, changelogs, comments.

Every change goes through ``JiraState`` (the API's writes and the Python methods a scenario
uses alike), so every field change adds a changelog history by whoever made it and moves the
issue's ``updated``, and is journalled. Sources of the rules:

- issue fields and the changelog shape (``histories[]`` of ``{id, author, created,
  items[{field, fieldId, from, fromString, to, toString}]}``): spec
  ``/rest/api/3/issue/{issueIdOrKey}`` (``IssueBean``, ``Changelog``, ``ChangeDetails``) in
  ``jira-platform.json``; psa-apis.md section 2;
- statuses belong to a category (``new``, ``indeterminate``, ``done``): spec
  ``StatusCategory``; psa-apis.md section 2.4;
- comments: platform ``Comment`` with ``jsdPublic`` (spec) and servicedeskapi
  ``CommentDTO`` with ``public`` (``jira-servicemanagement.json``); an internal comment is
  ``public: false`` (psa-apis.md section 2.5);
- ``update.labels [{add}]`` adds a label, ``fields.labels`` replaces them: spec
  ``IssueUpdateDetails``; psa-apis.md section 2.5;
- moving an issue to another project gives it a new key; the old key still finds it
  (Atlassian "Move an issue": the old key redirects [verify]); a deleted issue answers 404
  (spec ``/rest/api/3/issue/{issueIdOrKey}`` 404); an archived project's issues are out of
  every search and naming the project fails the JQL (``jql.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from typing import Any

from tests.twins.clock import Clock
from tests.twins.journal import Journal, carried_step

__all__ = ["STATUSES", "Issue", "JiraError", "JiraState", "User", "jira_time"]

STATUSES = {
    "Open": "new",
    "In Progress": "indeterminate",
    "Waiting for customer": "indeterminate",
    "Waiting for support": "indeterminate",
    "Resolved": "done",
    "Closed": "done",
}
CATEGORY_NAMES = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}
PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
ORGANIZATIONS_FIELD = "customfield_10002"


def jira_time(instant: float) -> str:
    """Jira's timestamps: ``2026-11-02T09:14:00.000+0000`` (psa-apis.md section 4)."""
    return datetime.fromtimestamp(instant, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class JiraError(Exception):
    """An error answer: status and Jira's ``{errorMessages, errors}`` body."""

    def __init__(self, status: int, *messages: str, headers: Mapping[str, str] | None = None):
        super().__init__(f"{status} {messages}")
        self.status = status
        self.body: dict[str, Any] = {"errorMessages": list(messages), "errors": {}}
        self.headers = dict(headers or {})


@dataclass
class User:
    account_id: str
    name: str
    email: str
    kind: str  # atlassian | customer | app
    time_zone: str = "Europe/London"

    def ref(self) -> dict[str, Any]:
        return {
            "accountId": self.account_id,
            "displayName": self.name,
            "emailAddress": self.email,
            "active": True,
            "timeZone": self.time_zone,
            "accountType": self.kind,
        }


@dataclass
class Comment:
    id: int
    author: str
    body: str
    public: bool
    created: float


@dataclass
class Issue:
    id: int
    key: str
    project: str
    summary: str
    status: str
    priority: str
    reporter: str
    created: float
    updated: float
    organizations: list[str]
    assignee: str | None = None
    labels: list[str] = field(default_factory=list)
    histories: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    comments: list[Comment] = field(default_factory=list)
    former_keys: set[str] = field(default_factory=set)
    resolved: float | None = None

    @property
    def category(self) -> str:
        return STATUSES[self.status]


class JiraState:
    """One Jira Cloud site's data; every method takes the state's lock."""

    def __init__(self, clock: Clock, journal: Journal) -> None:
        self.clock = clock
        self.journal = journal
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.projects: dict[str, dict[str, Any]] = {}  # key -> {id, name, archived, next}
        self.issues: dict[str, Issue] = {}  # current key -> issue
        self._ids = count(10_001)
        self._history_ids = count(50_001)
        self._comment_ids = count(70_001)

    # -- directory --------------------------------------------------------------------

    def add_user(self, account_id: str, name: str, email: str, kind: str = "atlassian") -> str:
        with self.lock:
            self.users[account_id] = User(account_id, name, email, kind)
            return account_id

    def add_project(self, key: str, name: str) -> None:
        with self.lock:
            pid = 10_000 + len(self.projects)
            self.projects[key] = {
                "id": str(pid),
                "key": key,
                "name": name,
                "archived": False,
                "next": 1,
            }

    def known_project(self, key: str) -> bool:
        project = self.projects.get(key)
        return project is not None and not project["archived"]

    def find(self, key: str) -> Issue:
        """The issue by its key or a key it had before a move; 404 when deleted or unknown."""
        key = key.upper()
        issue = self.issues.get(key) or next(
            (i for i in self.issues.values() if key in i.former_keys), None
        )
        if issue is None or not self.known_project(issue.project):
            raise JiraError(404, "Issue does not exist or you do not have permission to see it.")
        return issue

    def visible(self) -> list[Issue]:
        return [i for i in self.issues.values() if self.known_project(i.project)]

    # -- changes ----------------------------------------------------------------------

    def create_issue(
        self,
        project: str,
        summary: str,
        *,
        reporter: str,
        priority: str = "Medium",
        organizations: Iterable[str] = (),
        status: str = "Open",
    ) -> str:
        with self.lock:
            now = self.clock()
            meta = self.projects[project]
            key = f"{project}-{meta['next']}"
            meta["next"] += 1
            self.issues[key] = Issue(
                next(self._ids),
                key,
                project,
                summary,
                status,
                priority,
                reporter,
                now,
                now,
                list(organizations),
            )
            return key

    def change(
        self,
        key: str,
        values: Mapping[str, Any],
        *,
        by: str,
        labels_added: Iterable[str] = (),
        request: int | None = None,
        principal: str = "",
    ) -> Issue:
        """Set ``status``/``priority``/``assignee``/``labels`` atomically; one history."""
        with self.lock:
            issue = self.find(key)
            items: list[dict[str, Any]] = []
            kinds: list[tuple[str, str, bool]] = []
            if "status" in values:
                if values["status"] not in STATUSES:
                    raise JiraError(400, f"Status '{values['status']}' is not valid")
                items.append(self._item("status", issue.status, values["status"]))
                kinds.append(("status", values["status"], issue.status != values["status"]))
            if "priority" in values:
                if values["priority"] not in PRIORITIES:
                    raise JiraError(400, f"Priority name '{values['priority']}' is not valid")
                items.append(self._item("priority", issue.priority, values["priority"]))
                kinds.append(("priority", values["priority"], issue.priority != values["priority"]))
            if "assignee" in values:
                account = values["assignee"]
                if account is not None and account not in self.users:
                    raise JiraError(400, f"User '{account}' does not exist")
                items.append(self._item("assignee", issue.assignee or "", account or "", ids=True))
                kinds.append(("assignee", account or "", issue.assignee != account))
            labels = list(values["labels"]) if "labels" in values else list(issue.labels)
            labels += [label for label in labels_added if label not in labels]
            if labels != issue.labels:
                items.append(self._item("labels", " ".join(issue.labels), " ".join(labels)))
            tags = [t for t in labels if t not in issue.labels]
            marker, step = carried_step(issue.key, [], tags or list(labels_added))
            now = self.clock()
            for label in labels_added:
                self._journal(
                    now, request, principal, issue.key, "tag", label, marker, step, label in tags
                )
            for kind, value, changed in kinds:
                self._journal(
                    now, request, principal, issue.key, kind, value, marker, step, changed
                )
            items = [i for i in items if i["fromString"] != i["toString"]]
            if not items:
                return issue
            issue.status = values.get("status", issue.status)
            issue.priority = values.get("priority", issue.priority)
            if "assignee" in values:
                issue.assignee = values["assignee"]
            issue.labels = labels
            if issue.category == "done" and issue.resolved is None:
                issue.resolved = now
            elif issue.category != "done":
                issue.resolved = None
            issue.histories.append(
                {
                    "id": str(next(self._history_ids)),
                    "author": self.users[by].ref(),
                    "created": jira_time(now),
                    "items": items,
                }
            )
            issue.updated = now
            return issue

    def _item(self, name: str, old: str, new: str, *, ids: bool = False) -> dict[str, Any]:
        return {
            "field": name,
            "fieldtype": "jira",
            "fieldId": name,
            "from": old if ids else None,
            "fromString": self.users[old].name if ids and old in self.users else old,
            "to": new if ids else None,
            "toString": self.users[new].name if ids and new in self.users else new,
        }

    def comment(
        self,
        key: str,
        body: str,
        *,
        by: str,
        public: bool,
        request: int | None = None,
        principal: str = "",
    ) -> Comment:
        if not body.strip():
            raise JiraError(400, "Comment body can not be empty!")
        with self.lock:
            issue = self.find(key)
            now = self.clock()
            note = Comment(next(self._comment_ids), by, body, public, now)
            issue.comments.append(note)
            issue.updated = now
            marker, step = carried_step(issue.key, [body], [])
            kind = "public_comment" if public else "private_comment"
            self._journal(now, request, principal, issue.key, kind, body, marker, step, True)
            return note

    def delete(self, key: str, *, principal: str = "") -> None:
        with self.lock:
            issue = self.find(key)
            del self.issues[issue.key]
            self._journal(
                self.clock(), None, principal, issue.key, "status", "deleted", "", "", True
            )

    def move(self, key: str, project: str, *, by: str) -> str:
        """Move an issue to another project: a new key; the old one still finds it."""
        with self.lock:
            issue = self.find(key)
            meta = self.projects[project]
            new_key = f"{project}-{meta['next']}"
            meta["next"] += 1
            del self.issues[issue.key]
            issue.former_keys.add(issue.key)
            issue.key, issue.project = new_key, project
            now = self.clock()
            issue.histories.append(
                {
                    "id": str(next(self._history_ids)),
                    "author": self.users[by].ref(),
                    "created": jira_time(now),
                    "items": [self._item("project", key, project), self._item("Key", key, new_key)],
                }
            )
            issue.updated = now
            self.issues[new_key] = issue
            return new_key

    def _journal(
        self,
        now: float,
        request: int | None,
        principal: str,
        key: str,
        kind: str,
        value: Any,
        marker: str,
        step: str,
        changed: bool,
    ) -> None:
        self.journal.record_write(
            at=now,
            request=request,
            principal=principal,
            ticket=key,
            kind=kind,
            value="" if value is None else str(value),
            marker=marker,
            step=step,
            changed=changed,
        )
