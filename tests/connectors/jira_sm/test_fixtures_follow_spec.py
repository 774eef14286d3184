"""The Jira fixtures are valid answers of the official platform and servicedeskapi specs."""

from __future__ import annotations

from typing import Any

import pytest

from . import spec
from .support import FIXTURES, load

RESPONSES: dict[str, tuple[str, str, str]] = {
    "search_page1.json": ("/rest/api/3/search/jql", "get", "200"),
    "search_page2.json": ("/rest/api/3/search/jql", "get", "200"),
    "search_page3.json": ("/rest/api/3/search/jql", "get", "200"),
    "search_second.json": ("/rest/api/3/search/jql", "get", "200"),
    "search_empty.json": ("/rest/api/3/search/jql", "get", "200"),
    "search_malformed.json": ("/rest/api/3/search/jql", "get", "200"),
    "issue_ITSD-1.json": ("/rest/api/3/issue/{issueIdOrKey}", "get", "200"),
    "changelog_ITSD-3_start0.json": ("/rest/api/3/issue/{issueIdOrKey}/changelog", "get", "200"),
    "changelog_ITSD-3_start2.json": ("/rest/api/3/issue/{issueIdOrKey}/changelog", "get", "200"),
    "jsm_comments_ITSD-4.json": (
        "/rest/servicedeskapi/request/{issueIdOrKey}/comment",
        "get",
        "200",
    ),
    "comment_created.json": ("/rest/servicedeskapi/request/{issueIdOrKey}/comment", "post", "201"),
    "myself.json": ("/rest/api/3/myself", "get", "200"),
    "fields.json": ("/rest/api/3/field", "get", "200"),
    "user_search_sam.json": ("/rest/api/3/user/search", "get", "200"),
    "servicedesks.json": ("/rest/servicedeskapi/servicedesk", "get", "200"),
    "approximate_count.json": ("/rest/api/3/search/approximate-count", "post", "200"),
}

# ``IssueBean.fields`` is a free-form map; its standard fields have their own schemas.
FIELD_SCHEMAS = {
    "status": "StatusDetails",
    "priority": "Priority",
    "assignee": "UserDetails",
    "reporter": "UserDetails",
    "comment": "PageOfComments",
    "project": "ProjectDetails",
}


def test_every_fixture_is_checked() -> None:
    assert {p.name for p in FIXTURES.glob("*.json")} == set(RESPONSES)


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_fixture_matches_its_response_schema(name: str) -> None:
    assert spec.errors(load(name), spec.response_schema(*RESPONSES[name])) == []


def issues() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, (path, _, _) in RESPONSES.items():
        data = load(name)
        if path == "/rest/api/3/search/jql":
            found += [(f"{name}:{i.get('key')}", i) for i in data["issues"]]
        elif path == "/rest/api/3/issue/{issueIdOrKey}":
            found.append((name, data))
    return found


@pytest.mark.parametrize(("where", "issue"), issues(), ids=[w for w, _ in issues()])
def test_issue_fields_match_their_schemas(where: str, issue: dict[str, Any]) -> None:
    fields = issue["fields"]
    problems = [
        problem
        for field, schema in FIELD_SCHEMAS.items()
        if fields.get(field) is not None
        for problem in spec.errors(fields[field], schema, f"{where}.{field}")
    ]
    problems += [
        p
        for org in fields.get("customfield_10002") or []
        for p in spec.errors(org, "OrganizationDTO", f"{where}.organizations")
    ]
    assert problems == []


def test_checker_catches_an_unknown_property_and_a_wrong_type() -> None:
    bad = {"isLast": "yes", "issues": [], "total": 3}
    problems = spec.errors(bad, spec.response_schema("/rest/api/3/search/jql"))
    assert any("isLast: expected boolean" in p for p in problems)
    assert any("'total' is not in the schema" in p for p in problems)
