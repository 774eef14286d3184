"""Issue 10 item 5 with real processes: a daemon SIGKILLed with a notice claimed sends it once.

`sla-connector run` fires escalations with `notify` against the simulator (virtual time,
600x) and posts its notices to a Slack stand-in on loopback. At first the stand-in holds
every post without taking it (as if the request had not reached Slack yet); as soon as one
arrives, the notice it carries is claimed in the ledger, and the daemon is SIGKILLed. The
held post is then dropped unanswered, the stand-in starts accepting, and the daemon is
started again: it takes the claim back and sends that notice, once. Every notice Slack
accepted is accepted once, and every notice the ledger calls sent was accepted.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from sla_connector.store import Store
from tests.runtime.crash_support import Setup, stop

SPEED = 600.0


class Slack:
    """Holds posts (``accepting`` False) or accepts them, keeping the texts it accepted."""

    def __init__(self) -> None:
        self.accepting = False
        self.held: list[str] = []
        self.accepted: list[str] = []
        self.release = threading.Event()
        self.lock = threading.Lock()


@contextmanager
def slack_server(slack: Slack) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            text = json.loads(body)["text"]
            with slack.lock:
                accept = slack.accepting
                if accept:
                    slack.accepted.append(text)
                else:
                    slack.held.append(text)
            if not accept:
                # Not taken: wait, then drop it (the poster is dead by then).
                slack.release.wait(60)
                self.close_connection = True
                return
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/services/T1/B2/X3"
    finally:
        slack.release.set()
        server.shutdown()
        server.server_close()


def _notices(setup: Setup) -> dict[str, tuple[str, int]]:
    store = Store.open(setup.store_url)
    try:
        return {n.key: (n.state, n.attempts) for n in store.notifications()}
    finally:
        store.close()


@pytest.mark.slow
def test_a_notice_claimed_when_the_daemon_is_killed_is_sent_once_after_the_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = Setup.create(tmp_path, speed=SPEED)
    data = yaml.safe_load(setup.config_path.read_text())
    data["notify"] = {"slack": {"webhook_env": "SLA_TEST_SLACK"}}
    setup.config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    slack = Slack()
    with slack_server(slack) as url, setup.server():
        monkeypatch.setenv("SLA_TEST_SLACK", url)
        first = setup.spawn()
        try:
            assert first.wait_started(60) is not None, first.log.read_text()[-3000:]
            deadline = time.monotonic() + 120
            while not slack.held and time.monotonic() < deadline:
                assert first.process.poll() is None, first.log.read_text()[-3000:]
                time.sleep(0.01)
            assert slack.held, "no notice was posted"
            stop(first.process, signal.SIGKILL, 5)
        finally:
            stop(first.process, signal.SIGKILL, 5)
        claimed = [key for key, (state, _) in _notices(setup).items() if state == "claimed"]
        assert len(claimed) == 1, "the held post's notice is left claimed by the killed daemon"
        with slack.lock:
            slack.accepting = True
        slack.release.set()
        second = setup.spawn()
        try:
            assert second.wait_started(60) is not None, second.log.read_text()[-3000:]
            deadline = time.monotonic() + 60
            while _notices(setup)[claimed[0]][0] != "sent" and time.monotonic() < deadline:
                assert second.process.poll() is None, second.log.read_text()[-3000:]
                time.sleep(0.2)
            setup.wait_until(setup.now() + timedelta(hours=2), daemon=second)
            assert stop(second.process, signal.SIGTERM, 15) == 0
        finally:
            stop(second.process, signal.SIGKILL, 5)
    notices = _notices(setup)
    assert notices[claimed[0]] == ("sent", 2), "taken back and sent on its second post"
    assert slack.held[0] in slack.accepted, "the held notice reached Slack after the restart"
    repeated = {text: n for text, n in Counter(slack.accepted).items() if n > 1}
    assert not repeated, f"notices accepted twice: {repeated}"
    sent = [key for key, (state, _) in notices.items() if state == "sent"]
    assert len(sent) == len(slack.accepted), "every accepted post is one sent notice"
