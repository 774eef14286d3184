"""Support for the browser tests: find Debian's Chromium and chromedriver, run the demo.

The browser tests drive the system Chromium (``apt-get install chromium chromium-driver``)
through Selenium with an explicit chromedriver path, so nothing is ever downloaded; when
either binary or the ``selenium`` package is missing they skip and say which. The demo
runs as a real ``sla-connector demo`` subprocess, its output in a log file (a pipe nobody
reads would fill and stall it), and is always killed on the way out.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "DemoRun",
    "browser",
    "browser_skip_reason",
    "chromium_binary",
    "free_port",
    "png_size",
    "run_demo",
    "set_viewport",
    "wait_until",
]

REPO = Path(__file__).resolve().parents[2]
_CHROMIUM = ("chromium", "chromium-browser")
_DRIVER = ("chromedriver",)


def _find(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
        if Path("/usr/bin", name).exists():
            return f"/usr/bin/{name}"
    return None


def chromium_binary() -> str | None:
    """The system Chromium, or None."""
    return _find(_CHROMIUM)


def browser_skip_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import selenium  # noqa: F401, PLC0415
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    if chromium_binary() is None:
        return "Chromium is not installed (apt-get install -y chromium)"
    if _find(_DRIVER) is None:
        return "chromedriver is not installed (apt-get install -y chromium-driver)"
    return None


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(what: str, check: Any, timeout: float, every: float = 0.25) -> Any:
    """Poll ``check()`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


@dataclass
class DemoRun:
    """A running (or finished) ``sla-connector demo`` subprocess."""

    process: subprocess.Popen[bytes]
    url: str
    out: Path
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def overview(self) -> dict[str, Any] | None:
        """``/api/overview`` now, or None while the dashboard does not answer."""
        try:
            reply = httpx.get(f"{self.url}/api/overview", timeout=5)
        except httpx.HTTPError:
            return None
        if reply.status_code != 200:
            return None
        data: dict[str, Any] = reply.json()
        return data


@contextlib.contextmanager
def run_demo(work: Path, *args: str) -> Iterator[DemoRun]:
    """Start ``sla-connector demo ARGS --port P --out WORK/demo``; kill it on exit."""
    port = free_port()
    out = work / "demo"
    log = work / "demo.log"
    command = [
        str(Path(sys.executable).parent / "sla-connector"),
        "demo",
        *args,
        "--port",
        str(port),
        "--out",
        str(out),
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        yield DemoRun(process, f"http://127.0.0.1:{port}", out, log)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@contextlib.contextmanager
def browser(width: int, height: int) -> Iterator[Any]:
    """Headless system Chromium under Selenium, viewport ``width`` x ``height``; quit on exit."""
    from selenium import webdriver  # noqa: PLC0415
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    options = webdriver.ChromeOptions()
    options.binary_location = chromium_binary() or "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root in a container
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--force-color-profile=srgb",
        "--lang=en-GB",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    service = Service(executable_path=_find(_DRIVER) or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.set_page_load_timeout(30)
        driver.set_script_timeout(30)
        set_viewport(driver, width, height)
        yield driver
    finally:
        driver.quit()


def set_viewport(driver: Any, width: int, height: int, *, mobile: bool = False) -> None:
    """Exactly ``width`` x ``height`` CSS pixels at scale 1 (a phone: ``mobile=True``)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)
