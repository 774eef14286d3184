"""The Jira SM twin behaves as the specs and psa-apis.md say, shown with plain httpx.

Each test names the behaviour; ``tests/twins/jira_sm/`` cites its source.
"""

from __future__ import annotations

import httpx

from tests.twins.clock import ManualClock
from tests.twins.jira_sm import JiraTwin

SEARCH = "/rest/api/3/search/jql"


def keys(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [issue["key"] for issue in answer.json()["issues"]]


def test_jql_is_honoured_for_what_the_connector_sends(
    jira: JiraTwin, jira_api: httpx.Client, clock: ManualClock
) -> None:
    old = jira.create_issue("Laptop")
    jira.transition(old, "Resolved")
    clock.advance(3600)
    fresh = jira.create_issue("Printer")
    other = jira.create_issue("Backup", project="OPS")
    jql = 'project in ("ITSD") AND (statusCategory != Done OR updated >= "2000-01-01 00:00")'
    assert keys(jira_api.get(SEARCH, params={"jql": jql + " ORDER BY updated ASC"})) == [old, fresh]
    recent = 'project in ("ITSD", "OPS") AND statusCategory != Done ORDER BY updated ASC'
    assert keys(jira_api.get(SEARCH, params={"jql": recent})) == [fresh, other]
    body = {"jql": f"key in ({fresh}, {other})", "fields": ["summary"]}
    found = jira_api.post(SEARCH, json=body).json()["issues"]
    assert {i["key"] for i in found} == {fresh, other} and set(found[0]["fields"]) == {"summary"}


def test_an_unknown_or_archived_project_fails_the_whole_search_with_400(
    jira: JiraTwin, jira_api: httpx.Client
) -> None:
    jira.create_issue("Printer", project="OPS")
    jira.archive_project("OPS")
    answer = jira_api.get(SEARCH, params={"jql": 'project in ("ITSD", "OPS", "NOPE")'})
    assert answer.status_code == 400
    assert answer.json()["errorMessages"] == [
        "The value 'OPS' does not exist for the field 'project'.",
        "The value 'NOPE' does not exist for the field 'project'.",
    ]


def test_the_search_embeds_at_most_40_histories_and_total_does_not_tell(
    jira: JiraTwin, jira_api: httpx.Client
) -> None:
    busy = jira.create_issue("Flaky VPN")
    for _ in range(30):
        jira.transition(busy, "In Progress")
        jira.transition(busy, "Waiting for customer")
    issue = jira_api.get(SEARCH, params={"jql": f"key = {busy}", "expand": "changelog"}).json()
    changelog = issue["issues"][0]["changelog"]
    assert len(changelog["histories"]) == 40 and changelog["total"] == 40
    newest = changelog["histories"][0]["items"][0]["toString"]
    assert newest == "Waiting for customer"  # the newest first; the first 20 are not there
    full = jira_api.get(f"/rest/api/3/issue/{busy}/changelog", params={"maxResults": 100})
    assert (full.json()["total"], len(full.json()["values"]), full.json()["isLast"]) == (
        60,
        60,
        True,
    )
    assert full.json()["values"][0]["items"][0]["fromString"] == "Open"  # oldest first


def access_token(jira: JiraTwin, secret: str | None = None) -> httpx.Response:
    """The service account's client-credentials token request."""
    body = {
        "grant_type": "client_credentials",
        "client_id": jira.account.client_id,
        "client_secret": secret or jira.account.client_secret,
    }
    return httpx.post(jira.token_url, json=body)


def test_service_account_oauth_through_the_gateway_only(jira: JiraTwin) -> None:
    account = jira.account
    token = access_token(jira).json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    gateway = f"{jira.gateway}/ex/jira/{account.cloud_id}/rest/api/3/myself"
    assert httpx.get(gateway, headers=bearer).json()["accountId"] == account.service_account
    assert httpx.get(f"{jira.base_url}/rest/api/3/myself", headers=bearer).status_code == 401
    wrong_site = f"{jira.gateway}/ex/jira/not-this-site/rest/api/3/myself"
    assert httpx.get(wrong_site, headers=bearer).status_code == 404
    refused = httpx.post(
        jira.token_url,
        json={
            "grant_type": "client_credentials",
            "client_id": account.client_id,
            "client_secret": "wrong",
        },
    )
    assert refused.status_code == 401


def test_an_expired_access_token_answers_401(jira: JiraTwin, clock: ManualClock) -> None:
    account = jira.account
    token = httpx.post(
        jira.token_url,
        json={
            "grant_type": "client_credentials",
            "client_id": account.client_id,
            "client_secret": account.client_secret,
        },
    ).json()["access_token"]
    clock.advance(3601)
    url = f"{jira.gateway}/ex/jira/{account.cloud_id}/rest/api/3/myself"
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_scoped_service_token_lacking_a_scope_gets_403(jira: JiraTwin) -> None:
    email = "readonly@serviceaccount.atlassian.com"
    account = jira.state.add_user("712020:ro", "Read only", email, "app")
    token = jira.auth.add_service_token(email, account, ("read:jira-work",))
    base = f"{jira.gateway}/ex/jira/{jira.account.cloud_id}"
    with httpx.Client(base_url=base, auth=(email, token)) as client:
        assert client.get(SEARCH, params={"jql": 'project = "ITSD"'}).status_code == 200
        assert client.get("/rest/api/3/myself").status_code == 403  # needs read:jira-user


def test_one_edit_changes_priority_assignee_and_labels_with_one_history(
    jira: JiraTwin, jira_api: httpx.Client
) -> None:
    key = jira.create_issue("Mail down", priority="High")
    body = {
        "fields": {
            "priority": {"name": "Highest"},
            "assignee": {"accountId": jira.account.agents["dana@msp.example"]},
        },
        "update": {"labels": [{"add": "sla-lead-c1"}]},
    }
    assert jira_api.put(f"/rest/api/3/issue/{key}", json=body).status_code == 204
    issue = jira.issue(key)["fields"]
    assert (issue["priority"]["name"], issue["labels"]) == ("Highest", ["sla-lead-c1"])
    history = jira.state.find(key).histories
    assert len(history) == 1 and history[0]["author"]["accountId"] == jira.account.api_account
    steps = {w.step for w in jira.journal.api_writes()}
    assert steps == {f"{key}:lead:c1"}


def test_internal_comments_deletes_and_moves(jira: JiraTwin, jira_api: httpx.Client) -> None:
    key = jira.create_issue("Mail down")
    note = {"body": "escalated [sla-connector jsm:x:lead:1]", "public": False}
    answer = jira_api.post(f"/rest/servicedeskapi/request/{key}/comment", json=note)
    assert answer.status_code == 201 and answer.json()["public"] is False
    moved = jira.move_issue(key, "OPS")
    assert jira_api.get(f"/rest/api/3/issue/{key}").json()["key"] == moved  # old key finds it
    gone = jira.create_issue("Spam?")
    jira.delete_issue(gone)
    assert jira_api.get(f"/rest/api/3/issue/{gone}").status_code == 404
