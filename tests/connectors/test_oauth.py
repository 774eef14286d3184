"""The shared OAuth 2.0 client-credentials token source (``sla_connector_psa.oauth``).

A stateful token endpoint stands in for the vendor's (RFC 6749 section 4.4 request; the
answer as Zendesk and Atlassian give it: ``access_token``, ``token_type``, ``expires_in``,
``scope``); an API endpoint accepts only the newest token it issued.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

import httpx
import pytest
from sla_connector_psa.http import CredentialsRejectedError, PsaHttp
from sla_connector_psa.oauth import ClientCredentialsToken

pytestmark = pytest.mark.anyio

BASE = "https://psa.example"
SECRET = "client-s3cret"


class Clock:
    def now(self) -> datetime:
        return datetime(2026, 12, 1, tzinfo=UTC)


class Vendor:
    """A token endpoint (JSON or form body) and an API that checks the bearer token."""

    def __init__(self, lifetime: int = 1800, scope: str = "read write") -> None:
        self.lifetime = lifetime
        self.scope = scope
        self.issued: list[str] = []
        self.bodies: list[dict[str, str]] = []
        self.api_calls = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/tokens":
            if request.headers["content-type"].startswith("application/json"):
                body = json.loads(request.content)
            else:
                body = dict(httpx.QueryParams(request.content.decode()))
            self.bodies.append(body)
            if body.get("client_secret") != SECRET:
                return httpx.Response(401, json={"error": "invalid_client"})
            token = f"tok-{len(self.issued) + 1}"
            self.issued.append(token)
            return httpx.Response(
                201,
                json={
                    "access_token": token,
                    "token_type": "bearer",
                    "expires_in": self.lifetime,
                    "scope": self.scope,
                },
            )
        self.api_calls += 1
        fresh = request.headers.get("Authorization") == f"Bearer {self.issued[-1]}"
        return httpx.Response(200 if fresh else 401, json={"ok": fresh})


def source(
    vendor: Vendor, *, secret: str = SECRET, body: str = "json"
) -> tuple[PsaHttp, ClientCredentialsToken]:
    client = httpx.AsyncClient(transport=httpx.MockTransport(vendor.handle))

    async def no_wait(_: float) -> None:
        return None

    http = PsaHttp(
        name="zd",
        base_url=BASE,
        client=client,
        clock=Clock(),
        requests_per_minute=1000,
        sleep=no_wait,
        max_attempts=2,
    )
    token = ClientCredentialsToken(
        http=http.sibling(requests_per_minute=30, authenticated=False),
        token_url="/oauth/tokens",
        client_id="sla-bot",
        client_secret=secret,
        scope="read write",
        required_scopes=("read", "write"),
        body=body,  # type: ignore[arg-type]
    )
    http.credentials = token
    return http, token


@pytest.mark.parametrize("body", ["json", "form"])
async def test_the_token_is_fetched_on_first_use_and_then_reused(body: str) -> None:
    vendor = Vendor()
    http, token = source(vendor, body=body)
    for _ in range(3):
        assert await http.get_json("/api/v2/users/me") == {"ok": True}
    assert vendor.issued == ["tok-1"] and token.fetched == 1
    assert vendor.bodies[0] == {
        "grant_type": "client_credentials",
        "scope": "read write",
        "client_id": "sla-bot",
        "client_secret": SECRET,
    }


async def test_a_token_is_renewed_before_it_expires() -> None:
    vendor = Vendor(lifetime=600)
    http, token = source(vendor)
    await http.get_json("/x")
    assert token._token is not None
    # Within the last tenth of its lifetime the token counts as expired: renewed first.
    token._token["expires_at"] = int(datetime.now(UTC).timestamp()) + 30
    await http.get_json("/x")
    assert vendor.issued == ["tok-1", "tok-2"] and vendor.api_calls == 2


async def test_a_401_renews_once_and_the_caller_never_sees_it() -> None:
    vendor = Vendor()
    http, token = source(vendor)
    await http.get_json("/x")
    vendor.issued.append("tok-revoked-meanwhile")  # the vendor expired the token early
    assert await http.get_json("/x") == {"ok": True}
    assert token.fetched == 2 and http.renewals == 1


async def test_concurrent_requests_share_one_token_request() -> None:
    vendor = Vendor()
    http, token = source(vendor)
    results = await asyncio.gather(*(http.get_json("/x") for _ in range(10)))
    assert all(r == {"ok": True} for r in results)
    assert token.fetched == 1


async def test_a_rejected_client_names_the_client_never_the_secret() -> None:
    vendor = Vendor()
    http, _ = source(vendor, secret="wrong-secret")
    with pytest.raises(CredentialsRejectedError) as caught:
        await http.get_json("/x")
    assert "sla-bot" in str(caught.value) and "wrong-secret" not in str(caught.value)


async def test_describe_names_method_expiry_and_missing_scopes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    vendor = Vendor(scope="read")
    http, token = source(vendor)
    await http.get_json("/x")
    described = token.describe()
    assert described.method == "oauth_client_credentials"
    assert described.scopes == ("read",) and described.missing_scopes == ("write",)
    assert described.expires_at is not None and described.expires_at > datetime.now(UTC)
    text = caplog.text + repr(described.details())
    assert "tok-1" not in text and SECRET not in text
