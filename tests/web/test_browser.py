"""The dashboard in a real browser (issue 5 acceptance): headless Chromium against the demo.

A real ``sla-connector demo`` runs the daemon on the embedded simulator in virtual time
(600x: ten virtual minutes a second) and serves the dashboard on loopback. Chromium, driven
by Selenium with Debian's chromedriver, loads the overview and checks that every adherence
cell and total shows what ``/api/overview`` says for the same instant, then waits for a
simulated breach to reach the page through its own polling, without a reload. Along the
way it takes the README screenshots: the overview at laptop and phone widths, a client
page, and the weekly report the demo writes. They go to a temporary folder, so a test run
leaves the checkout as it was; ``SLA_SCREENSHOTS_DIR=docs/images`` refreshes the committed
ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sla_connector.runtime.demo import DEMO_START
from tests.web.browser_support import (
    DemoRun,
    browser,
    browser_skip_reason,
    chromium_binary,
    png_size,
    run_demo,
    set_viewport,
    wait_until,
)

pytestmark = pytest.mark.slow

# A temporary folder unless SLA_SCREENSHOTS_DIR names one (docs/images to refresh them).
SCREENSHOTS = Path(
    os.environ.get("SLA_SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "sla-screenshots"
)
BUSY = datetime(2026, 11, 3, 14, tzinfo=UTC)  # the demo's Tuesday afternoon: a full screen
DESKTOP = (1366, 900)
PHONE = (390, 844)
TOTALS = {
    "total-open": "open_total",
    "total-at-risk": "at_risk_total",
    "total-breached-open": "breached_open_total",
}

# Installed before any page script runs: remembers the JSON of the page's own API polls,
# so the test can compare what the page shows with exactly what it was sent.
RECORD_API = """
(function () {
  var original = window.fetch.bind(window);
  window.__apiSeen = 0;
  window.fetch = function (input, init) {
    return original(input, init).then(function (reply) {
      var url = typeof input === "string" ? input : input.url;
      if (reply.ok && url.indexOf("/api/") !== -1) {
        reply.clone().json().then(function (data) {
          window.__apiLast = data;
          window.__apiSeen += 1;
        });
      }
      return reply;
    });
  };
}());
"""

READ_PAGE = """
var cells = {}, counts = {}, totals = {};
document.querySelectorAll('[data-testid^="adherence-"]').forEach(function (el) {
  cells[el.dataset.testid] = {
    text: el.querySelector(".value").textContent.trim(),
    label: el.querySelector(".verdict").textContent.trim(),
    status: el.dataset.status,
    met: Number(el.dataset.met),
    breached: Number(el.dataset.breached)
  };
});
document.querySelectorAll('[data-testid^="open-"], [data-testid^="atrisk-"], '
    + '[data-testid^="breachedopen-"]').forEach(function (el) {
  counts[el.dataset.testid] = el.textContent.trim();
});
document.querySelectorAll('[data-testid^="total-"]').forEach(function (el) {
  totals[el.dataset.testid] = el.textContent.trim();
});
var asof = document.getElementById("asof");
return {
  now: asof ? asof.getAttribute("datetime") : null,
  cells: cells, counts: counts, totals: totals,
  marker: window.__marker === undefined ? null : window.__marker,
  last: window.__apiLast === undefined ? null : window.__apiLast,
  seen: window.__apiSeen || 0
};
"""


@pytest.fixture
def chromium() -> str:
    reason = browser_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    return chromium_binary() or "/usr/bin/chromium"


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _percent_text(met: int, breached: int) -> str:
    """The figure computed here from the counts, independently of the app's formatting."""
    decided = met + breached
    return "\u2013" if decided == 0 else f"{met / decided * 100:.1f}%"


