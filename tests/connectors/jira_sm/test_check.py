"""``check()``: one distinct, actionable verdict per way a connection can be wrong."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from .support import BASE, FakeClock, Sleeps, json_response, make_adapter

pytestmark = pytest.mark.anyio


def healthy(router: respx.MockRouter) -> dict[str, respx.Route]:
    return {
        "myself": router.get("/rest/api/3/myself").mock(return_value=json_response("myself.json")),
        "desks": router.get("/rest/servicedeskapi/servicedesk").mock(
            return_value=json_response("servicedesks.json")
        ),
        "field": router.get("/rest/api/3/field").mock(return_value=json_response("fields.json")),
        "count": router.post("/rest/api/3/search/approximate-count").mock(
            return_value=json_response("approximate_count.json")
        ),
    }


async def test_check_reports_account_desks_and_open_count(clock: FakeClock, sleeps: Sleeps) -> None:
    adapter = make_adapter(clock, sleeps)
    async with respx.mock(base_url=BASE) as router:
        routes = healthy(router)
        result = await adapter.check()
    assert result.ok, result.summary
    assert result.summary == (
        "authenticated as SLA Sidecar; 1 project(s), about 42 open issues; "
        "auth: personal API token of sla@msp.example on the site URL"
    )
    assert result.details["auth"]["method"] == "api_token"
    assert result.details["client_field"] == "customfield_10002"
    assert result.details["service_desks"] == ["ITSD"]
    body = json.loads(routes["count"].calls[0].request.content)
    assert body == {"jql": 'project in ("ITSD") AND statusCategory != Done'}


async def verdict(
    clock: FakeClock,
    sleeps: Sleeps,
    route: str,
    answer: httpx.Response | Exception,
    **overrides: object,
) -> str:
    """The summary of a failed check when ``route`` answers ``answer``."""
    adapter = make_adapter(clock, sleeps, **overrides)
    async with respx.mock(base_url=BASE, assert_all_called=False) as router:
        target = healthy(router)[route]
        if isinstance(answer, Exception):
            target.mock(side_effect=answer)
        else:
            target.mock(return_value=answer)
        result = await adapter.check()
    assert not result.ok
    return result.summary


async def test_each_failure_gets_its_own_actionable_verdict(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    wrong_credentials = await verdict(clock, sleeps, "myself", httpx.Response(401))
    wrong_url = await verdict(clock, sleeps, "myself", httpx.Response(404))
    unreachable = await verdict(clock, sleeps, "myself", httpx.ConnectError("refused"))
    no_scope = await verdict(clock, sleeps, "desks", httpx.Response(403))
    assert wrong_credentials.startswith("credentials rejected")
    assert "email_env/token_env" in wrong_credentials
    assert wrong_url.startswith("wrong URL") and "base_url" in wrong_url
    assert unreachable.startswith("unreachable") and "mspco.atlassian.net" in unreachable
    assert no_scope.startswith("permission missing") and "agent" in no_scope
    assert len({wrong_credentials, wrong_url, unreachable, no_scope}) == 4


async def test_project_that_is_not_a_visible_service_desk_fails_the_check(
    clock: FakeClock, sleeps: Sleeps
) -> None:
    summary = await verdict(
        clock, sleeps, "myself", json_response("myself.json"), projects=["ITSD", "OPS"]
    )
    assert summary.startswith("projects OPS are not service desks")
