"""The Jira Service Management connector under the contract suite, on a small stateful Jira.

``FakeJira`` holds the five issues of the recorded search pages and answers what the
connector asks, modelled on the documentation (psa-apis.md, Jira; the paths are those of
``jira-combined.json``):

- ``GET /rest/api/3/search/jql``: JQL ``updated >= "yyyy-MM-dd HH:mm"`` read in the API
  user's profile time zone, ``statusCategory != Done OR ...``, ``ORDER BY updated ASC``,
  pages of ``maxResults`` chained by an opaque ``nextPageToken``, ``isLast`` on the last;
- ``PUT /rest/api/3/issue/{key}/assignee``, ``PUT /rest/api/3/issue/{key}`` (``fields``
  replace, ``update.labels`` add) and ``POST /rest/servicedeskapi/request/{key}/comment``
  change the issue and its ``updated`` (204, 204, 201), so a re-read shows the write;
- ``GET /rest/api/3/issue/{key}`` (404 for an unknown key) and its ``/changelog`` (the
  recorded histories, on one page), ``/myself``, ``/field``,
  ``/servicedeskapi/servicedesk``, ``/search/approximate-count`` from the recorded answers.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sla_connector_psa.jira_sm import JiraServiceManagement, parse_settings

from tests.connectors.contract import Case, FailingTransport

from .support import ENV, SETTINGS, FakeClock, Sleeps, load

NOW = datetime(2026, 11, 2, 18, 0, tzinfo=UTC)
_SINCE = re.compile(r'updated >= "([^"]+)"')
_ISSUE = re.compile(r"^/rest/api/3/issue/([^/]+)(/assignee)?$")
_COMMENT = re.compile(r"^/rest/servicedeskapi/request/([^/]+)/comment$")
_CHANGELOG = re.compile(r"^/rest/api/3/issue/([^/]+)/changelog$")


def _jira_time(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class FakeJira:
    """Issues by key, changed by the writes the connector sends."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.myself = load("myself.json")
        self.issues: dict[str, dict[str, Any]] = {}
        for page in ("search_page1.json", "search_page2.json", "search_page3.json"):
            for issue in load(page)["issues"]:
                self.issues[issue["key"]] = issue
        self.comments: dict[str, list[dict[str, Any]]] = {key: [] for key in self.issues}
        self.refused: set[str] = set()  # projects the search answers 400 for (archived)

    def _updated(self, issue: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(issue["fields"]["updated"]).astimezone(UTC)

    def touch(self, key: str) -> None:
        self.issues[key]["fields"]["updated"] = _jira_time(self.clock.now())

    def handle(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        fixed = {
            "/rest/api/3/myself": "myself.json",
            "/rest/api/3/field": "fields.json",
            "/rest/servicedeskapi/servicedesk": "servicedesks.json",
            "/rest/api/3/search/approximate-count": "approximate_count.json",
        }
        if path == "/rest/servicedeskapi/servicedesk":
            desks = load("servicedesks.json")
            desks["values"].append({"id": "11", "projectId": "10001", "projectKey": "OPS"})
            return httpx.Response(200, json=desks)
        if path in fixed:
            return httpx.Response(200, json=load(fixed[path]))
        if path == "/rest/api/3/search/jql":
            return self._search(request)
        if path == "/rest/api/3/user/search":
            return httpx.Response(200, json=[])
        if (match := _CHANGELOG.match(path)) and match.group(1) in self.issues:
            histories = self.issues[match.group(1)]["changelog"]["histories"]
            return httpx.Response(200, json={"values": histories, "isLast": True})
        if match := _COMMENT.match(path):
            return self._comment(match.group(1), request)
        if match := _ISSUE.match(path):
            return self._issue(match.group(1), bool(match.group(2)), request)
        return httpx.Response(404, json={"errorMessages": [f"no route {method} {path}"]})

    def _search(self, request: httpx.Request) -> httpx.Response:
        jql = request.url.params["jql"]
        refused = [p for p in sorted(self.refused) if f'"{p}"' in jql]
        if refused:  # the JQL validator's answer for an archived or unknown project
            errors = [f"The value '{p}' does not exist for the field 'project'." for p in refused]
            return httpx.Response(400, json={"errorMessages": errors, "warningMessages": []})
        zone = ZoneInfo(self.myself["timeZone"])
        since = _SINCE.search(jql)
        start = (
            datetime.strptime(since.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=zone)
            if since
            else None
        )
        open_too = "statusCategory != Done OR" in jql
        found = [
            issue
            for issue in self.issues.values()
            if start is None
            or self._updated(issue) >= start
            or (open_too and issue["fields"]["status"]["statusCategory"]["key"] != "done")
        ]
        found.sort(key=self._updated)
        offset = int(request.url.params.get("nextPageToken") or 0)
        size = int(request.url.params.get("maxResults", "50"))
        page = found[offset : offset + size]
        body: dict[str, Any] = {
            "issues": copy.deepcopy(page),
            "isLast": offset + size >= len(found),
        }
        if not body["isLast"]:
            body["nextPageToken"] = str(offset + size)
        return httpx.Response(200, json=body)

    def _issue(self, key: str, assignee: bool, request: httpx.Request) -> httpx.Response:
        issue = self.issues.get(key)
        if issue is None:
            return httpx.Response(404, json={"errorMessages": ["Issue does not exist"]})
        if request.method == "GET":
            return httpx.Response(200, json=issue)
        body = json.loads(request.content)
        fields = issue["fields"]
        if assignee:
            fields["assignee"] = {"accountId": body["accountId"], "accountType": "atlassian"}
        for name, value in (body.get("fields") or {}).items():
            fields[name] = value
        for change in (body.get("update") or {}).get("labels", ()):
            if change.get("add") and change["add"] not in fields["labels"]:
                fields["labels"].append(change["add"])
        self.touch(key)
        return httpx.Response(204)

    def _comment(self, key: str, request: httpx.Request) -> httpx.Response:
        if key not in self.issues:
            return httpx.Response(404, json={"errorMessage": "Request does not exist"})
        if request.method == "GET":
            return httpx.Response(200, json={"values": self.comments[key], "isLastPage": True})
        body = json.loads(request.content)
        now = self.clock.now()
        created = {**load("comment_created.json"), "body": body["body"], "public": body["public"]}
        created["created"] = {
            "iso8601": now.isoformat(),
            "epochMillis": int(now.timestamp() * 1000),
        }
        self.comments[key].append(created)
        platform = {
            "id": str(30000 + len(self.comments[key])),
            "author": {"accountId": self.myself["accountId"], "accountType": "atlassian"},
            "body": body["body"],
            "created": _jira_time(now),
            "jsdPublic": body["public"],
        }
        page = self.issues[key]["fields"]["comment"]
        page["comments"].append(platform)
        page["total"] = max(page.get("total", 0) + 1, len(page["comments"]))
        self.touch(key)
        return httpx.Response(201, json=created)


def case() -> Case:
    clock = FakeClock(NOW)
    fake = FakeJira(clock)
    transport = FailingTransport(httpx.MockTransport(fake.handle))
    client = httpx.AsyncClient(transport=transport)
    settings = parse_settings(
        "jsm", {**SETTINGS, "page_size": 2, "projects": ["ITSD", "OPS"]}, environ=ENV
    )
    connector = JiraServiceManagement(settings, clock, client=client, sleep=Sleeps())

    def touch(key: str) -> None:
        clock.current += timedelta(minutes=5)
        fake.touch(key)

    def withdraw(key: str) -> None:
        del fake.issues[key]  # deleted: out of every search, 404 when read

    def break_one() -> tuple[str, str]:
        fake.refused.add("OPS")  # archived: the search refuses to name it
        return "project", "OPS"

    return Case(
        kind="jira_sm",
        connector=connector,
        ticket_ids=frozenset(fake.issues),
        unknown_id="ITSD-999",
        person="emma@msp.example",
        tier="P1",
        touch=touch,
        capabilities=("apply",),
        transport=transport,
        client=client,
        withdraw=withdraw,
        break_one=break_one,
    )
