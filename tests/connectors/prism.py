"""Stoplight Prism as a contract mock: start it on 127.0.0.1 from a vendor spec, read its verdicts.

Usage in a vendor's contract test::

    from tests.connectors.prism import PrismServer, prism_fixture

    prism = prism_fixture("connectwise-with-writes.json")          # module-scoped fixture

    def test_poll_against_the_spec(prism: PrismServer) -> None:
        ...  # point the adapter at prism.base_url, run check() and one poll
        assert prism.request_errors() == []

Prism is installed by ``npm ci --prefix tools/prism`` (``make prism``); the spec files live in
the repository, ``tests/fixtures/specs/`` (their sources and versions: its README.md). When
node or Prism is missing the test is skipped with the reason; a missing spec is a failure.
``request_errors()`` lists every request Prism refused: a
request-validation error (wrong parameter type, missing required header, a body that breaks the
schema), or a path / method the spec does not define. Response-side findings are ignored: they
describe the spec's own examples, not our requests.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = ["SPECS", "PrismServer", "prism_binary", "prism_fixture", "prism_server", "spec_path"]

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "tests" / "fixtures" / "specs"
PRISM_BIN = REPO / "tools" / "prism" / "node_modules" / ".bin" / "prism"
START_TIMEOUT = 120.0  # seconds; the 2.8 MB Jira spec takes longest to load
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_SERVER = re.compile(r"\[HTTP SERVER\]\s+(?P<method>\w+)\s+(?P<path>\S+)\s+(?P<rest>.*)$")
_VALIDATOR_ERROR = re.compile(r"\[VALIDATOR\]\s+\S+\s+error\s+(?P<message>.*)$")


def prism_binary() -> Path | None:
    """The Prism executable (``PRISM_BIN`` overrides), or None when not installed."""
    override = os.environ.get("PRISM_BIN")
    candidate = Path(override) if override else PRISM_BIN
    return candidate if candidate.exists() else None


def spec_path(name: str) -> Path:
    """A spec file from ``tests/fixtures/specs``; it is part of the checkout."""
    path = SPECS / name
    if not path.exists():
        pytest.fail(f"API spec {path} is missing from the checkout (see its README.md)")
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PrismServer:
    """A running Prism mock and what it logged."""

    base_url: str
    log_path: Path
    process: subprocess.Popen[bytes]
    _offset: int = field(default=0, repr=False)

    def log_text(self) -> str:
        """The whole log so far, colour codes removed."""
        return _ANSI.sub("", self.log_path.read_text(encoding="utf-8", errors="replace"))

    def mark(self) -> None:
        """Forget what was logged so far: ``request_errors`` then covers later requests only."""
        self._offset = len(self.log_text())

    def request_errors(self) -> list[str]:
        """``"METHOD /path: problem"`` for each request Prism refused since the last ``mark``."""
        errors: list[str] = []
        current = "?"
        in_request = False
        for line in self.log_text()[self._offset :].splitlines():
            server = _SERVER.search(line)
            if server:
                current = f"{server['method'].upper()} {server['path']}"
                in_request = False
                if (
                    "Request terminated with error" in server["rest"]
                    and "UNPROCESSABLE_ENTITY" not in server["rest"]
                ):
                    errors.append(f"{current}: {server['rest'].strip()}")
                continue
            if "Request did not pass the validation rules" in line:
                in_request = True
                continue
            if "[NEGOTIATOR]" in line:
                in_request = False
                continue
            error = _VALIDATOR_ERROR.search(line)
            if error and in_request:
                errors.append(f"{current}: {error['message'].strip()}")
        return errors


def _wait_until_listening(server: PrismServer, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"Prism exited with {server.process.returncode}:\n{server.log_text()[-2000:]}"
            )
        if "Prism is listening" in server.log_text():
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        time.sleep(0.1)
    raise RuntimeError(f"Prism did not start within {timeout:.0f}s:\n{server.log_text()[-2000:]}")


@contextmanager
def prism_server(
    spec: Path, *, dynamic: bool = False, seed: str = "1", timeout: float = START_TIMEOUT
) -> Iterator[PrismServer]:
    """Run ``prism mock`` on a free loopback port for the duration of the block."""
    binary = prism_binary()
    if binary is None:
        pytest.skip("Prism is not installed: run `npm ci --prefix tools/prism` (make prism)")
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH; Prism needs it")
    port = _free_port()
    command = [str(binary), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)]
    if dynamic:
        command += ["-d", "--seed", seed]
    with tempfile.TemporaryDirectory(prefix="prism-") as tmp:
        log_path = Path(tmp) / "prism.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                command,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        server = PrismServer(
            base_url=f"http://127.0.0.1:{port}", log_path=log_path, process=process
        )
        try:
            _wait_until_listening(server, port, timeout)
            yield server
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the process group this fixture started (Prism forks node workers)."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            process.wait(timeout=10)


def prism_fixture(spec_name: str, *, dynamic: bool = False, seed: str = "1") -> Callable[..., Any]:
    """A module-scoped pytest fixture yielding a ``PrismServer`` for ``spec_name``."""

    @pytest.fixture(scope="module")
    def prism() -> Iterator[PrismServer]:
        with prism_server(spec_path(spec_name), dynamic=dynamic, seed=seed) as server:
            yield server

    return prism
