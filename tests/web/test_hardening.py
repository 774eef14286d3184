"""Issue 11 finding 8 / item 8: malformed cookies, security headers, the Host check, the
login rate limit. (The public-bind refusal is in tests/settings, store file modes in
tests/store.)"""

from __future__ import annotations

import base64
import hashlib
import logging
import re

import httpx
import pytest

from sla_connector.web.auth import COOKIE_NAME, LOGIN_FAILURES, LOGIN_WINDOW, LoginLimiter
from sla_connector.web.security import host_allowed
from tests.web.helpers import app_for, client_for

pytestmark = pytest.mark.anyio

TOKEN = "h4rdening-T0ken-for-tests"
MALFORMED_COOKIES = [
    b"\xb2.abc",  # superscript two: str.isdigit() says yes, int() says no
    b"9" * 5000 + b".abc",  # past int()'s 4,300-digit limit
    "\uff11\uff12.abc".encode(),  # fullwidth digits
    b"\xff\xfe.\x00",
    b".",
    b"12",
    b"-5.abc",
    b"1" * 13 + b".abc",
]


@pytest.mark.parametrize("value", MALFORMED_COOKIES, ids=range(len(MALFORMED_COOKIES)))
async def test_finding_8_malformed_session_cookie_is_401_never_500_and_logs_no_traceback(
    value: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with client_for(app_for(token=TOKEN)) as http:
        for path in ("/", "/api/overview", "/metrics"):
            response = await http.get(path, headers={"Cookie": COOKIE_NAME.encode() + b"=" + value})
            assert response.status_code == 401, (path, response.status_code)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert "Traceback" not in caplog.text


async def test_finding_8_a_valid_cookie_still_opens_the_dashboard() -> None:
    async with client_for(app_for(token=TOKEN)) as http:
        await http.post("/login", data={"token": TOKEN})
        assert (await http.get("/api/overview")).status_code == 200


HEADER_CASES = [
    ("GET", "/", None),  # 401 login page
    ("GET", "/api/overview", TOKEN),
    ("GET", "/", TOKEN),
    ("GET", "/clients/acme", TOKEN),
    ("GET", "/no-such-page", TOKEN),
    ("GET", "/metrics", TOKEN),
    ("GET", "/healthz", None),
    ("POST", "/login", None),
]


@pytest.mark.parametrize(("method", "path", "token"), HEADER_CASES)
async def test_finding_10_security_headers_on_every_response(
    method: str, path: str, token: str | None
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    app = app_for(token=TOKEN, public_paths=("/healthz",))
    async with client_for(app, **headers) as http:
        response = await http.request(method, path, headers={"Accept": "text/html"})
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def _sha(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


async def test_finding_10_csp_allows_exactly_the_pages_own_inline_style_and_script() -> None:
    async with client_for(app_for()) as http:
        response = await http.get("/")
    page, csp = response.text, response.headers["content-security-policy"]
    styles = re.findall(r"<style>(.*?)</style>", page, re.S)
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert styles and scripts
    policy = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert policy["style-src"].split() == [f"'sha256-{_sha(s)}'" for s in styles]
    assert policy["script-src"].split() == [f"'sha256-{_sha(s)}'" for s in scripts]
    assert "<script " not in page and " style=" not in page and " on" + "click=" not in page


async def _get(app: object, host: str, path: str = "/api/overview") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        return await http.get(path, headers={"Host": host})


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8321", "evil", ""])
async def test_finding_10_dns_rebinding_a_foreign_host_cannot_read_the_tokenless_dashboard(
    host: str,
) -> None:
    app = app_for(token=None)
    response = await _get(app, host)
    assert response.status_code == 400
    assert "acme" not in response.text.lower() and "tickets" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.1:8321", "localhost", "LOCALHOST:8321", "[::1]:8321", "[::1]"]
)
async def test_finding_10_loopback_names_are_always_served(host: str) -> None:
    assert (await _get(app_for(token=None), host)).status_code == 200


async def test_finding_10_configured_host_names_are_served_and_star_turns_the_check_off() -> None:
    app = app_for(token=None, allowed_hosts=("sla.msp.example", "10.0.0.5"))
    assert (await _get(app, "sla.msp.example:443")).status_code == 200
    assert (await _get(app, "10.0.0.5:8321")).status_code == 200
    assert (await _get(app, "other.msp.example")).status_code == 400
    assert (await _get(app_for(token=None, allowed_hosts=("*",)), "any.example")).status_code == 200


def test_host_names_are_parsed_without_port_and_brackets() -> None:
    assert host_allowed("[::1]:80", ())
    assert host_allowed("sla.example.:80", {"sla.example"})
    assert not host_allowed("sla.example.attacker.example", {"sla.example"})
    assert not host_allowed(":80", ())


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _client(app: object, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")


async def test_finding_10_login_attempts_are_rate_limited_per_client_address() -> None:
    clock = Clock()
    app = app_for(token=TOKEN, login_limiter=LoginLimiter(clock=clock))
    async with _client(app, "10.0.0.9") as attacker, _client(app, "10.0.0.10") as colleague:
        codes = [
            (await attacker.post("/login", data={"token": f"guess-{i}"})).status_code
            for i in range(LOGIN_FAILURES + 2)
        ]
        assert codes == [401] * LOGIN_FAILURES + [429, 429]
        limited = await attacker.post("/login", data={"token": TOKEN})  # right, but too late
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert COOKIE_NAME not in limited.headers.get("set-cookie", "")
        ok = await colleague.post("/login", data={"token": TOKEN})  # another address
        assert ok.status_code == 303
        clock.now += LOGIN_WINDOW + 1
        again = await attacker.post("/login", data={"token": TOKEN})
        assert again.status_code == 303


def test_limiter_forgets_old_failures_and_bounds_what_it_remembers() -> None:
    clock = Clock()
    limiter = LoginLimiter(failures=2, window=10, clock=clock)
    limiter.failed("a")
    limiter.failed("a")
    assert limiter.retry_after("a") == 10
    clock.now += 4
    assert limiter.retry_after("a") == 6
    clock.now += 7
    assert limiter.retry_after("a") is None
    limiter.failed("b")
    limiter.succeeded("b")
    assert limiter.retry_after("b") is None
