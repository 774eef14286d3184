"""The client portal (issue 15 item 5): a client credential sees only its client on every
route (pages, JSON, downloads), the MSP's token sees all, links expire and cannot be forged,
and every access is logged without the credential."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sla_connector.web.portal import PORTAL_COOKIE, list_packs, mint_link
from tests.web.helpers import client_for
from tests.web.portal_support import (
    LINK_KEY,
    MSP_TOKEN,
    PACKS,
    TOKENS,
    WALL,
    portal_app,
    routes,
    write_archive,
)

pytestmark = pytest.mark.anyio

CLIENTS = ("acme", "globex")


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return write_archive(tmp_path / "packs")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def link_query(client: str, expires: float) -> str:
    url = mint_link("http://portal.test", client, LINK_KEY, expires=int(expires))
    return url.split("?", 1)[1]


@pytest.mark.parametrize("mine", CLIENTS)
async def test_a_client_token_opens_its_own_routes_and_gets_404_for_the_other(
    archive: Path, mine: str
) -> None:
    other = next(c for c in CLIENTS if c != mine)
    async with client_for(portal_app(archive), **bearer(TOKENS[mine])) as http:
        for path in routes(mine):
            assert (await http.get(path)).status_code == 200, path
        for path in routes(other):
            reply = await http.get(path)
            assert reply.status_code == 404, path
            assert other not in reply.text.replace(path, "")
        # a file of the other client asked for under my own prefix is not mine either
        sneaky = f"/portal/{mine}/packs/{PACKS[other][0]}"
        assert (await http.get(sneaky)).status_code == 404
        assert (await http.get(f"/portal/{mine}/packs/..%2F{PACKS[other][0]}")).status_code == 404
        assert (await http.get("/portal/nobody/")).status_code == 404


@pytest.mark.parametrize("mine", CLIENTS)
async def test_a_signed_link_and_its_session_see_only_their_client(
    archive: Path, mine: str
) -> None:
    other = next(c for c in CLIENTS if c != mine)
    async with client_for(portal_app(archive)) as http:
        first = await http.get(f"/portal/{mine}/?{link_query(mine, WALL + 3600)}")
        assert first.status_code == 200
        assert PORTAL_COOKIE in first.headers["set-cookie"]
        assert "httponly" in first.headers["set-cookie"].lower()
        # the session the link set carries on, without the link, on every route
        for path in routes(mine):
            assert (await http.get(path)).status_code == 200, path
        for path in routes(other):
            assert (await http.get(path)).status_code == 404, path


async def test_a_login_with_the_token_sets_a_session_for_that_client_only(
    archive: Path,
) -> None:
    async with client_for(portal_app(archive)) as http:
        wrong = await http.post("/portal/acme/login", data={"token": TOKENS["globex"]})
        assert wrong.status_code == 401
        signed = await http.post("/portal/acme/login", data={"token": TOKENS["acme"]})
        assert signed.status_code == 303
        for path in routes("acme"):
            assert (await http.get(path)).status_code == 200, path
        for path in routes("globex"):
            assert (await http.get(path)).status_code == 404, path
        await http.post("/portal/acme/logout")
        assert (await http.get("/portal/acme/api/overview")).status_code == 401


async def test_the_msp_dashboard_token_sees_every_client(archive: Path) -> None:
    async with client_for(portal_app(archive), **bearer(MSP_TOKEN)) as http:
        for client in CLIENTS:
            for path in routes(client):
                assert (await http.get(path)).status_code == 200, path


@pytest.mark.parametrize("client", CLIENTS)
async def test_no_credential_expired_or_tampered_links_get_401(archive: Path, client: str) -> None:
    other = next(c for c in CLIENTS if c != client)
    expired = link_query(client, WALL - 1)
    valid = link_query(client, WALL + 3600)
    expires, mac = valid.removeprefix("link=").split(".")
    flipped = mac[:-1] + ("0" if mac[-1] != "0" else "1")
    tampered = [
        f"link={expires}.{flipped}",  # the signature changed
        f"link={int(expires) + 86400}.{mac}",  # the expiry pushed out
        link_query(other, WALL + 3600),  # another client's link on this client's path
        "link=garbage",
    ]
    async with client_for(portal_app(archive)) as http:
        for path in routes(client):
            assert (await http.get(path)).status_code == 401, path
            for query in (expired, *tampered):
                reply = await http.get(f"{path}?{query}")
                assert reply.status_code == 401, (path, query)
                assert PORTAL_COOKIE not in reply.headers.get("set-cookie", "")
        page = await http.get(f"/portal/{client}/?{expired}", headers={"Accept": "text/html"})
        assert page.status_code == 401 and "expired" in page.text
        http.cookies.set(PORTAL_COOKIE, f"t.{client}.{int(WALL) + 3600}.{'0' * 64}")
        reply = await http.get(f"/portal/{client}/api/overview")
        assert reply.status_code == 401


async def test_a_link_stops_working_when_it_expires(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "packs")
    query = link_query("acme", WALL + 60)
    async with client_for(portal_app(archive, wall=WALL)) as http:
        assert (await http.get(f"/portal/acme/api/overview?{query}")).status_code == 200
    async with client_for(portal_app(archive, wall=WALL + 61)) as http:
        assert (await http.get(f"/portal/acme/api/overview?{query}")).status_code == 401


async def test_client_tokens_do_not_open_the_msp_dashboard(archive: Path) -> None:
    async with client_for(portal_app(archive), **bearer(TOKENS["acme"])) as http:
        for path in ("/", "/api/overview", "/api/clients/acme", "/api/clients/globex", "/metrics"):
            assert (await http.get(path)).status_code == 401, path


async def test_what_a_client_reads_carries_no_internal_address_or_other_client(
    archive: Path,
) -> None:
    async with client_for(portal_app(archive), **bearer(TOKENS["acme"])) as http:
        for path in routes("acme")[:-1]:
            text = (await http.get(path)).text
            assert "@msp.example" not in text and "dana" not in text.lower(), path
            assert "globex" not in text.lower(), path
        overview = (await http.get("/portal/acme/api/overview")).json()
    assert overview["name"] == "Acme Ltd"
    assert {b["ticket_id"] for b in overview["breaches"]} == {"A2", "A5"}
    assert [p["name"] for p in overview["packs"]] == list(PACKS["acme"])


async def test_a_download_is_the_pack_as_a_pdf_attachment(archive: Path) -> None:
    name = PACKS["acme"][0]
    async with client_for(portal_app(archive), **bearer(TOKENS["acme"])) as http:
        reply = await http.get(f"/portal/acme/packs/{name}")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/pdf"
    assert (
        "attachment" in reply.headers["content-disposition"]
        and name in reply.headers["content-disposition"]
    )
    assert reply.content == (archive / name).read_bytes()


def test_the_archive_lists_only_the_clients_well_named_packs_newest_first(
    archive: Path,
) -> None:
    packs = list_packs(archive, "acme")
    assert [(p.kind, p.period, p.title) for p in packs] == [
        ("monthly", "2026-02", "February 2026"),
        ("quarterly", "2025-Q4", "Q4 2025"),
    ]
    assert list_packs(None, "acme") == [] and list_packs(archive / "missing", "acme") == []


async def test_every_access_is_logged_with_who_and_what_never_the_credential(
    archive: Path, caplog: pytest.LogCaptureFixture
) -> None:
    query = link_query("acme", WALL + 3600)
    caplog.set_level(logging.INFO, logger="sla_connector.portal")
    async with client_for(portal_app(archive)) as http:
        await http.get(f"/portal/acme/?{query}")
        await http.get("/portal/globex/api/overview")
        await http.get("/portal/acme/api/trend", headers=bearer(TOKENS["acme"]))
        await http.get("/portal/globex/", headers=bearer(TOKENS["acme"]))
    records = [r for r in caplog.records if getattr(r, "event", None) == "portal_access"]
    seen = [(r.who, r.method, r.path, r.status) for r in records]  # type: ignore[attr-defined]
    assert seen == [
        ("client acme (signed link)", "GET", "/portal/acme/", 200),
        ("client acme (signed link)", "GET", "/portal/globex/api/overview", 404),
        ("client acme (portal token)", "GET", "/portal/acme/api/trend", 200),
        ("client acme (portal token)", "GET", "/portal/globex/", 404),
    ]
    secrets = (query.split(".")[-1], TOKENS["acme"], LINK_KEY)
    for record in records:
        text = record.getMessage() + repr(record.__dict__)
        assert not any(secret in text for secret in secrets)


async def test_without_a_dashboard_token_the_loopback_msp_sees_the_portal(archive: Path) -> None:
    async with client_for(portal_app(archive, token=None)) as http:
        assert (await http.get("/portal/globex/api/overview")).status_code == 200
        # a client credential still limits what it sees
        mine = await http.get("/portal/globex/api/overview", headers=bearer(TOKENS["acme"]))
        assert mine.status_code == 404
