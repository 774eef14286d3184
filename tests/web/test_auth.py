"""With a token every route needs it (bearer or the login cookie); 401 otherwise; never logged."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sla_connector.web.auth import COOKIE_NAME, TokenGuard
from tests.web.helpers import app_for, client_for

pytestmark = pytest.mark.anyio

TOKEN = "s3cret-T0ken-for-tests"
ROUTES = [
    ("GET", "/"),
    ("GET", "/clients/acme"),
    ("GET", "/tickets/zd/A2"),
    ("GET", "/api/overview"),
    ("GET", "/api/clients/acme"),
    ("GET", "/api/tickets/zd/A2"),
    ("GET", "/metrics"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/logout"),
]


@pytest.mark.parametrize(
    ("method", "path"), [*ROUTES, ("GET", "/no-such-page"), ("POST", "/login")]
)
async def test_every_route_answers_401_without_the_token(method: str, path: str) -> None:
    async with client_for(app_for(token=TOKEN)) as http:
        response = await http.request(method, path)
        wrong = await http.request(method, path, headers={"Authorization": "Bearer nope"})
        basic = await http.request(method, path, headers={"Authorization": f"Basic {TOKEN}"})
    assert (response.status_code, wrong.status_code, basic.status_code) == (401, 401, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in response.text


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_route_answers_with_the_bearer_token(method: str, path: str) -> None:
    async with client_for(app_for(token=TOKEN), Authorization=f"Bearer {TOKEN}") as http:
        response = await http.request(method, path)
    assert response.status_code == (303 if path == "/logout" else 200)


async def test_browser_gets_a_labelled_login_form_with_401() -> None:
    async with client_for(app_for(token=TOKEN)) as http:
        response = await http.get("/clients/acme?x=1", headers={"Accept": "text/html"})
    assert response.status_code == 401
    assert '<label for="token">' in response.text and 'id="token"' in response.text
    assert 'name="next" value="/clients/acme?x=1"' in response.text


async def test_login_sets_an_httponly_cookie_that_is_not_the_token() -> None:
    async with client_for(app_for(token=TOKEN)) as http:
        bad = await http.post("/login", data={"token": "guess", "next": "/"})
        good = await http.post("/login", data={"token": TOKEN, "next": "/clients/acme"})
        assert bad.status_code == 401 and "not right" in bad.text
        assert good.status_code == 303 and good.headers["location"] == "/clients/acme"
        cookie = good.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE_NAME}=") and "HttpOnly" in cookie
        assert "samesite=strict" in cookie.lower()
        assert TOKEN not in cookie
        page = await http.get("/clients/acme")  # the client keeps the cookie
        api = await http.get("/api/overview")
        assert (page.status_code, api.status_code) == (200, 200)
        out = await http.post("/logout")
        assert out.status_code == 303 and 'sla_session=""' in out.headers["set-cookie"]


async def test_tampered_cookie_and_foreign_redirect_are_refused() -> None:
    async with client_for(app_for(token=TOKEN)) as http:
        good = await http.post("/login", data={"token": TOKEN, "next": "//evil.example/"})
        assert good.headers["location"] == "/"
        value = good.cookies[COOKIE_NAME]
        expires, mac = value.split(".")
        http.cookies.clear()
        forged = f"{int(expires) + 9999}.{mac}"
        response = await http.get("/api/overview", headers={"Cookie": f"{COOKIE_NAME}={forged}"})
        assert response.status_code == 401


async def test_expired_session_cookie_is_refused() -> None:
    now = [1_000_000.0]

    async def ok(_):  # type: ignore[no-untyped-def]
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[Route("/", ok)],
        middleware=[
            Middleware(
                TokenGuard, token=TOKEN, login_page=lambda t, f: "login", clock=lambda: now[0]
            )
        ],
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        await http.post("/login", data={"token": TOKEN})
        assert (await http.get("/")).status_code == 200
        now[0] += 13 * 3600
        assert (await http.get("/")).status_code == 401


async def test_public_paths_can_open_health_for_probes() -> None:
    async with client_for(app_for(token=TOKEN, public_paths=("/healthz",))) as http:
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/readyz")).status_code == 401


async def test_the_token_never_appears_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with client_for(app_for(token=TOKEN)) as http:
        for method, path in ROUTES:
            await http.request(method, path)
            await http.request(method, path, headers={"Authorization": f"Bearer {TOKEN}"})
            await http.request(method, path, headers={"Authorization": f"Bearer {TOKEN}x"})
        await http.post("/login", data={"token": TOKEN})
        await http.post("/login", data={"token": TOKEN[:-1]})
    assert caplog.records  # httpx logs each request: the capture is live
    assert TOKEN not in caplog.text and TOKEN[:-1] not in caplog.text


def test_an_empty_token_is_refused_rather_than_accepting_everyone() -> None:
    with pytest.raises(ValueError, match="empty"):
        app_for(token="")
