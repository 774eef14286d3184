"""``check()``: each way a Zendesk connection fails gives its own actionable verdict."""

from __future__ import annotations

import httpx
import pytest
import respx
from sla_connector_psa.zendesk import EXPORT_PATH

from .support import BASE, json_response, load, make_connector

pytestmark = pytest.mark.anyio
ME = "/api/v2/users/me"


async def test_working_connection_reports_account_role_and_first_page() -> None:
    connector, _ = make_connector()
    with respx.mock(base_url=BASE) as router:
        router.get(ME).mock(return_value=json_response(load("users_me.json")))
        export = router.get(EXPORT_PATH).mock(return_value=json_response(load("export_page1.json")))
        result = await connector.check()
    assert result.ok
    assert result.summary == (
        "authenticated as sla@msp.example (admin); incremental export "
        "readable: 2 ticket(s) changed in the last 24 h on the first page; "
        "auth: Zendesk API token (legacy) of sla@msp.example"
    )
    assert export.calls.last.request.url.params["start_time"] == "1793556000"
    assert result.details["tickets_first_page"] == 2
    auth = result.details["auth"]
    assert (auth["method"], auth["expires_at"]) == ("api_token", "2027-04-30T00:00:00+00:00")
    assert any("stop working on 2027-04-30" in w for w in result.details["warnings"])


async def verdict(router_setup: object) -> str:
    connector, _ = make_connector(max_attempts=1)
    with respx.mock(base_url=BASE) as router:
        router_setup(router)  # type: ignore[operator]
        result = await connector.check()
    assert not result.ok
    return result.summary


async def test_wrong_credentials() -> None:
    summary = await verdict(
        lambda r: r.get(ME).mock(
            return_value=httpx.Response(401, json={"error": "Couldn't authenticate you"})
        )
    )
    assert summary.startswith("credentials rejected (401)")
    assert "ZENDESK_EMAIL" in summary and "ZENDESK_API_TOKEN" in summary


async def test_anonymous_answer_means_credentials_were_not_accepted() -> None:
    summary = await verdict(
        lambda r: r.get(ME).mock(
            return_value=json_response(
                {"user": {"id": None, "name": "Anonymous user", "role": "end-user"}}
            )
        )
    )
    assert summary.startswith("credentials rejected: Zendesk at https://mspco.zendesk.com")


async def test_wrong_url() -> None:
    summary = await verdict(lambda r: r.get(ME).mock(return_value=httpx.Response(404)))
    assert summary.startswith("wrong URL (404)")
    assert "subdomain/base_url" in summary


async def test_unreachable_host() -> None:
    summary = await verdict(
        lambda r: r.get(ME).mock(side_effect=httpx.ConnectError("Name or service not known"))
    )
    assert summary.startswith("unreachable: cannot reach mspco.zendesk.com")


async def test_missing_admin_permission_for_the_export() -> None:
    def setup(router: respx.MockRouter) -> None:
        router.get(ME).mock(return_value=json_response(load("users_me.json")))
        router.get(EXPORT_PATH).mock(
            return_value=httpx.Response(
                403,
                json={"error": "Forbidden", "description": "You do not have access to this page."},
            )
        )

    summary = await verdict(setup)
    assert summary.startswith("permission missing (403)")
    assert "admin" in summary


async def test_each_failure_has_a_distinct_message() -> None:
    summaries = {
        await verdict(lambda r: r.get(ME).mock(return_value=httpx.Response(401))),
        await verdict(lambda r: r.get(ME).mock(return_value=httpx.Response(404))),
        await verdict(lambda r: r.get(ME).mock(side_effect=httpx.ConnectError("refused"))),
        await verdict(lambda r: r.get(ME).mock(return_value=httpx.Response(403))),
    }
    assert len({summary.split(" ")[0] + summary.split(" ")[1] for summary in summaries}) == 4
