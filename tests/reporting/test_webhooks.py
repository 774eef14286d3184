"""Slack and Teams delivery: valid payloads within platform limits, retries, secret URLs."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from sla_connector.core.errors import ConfigError
from sla_connector.reporting import (
    DeliveryError,
    Rendered,
    Target,
    build_report,
    render_all,
    weekly_period,
)
from sla_connector.reporting.chat import (
    SLACK_MAX_BLOCKS,
    SLACK_MAX_HEADER,
    SLACK_MAX_SECTION,
    TEAMS_MAX_BYTES,
    slack_message,
    teams_message,
)
from sla_connector.reporting.model import Report
from sla_connector.runtime.report_jobs import deliverer_for, report_targets
from sla_connector.settings.services import NotifyConfig, RecipientConfig
from sla_connector.store import Store
from tests.loopback import Hook, webhook_server
from tests.reporting.conftest import NOW, WEEK_END, WEEK_START, make_config, seed_store, tickets_at
from tests.reporting.dataset import Spec, expected, rate

SLACK_BLOCK_TYPES = {"header", "section", "context", "divider"}


@pytest.fixture
def rendered(tmp_path: Path, dataset: list[Spec]) -> Rendered:
    config = make_config(tmp_path)
    with Store.open(config.store.url) as store:
        seed_store(store, config.policy, tickets_at(dataset, NOW), NOW)
        report = build_report(store, config.policy, weekly_period(NOW, "Europe/London"), NOW,
                              client="acme", timezone="Europe/London")  # fmt: skip
    return render_all(report)


def assert_valid_slack(payload: dict[str, Any]) -> None:
    """Block Kit rules an incoming webhook enforces (it answers invalid_blocks otherwise)."""
    assert isinstance(payload["text"], str) and payload["text"]
    blocks = payload["blocks"]
    assert 1 <= len(blocks) <= SLACK_MAX_BLOCKS
    for block in blocks:
        assert block["type"] in SLACK_BLOCK_TYPES
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= SLACK_MAX_HEADER
        if block["type"] == "section":
            if "text" in block:
                assert block["text"]["type"] == "mrkdwn"
                assert 0 < len(block["text"]["text"]) <= SLACK_MAX_SECTION
            fields = block.get("fields", [])
            assert len(fields) <= 10 and all(0 < len(f["text"]) <= 2000 for f in fields)
            assert "text" in block or fields
        if block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10
            assert all(0 < len(e["text"]) <= 3000 for e in block["elements"])


def slack_text(payload: dict[str, Any]) -> str:
    parts = []
    for block in payload["blocks"]:
        parts += [block.get("text", {}).get("text", "")]
        parts += [f["text"] for f in block.get("fields", [])]
        parts += [e["text"] for e in block.get("elements", [])]
    return "\n".join(parts)


@pytest.mark.anyio
async def test_slack_webhook_receives_valid_block_kit_with_the_hand_computed_figures(
    rendered: Rendered, dataset: list[Spec]
) -> None:
    hook = Hook()
    with webhook_server(hook) as base:
        environ = {"ACME_SLACK": f"{base}/services/T/B/x"}
        deliverer = deliverer_for(rendered_notify(), environ=environ)
        detail = await deliverer(rendered, target("acme", "slack", "ACME_SLACK", environ))
    assert detail == "posted to the slack webhook"
    [(path, content_type, payload)] = hook.posts
    assert path == "/services/T/B/x" and content_type == "application/json"
    assert_valid_slack(payload)
    counts = expected(dataset, WEEK_START, WEEK_END, NOW, "acme")
    text = slack_text(payload)
    for name, kind in (("Response", "response"), ("Resolution", "resolution"),
                       ("Both clocks met", "ticket")):  # fmt: skip
        assert f"*{name}*\n{rate(counts, kind)} (target 95.0%), below target" in text
    assert rate(counts, "ticket") in payload["text"]
    assert "ACME Corporation" in payload["blocks"][0]["text"]["text"]
    assert "&lt;P1&gt; &amp; co" in text  # ticket subjects are escaped for mrkdwn


@pytest.mark.anyio
async def test_teams_webhook_receives_an_adaptive_card_message_with_the_same_figures(
    rendered: Rendered, dataset: list[Spec]
) -> None:
    hook = Hook(ok=202)  # Workflows answer 202 Accepted
    with webhook_server(hook) as base:
        environ = {"MSP_TEAMS": f"{base}/workflows/1"}
        deliverer = deliverer_for(rendered_notify(), environ=environ)
        await deliverer(rendered, target("acme", "teams", "MSP_TEAMS", environ))
    [(_, _, payload)] = hook.posts
    assert payload["type"] == "message"
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert len(orjson.dumps(payload)) <= TEAMS_MAX_BYTES
    counts = expected(dataset, WEEK_START, WEEK_END, NOW, "acme")
    columns = next(b for b in card["body"] if b["type"] == "ColumnSet")["columns"]
    figures = {c["items"][0]["text"]: c["items"][1]["text"] for c in columns}
    assert figures == {
        "Response": rate(counts, "response"),
        "Resolution": rate(counts, "resolution"),
        "Both clocks met": rate(counts, "ticket"),
    }
    assert all(c["items"][1]["color"] == "Attention" for c in columns)  # below the 95% target
    assert card["body"][-1]["text"] == rendered.report.evidence.statement


def _huge(report: Report) -> Report:
    """The report with 2,000 breaches with very long subjects."""
    line = dataclasses.replace(report.breaches[0], subject="x" * 5000)
    many = tuple(dataclasses.replace(line, ticket_id=str(n)) for n in range(2000))
    return dataclasses.replace(report, breaches=many, at_risk=report.at_risk * 50)


def test_slack_limits_hold_for_a_huge_report_and_say_what_was_left_out(
    rendered: Rendered,
) -> None:
    huge = _huge(rendered.report)
    for listed in (15, 2000):
        payload = slack_message(huge, listed=listed)
        assert_valid_slack(payload)
        assert payload["blocks"][-1]["elements"][0]["text"] == huge.evidence.statement
    assert "1985 more" in slack_text(slack_message(huge))
    assert "more sections left out" in slack_text(slack_message(huge, listed=2000))


def test_teams_message_of_a_huge_report_stays_under_the_size_limit(rendered: Rendered) -> None:
    payload = teams_message(_huge(rendered.report))
    assert len(orjson.dumps(payload)) <= TEAMS_MAX_BYTES
    body = payload["attachments"][0]["content"]["body"]
    assert body[-1]["text"] == rendered.report.evidence.statement


def rendered_notify() -> NotifyConfig:
    return NotifyConfig()


def target(recipient: str, channel: str, variable: str, environ: dict[str, str]) -> Target:
    """The report target the runtime resolves for one configured webhook variable."""
    config = RecipientConfig.model_validate({f"{channel}_webhook_env": variable})
    (found,) = report_targets({recipient: config}, environ=environ)
    return found


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.mark.anyio
async def test_webhook_5xx_and_429_are_retried_with_backoff_honouring_retry_after(
    rendered: Rendered,
) -> None:
    answers = [httpx.Response(503), httpx.Response(429, headers={"Retry-After": "120"}),
               httpx.Response(200, text="ok")]  # fmt: skip
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return answers.pop(0)

    sleeps = Sleeps()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        environ = {"HOOK": "https://hooks.slack.com/services/SECRET"}
        deliverer = deliverer_for(rendered_notify(), http=http, sleep=sleeps, environ=environ,
                                  backoff=timedelta(seconds=30))  # fmt: skip
        await deliverer(rendered, target("acme", "slack", "HOOK", environ))
    assert len(calls) == 3 and sleeps == [30.0, 120.0]


@pytest.mark.anyio
async def test_a_revoked_webhook_fails_at_once_without_leaking_its_url(rendered: Rendered) -> None:
    sleeps = Sleeps()

    def gone(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="no_service")

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}")

    secret = "https://hooks.slack.com/services/T000/B000/SECRETTOKEN"
    for handler, retries in ((gone, 0), (unreachable, 2)):
        sleeps.clear()
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            deliverer = deliverer_for(rendered_notify(), http=http, sleep=sleeps, attempts=3,
                                      environ={"HOOK": secret})  # fmt: skip
            with pytest.raises(DeliveryError) as caught:
                await deliverer(rendered, target("acme", "slack", "HOOK", {"HOOK": secret}))
        assert "SECRETTOKEN" not in str(caught.value)
        assert caught.value.__cause__ is None or "SECRETTOKEN" not in str(caught.value.__cause__)
        assert len(sleeps) == retries


@pytest.mark.anyio
async def test_a_missing_webhook_variable_names_the_config_key(rendered: Rendered) -> None:
    deliverer = deliverer_for(rendered_notify(), environ={})
    with pytest.raises(DeliveryError, match="ACME_TEAMS") as caught:
        await deliverer(rendered, target("acme", "teams", "ACME_TEAMS", {}))
    assert "reports.recipients.acme.teams_webhook_env" in str(caught.value)
    assert not caught.value.retriable


def test_recipients_accept_a_teams_webhook_variable_and_reject_a_bad_name(
    tmp_path: Path,
) -> None:
    ok = make_config(tmp_path, reports={"recipients": {"internal": {"teams_webhook_env": "T_URL"}}})
    assert ok.reports.recipients["internal"].teams_webhook_env == "T_URL"
    with pytest.raises(ConfigError, match=r"reports\.recipients\.internal\.teams_webhook_env"):
        make_config(tmp_path, reports={"recipients": {"internal": {"teams_webhook_env": "a b"}}})


HOSTILE = "<!channel> <https://e.x|Reset> & [go](https://e.x) **now** {{DATE(x)}}\r\n- a"


def _hostile(report: Report) -> Report:
    breaches = tuple(dataclasses.replace(b, subject=HOSTILE) for b in report.breaches)
    return dataclasses.replace(report, breaches=breaches, scope_name="Acme <!here> [x](https://e)")


def test_finding_6_slack_report_text_from_tickets_is_inert(rendered: Rendered) -> None:
    report = _hostile(rendered.report)
    assert report.breaches, "the dataset has breaches to list"
    message = slack_message(report)
    # Slack reads the top-level text and every mrkdwn object as markup (plain_text, the
    # header's type, is shown literally).
    mrkdwn = [message["text"]]
    for block in message["blocks"]:
        for part in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]:
            if isinstance(part, dict) and part.get("type") == "mrkdwn":
                mrkdwn.append(part["text"])
    payload = "\n".join(mrkdwn)
    for live in ("<!channel>", "<!here>", "<https://e.x|Reset>"):
        assert live not in payload, live
    assert "&lt;!channel&gt; &lt;https://e.x|Reset&gt; &amp;" in payload
    assert "Acme &lt;!here&gt;" in message["text"]


def test_finding_6_teams_card_text_from_tickets_is_inert(rendered: Rendered) -> None:
    report = _hostile(rendered.report)
    card = teams_message(report)["attachments"][0]["content"]
    texts = [block.get("text", "") for block in card["body"]]
    facts = [
        fact[part]
        for block in card["body"]
        if block["type"] == "FactSet"
        for fact in block["facts"]
        for part in ("title", "value")
    ]
    shown = "\n".join([*texts, *facts])
    assert "[go](https://e.x)" not in shown
    assert "\\[go\\]\\(https://e.x\\)" in shown
    assert "**now**" not in shown and "\\*\\*now\\*\\*" in shown
    assert "{{DATE" not in shown
    assert all("\n" not in value and "\r" not in value for value in facts)
    assert "\\[x\\]\\(https://e\\)" in card["body"][0]["text"]
