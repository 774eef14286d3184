"""The client portal in headless Chromium (issue 15 acceptance): a signed link from the
report email opens acme's portal, its pages show acme's figures only, and a pack
downloads to disk byte for byte."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from sla_connector.web.portal import mint_link
from tests.loopback import free_port
from tests.web.browser_support import browser, browser_skip_reason, wait_until
from tests.web.portal_support import LINK_KEY, PACKS, WALL, portal_app, write_archive

pytestmark = pytest.mark.slow


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    reason = browser_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    archive = write_archive(tmp_path / "packs")
    port = free_port()
    config = uvicorn.Config(
        portal_app(archive), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until("the portal to listen", lambda: server.started, timeout=30, every=0.05)
    try:
        yield f"http://127.0.0.1:{port}", archive
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_signed_link_opens_the_portal_in_chromium_and_a_pack_downloads(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    base, archive = served
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    link = mint_link(base, "acme", LINK_KEY, expires=int(WALL) + 3600)
    with browser(1280, 900) as driver:
        driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior",
            {"behavior": "allow", "downloadPath": str(downloads), "eventsEnabled": True},
        )
        driver.get(link)
        assert driver.find_element("css selector", "h1").text == "Acme Ltd: service levels"
        body = driver.find_element("css selector", "body").text
        assert "Globex" not in body and "@msp.example" not in body
        assert driver.find_elements("css selector", "svg.chart")
        driver.get(f"{base}/portal/acme/breaches")
        rows = driver.find_elements("css selector", '[data-testid="portal-breaches"] tbody tr')
        assert {row.find_element("css selector", "th").text for row in rows} == {"A2", "A5"}
        driver.get(f"{base}/portal/acme/packs")
        driver.find_element("css selector", '[data-testid="pack-2026-02"]').click()
        name = PACKS["acme"][0]
        target = downloads / name
        wait_until(f"{name} to download", target.exists, timeout=30)
        assert target.read_bytes() == (archive / name).read_bytes()
        # the other client's portal answers "not found" to this session
        driver.get(f"{base}/portal/globex/")
        assert driver.find_element("css selector", "h1").text == "Not found"