def _expected(api: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    cells: dict[str, Any] = {}
    counts: dict[str, str] = {}
    for block in api["clients"]:
        for line in block["tiers"]:
            base = f"{line['client']}-{line['tier']}"
            for kind, windows in line["adherence"].items():
                for window, cell in windows.items():
                    cells[f"adherence-{base}-{kind}-{window}"] = cell
            counts[f"open-{base}"] = str(line["open"])
            counts[f"atrisk-{base}"] = str(line["at_risk"])
            counts[f"breachedopen-{base}"] = str(line["breached_open"])
    totals = {testid: str(api[key]) for testid, key in TOTALS.items()}
    return cells, counts, totals


def _assert_page_shows(page: dict[str, Any], api: dict[str, Any]) -> None:
    """Every adherence cell, per-tier count and total on the page is the API's figure."""
    assert _instant(page["now"]) == _instant(api["now"])
    cells, counts, totals = _expected(api)
    assert set(page["cells"]) == set(cells), "the table's cells are not the API's cells"
    assert len(cells) >= 3 * 4 * 3 * 2  # 3 clients x (3 tiers + all) x 3 kinds x 7d/30d
    for testid, cell in cells.items():
        shown = page["cells"][testid]
        assert shown["text"] == cell["text"] == _percent_text(cell["met"], cell["breached"]), testid
        assert (shown["met"], shown["breached"]) == (cell["met"], cell["breached"]), testid
        assert (shown["status"], shown["label"]) == (cell["status"], cell["label"]), testid
    assert page["counts"] == counts
    for testid, value in totals.items():
        assert page["totals"][testid] == value, testid


def _breaches_shown(page: dict[str, Any]) -> int:
    return sum(cell["breached"] for cell in page["cells"].values())


def _alive(demo: DemoRun) -> bool:
    """True while the demo runs; its output in the failure once it has exited."""
    if demo.process.poll() is not None:
        raise AssertionError(f"the demo exited early:\n{demo.output()[-3000:]}")
    return True


def _first_paint_with_api(demo: DemoRun, driver: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Load the overview until its first paint and /api/overview report the same instant,
    once virtual time has left the demo's start: at the start instant itself the daemon is
    still taking in the opening backlog, so breaches appear there without time moving."""

    def attempt() -> tuple[dict[str, Any], dict[str, Any]] | None:
        _alive(demo)
        driver.get(f"{demo.url}/")
        page: dict[str, Any] = driver.execute_script(READ_PAGE)
        api = demo.overview()
        if api is None or page["now"] is None or _instant(page["now"]) != _instant(api["now"]):
            return None
        return (page, api) if _instant(api["now"]) > DEMO_START else None

    result: tuple[dict[str, Any], dict[str, Any]] = wait_until(
        "a first paint and /api/overview of the same instant", attempt, timeout=90, every=0.05
    )
    return result


def _page_after_its_latest_poll(driver: Any) -> dict[str, Any]:
    """The page once it has applied the last API reply it received (compare the two)."""

    def applied() -> dict[str, Any] | None:
        page: dict[str, Any] = driver.execute_script(READ_PAGE)
        last = page["last"]
        return page if last is not None and page["now"] == last["now"] else None

    page: dict[str, Any] = wait_until("the page to apply its latest poll", applied, timeout=30)
    return page


def _reached(demo: DemoRun, instant: datetime) -> bool:
    api = demo.overview()
    return api is not None and _instant(api["now"]) >= instant


def _screenshot(driver: Any, name: str, size: tuple[int, int]) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    assert driver.save_screenshot(str(path)), f"could not write {path}"
    assert png_size(path) == size
    return path


def test_dashboard_in_chromium_shows_api_figures_and_a_breach_arrives_without_reload(
    chromium: str, tmp_path: Path
) -> None:
    with run_demo(tmp_path, "--days", "2", "--speed", "600") as demo, browser(*DESKTOP) as driver:
        wait_until(
            "the demo's dashboard to answer",
            lambda: _alive(demo) and demo.overview() is not None,
            timeout=60,
        )
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_API})

        # The first paint (server-rendered) shows the API's figures for the same instant.
        page, api = _first_paint_with_api(demo, driver)
        _assert_page_shows(page, api)

        # A simulated breach reaches the page through its polling, with no reload.
        driver.execute_script("window.__marker = 1;")
        before = _breaches_shown(page)

        def breach_shown() -> dict[str, Any] | None:
            _alive(demo)
            now: dict[str, Any] = driver.execute_script(READ_PAGE)
            later = _instant(now["now"]) > _instant(page["now"])
            return now if later and _breaches_shown(now) > before else None

        changed = wait_until(
            "a new breach on the page at a later instant", breach_shown, timeout=180, every=0.5
        )
        assert changed["marker"] == 1, "the page was reloaded instead of updated in place"
        assert changed["seen"] >= 1, "the page changed without polling its API"

        # What the page shows after an update is exactly what its poll received.
        live = _page_after_its_latest_poll(driver)
        _assert_page_shows(live, live["last"])
        assert live["marker"] == 1


def test_demo_week_dashboard_fits_a_phone_and_its_weekly_report_shows_its_figures(
    chromium: str, tmp_path: Path
) -> None:
    with run_demo(tmp_path, "--days", "7", "--speed", "max") as demo, browser(*DESKTOP) as driver:
        wait_until(
            "the demo to reach a busy Tuesday afternoon",
            lambda: _alive(demo) and _reached(demo, BUSY),
            timeout=300,
        )
        driver.get(f"{demo.url}/")
        open_total = driver.find_element("css selector", '[data-testid="total-open"]').text
        assert int(open_total) > 0
        _screenshot(driver, "dashboard-desktop.png", DESKTOP)

        set_viewport(driver, *PHONE, mobile=True)
        driver.get(f"{demo.url}/")
        assert driver.execute_script("return window.innerWidth") == PHONE[0]
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"the overview is {overflow}px wider than a phone"
        _screenshot(driver, "dashboard-phone.png", PHONE)

        set_viewport(driver, *DESKTOP)
        driver.get(f"{demo.url}/clients/acme")
        assert "ACME Corporation" in driver.find_element("css selector", "h1").text
        assert driver.find_elements("css selector", "svg[role='img']"), "no trend chart"
        _screenshot(driver, "dashboard-client.png", DESKTOP)

        try:
            demo.process.wait(timeout=420)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the 7-day demo did not finish:\n{demo.output()[-3000:]}")
        assert demo.process.returncode == 0, demo.output()[-3000:]
    html = next(demo.out.glob("weekly-*.html"))
    report = json.loads(html.with_suffix(".json").read_text())

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "report.png"
    shot.unlink(missing_ok=True)
    render = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-color-profile=srgb",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=900,1600",
            f"--screenshot={shot}",
            html.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.exists(), render.stderr.decode(errors="replace")[-2000:]
    assert png_size(shot) == (900, 1600)
    assert shot.stat().st_size > 30_000, "the report screenshot looks blank"

    with browser(900, 1600) as driver:
        driver.get(html.as_uri())
        text = driver.find_element("tag name", "body").text
    assert report["clients"], "the week's report has no clients"
    for client in report["clients"]:
        assert client["name"] in text
        for kind in ("response", "resolution", "ticket"):
            rate = client[kind]["rate"]
            if rate is not None:
                assert f"{rate * 100:.1f}%" in text, (client["client"], kind)
