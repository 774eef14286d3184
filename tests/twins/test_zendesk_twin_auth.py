"""The Zendesk twin's credentials: legacy API tokens and OAuth client-credentials tokens.

Sources are cited in ``tests/twins/zendesk/auth.py``.
"""

from __future__ import annotations

import httpx
import pytest

from tests.twins.clock import ManualClock
from tests.twins.zendesk import ZendeskTwin

ME = "/api/v2/users/me"


def token(twin: ZendeskTwin, secret: str, **extra: object) -> httpx.Response:
    body = {
        "grant_type": "client_credentials",
        "client_id": "sla-connector",
        "client_secret": secret,
    }
    return httpx.post(f"{twin.base_url}/oauth/tokens", json={**body, **extra}, timeout=5)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def secret(zendesk: ZendeskTwin) -> str:
    return zendesk.auth.add_oauth_client("sla-connector", user_id=zendesk.account.api_user)


def test_api_token_basic_auth_works_with_any_agent_email(zendesk: ZendeskTwin) -> None:
    for email in ("sla-bot@msp.example", "dana@msp.example"):
        answer = httpx.get(f"{zendesk.base_url}{ME}", auth=zendesk.basic_auth(email), timeout=5)
        assert answer.json()["user"]["email"] == email


def test_bad_credentials_and_password_auth_answer_401(zendesk: ZendeskTwin) -> None:
    url = f"{zendesk.base_url}/api/v2/custom_statuses"
    for auth in (
        ("sla-bot@msp.example/token", "wrong"),
        ("sla-bot@msp.example", zendesk.account.api_token),
    ):
        answer = httpx.get(url, auth=auth, timeout=5)
        assert answer.status_code == 401 and answer.json() == {"error": "Couldn't authenticate you"}
    assert httpx.get(url, timeout=5).status_code == 401  # anonymous


def test_api_tokens_switched_off_answer_401(zendesk: ZendeskTwin, api: httpx.Client) -> None:
    assert api.get(ME).status_code == 200
    zendesk.auth.api_tokens_enabled = False  # 2027-04-30: every remaining API token stops working
    assert api.get(ME).status_code == 401


def test_export_needs_an_admin(zendesk: ZendeskTwin, clock: ManualClock) -> None:
    answer = httpx.get(
        f"{zendesk.base_url}/api/v2/incremental/tickets/cursor",
        params={"start_time": int(clock()) - 3600},
        auth=zendesk.basic_auth("dana@msp.example"),
        timeout=5,
    )
    assert answer.status_code == 403 and answer.json()["error"] == "Forbidden"


def test_client_credentials_token_acts_as_the_client_admin(
    zendesk: ZendeskTwin, secret: str
) -> None:
    answer = token(zendesk, secret, scope="read write")
    assert answer.status_code == 201
    body = answer.json()
    assert (
        body["token_type"] == "bearer"
        and body["scope"] == "read write"
        and body["expires_in"] == 1800
    )
    me = httpx.get(f"{zendesk.base_url}{ME}", headers=bearer(body["access_token"]), timeout=5)
    assert me.json()["user"]["id"] == zendesk.account.api_user


def test_an_access_token_expires_after_its_lifetime_with_401(
    zendesk: ZendeskTwin, secret: str, clock: ManualClock
) -> None:
    access = token(zendesk, secret, scope="read", expires_in=600).json()
    assert access["expires_in"] == 600
    clock.advance(599)
    url = f"{zendesk.base_url}/api/v2/custom_statuses"
    assert httpx.get(url, headers=bearer(access["access_token"]), timeout=5).status_code == 200
    clock.advance(1)
    expired = httpx.get(url, headers=bearer(access["access_token"]), timeout=5)
    assert expired.status_code == 401 and expired.json()["error"] == "invalid_token"
    assert expired.headers["WWW-Authenticate"].startswith("Bearer ")


def test_a_configured_short_lifetime_caps_every_token(clock: ManualClock) -> None:
    twin = ZendeskTwin(clock=clock, max_token_lifetime=60)
    secret = twin.auth.add_oauth_client("sla-connector", user_id=twin.account.api_user)
    with twin.serve():
        assert token(twin, secret).json()["expires_in"] == 60


def test_token_endpoint_errors(zendesk: ZendeskTwin, secret: str) -> None:
    wrong = token(zendesk, "not-the-secret")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    grant = httpx.post(
        f"{zendesk.base_url}/oauth/tokens", json={"grant_type": "password"}, timeout=5
    )
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    for expires_in in (300, 172_800):
        assert token(zendesk, secret, expires_in=expires_in).json()["error"] == "invalid_request"
    basic = httpx.post(
        f"{zendesk.base_url}/oauth/tokens",
        data={"grant_type": "client_credentials"},
        auth=("sla-connector", secret),
        timeout=5,
    )
    assert basic.status_code == 401  # only the documented body credentials, unless enabled
    zendesk.auth.accept_client_secret_basic = True
    again = httpx.post(
        f"{zendesk.base_url}/oauth/tokens",
        data={"grant_type": "client_credentials"},
        auth=("sla-connector", secret),
        timeout=5,
    )
    assert again.status_code == 201


def test_form_encoded_token_request_is_accepted(zendesk: ZendeskTwin, secret: str) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": "sla-connector",
        "client_secret": secret,
    }
    assert httpx.post(f"{zendesk.base_url}/oauth/tokens", data=form, timeout=5).status_code == 201


def test_a_read_scope_cannot_write(zendesk: ZendeskTwin, secret: str) -> None:
    ticket = zendesk.create_ticket("Scoped")
    read = token(zendesk, secret, scope="read").json()["access_token"]
    url = f"{zendesk.base_url}/api/v2/tickets/{ticket}"
    refused = httpx.put(url, json={"ticket": {"priority": "low"}}, headers=bearer(read), timeout=5)
    assert refused.status_code == 403 and "tickets:write" in refused.json()["description"]
    write = token(zendesk, secret, scope="read tickets:write").json()["access_token"]
    assert (
        httpx.put(
            url, json={"ticket": {"priority": "low"}}, headers=bearer(write), timeout=5
        ).status_code
        == 200
    )
    assert zendesk.journal.api_writes()[0].principal == "oauth:sla-connector"


def test_the_journal_never_records_a_secret(
    zendesk: ZendeskTwin, api: httpx.Client, secret: str
) -> None:
    api.get(ME)
    access = token(zendesk, secret).json()["access_token"]
    httpx.get(f"{zendesk.base_url}{ME}", headers=bearer(access), timeout=5)
    text = repr(zendesk.journal.requests())
    assert zendesk.account.api_token not in text and secret not in text and access not in text
