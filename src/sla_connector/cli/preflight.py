"""The delivery channels ``check`` reaches before the daemon needs them: SMTP, Slack, Teams.

Each probe makes one attempt with a short timeout (a name that does not resolve fails at
once, never after minutes of retries) and, unless ``send_test`` is set, sends nothing:

- SMTP: connect, greet (EHLO), STARTTLS or implicit TLS as configured, log in when
  credentials are named, QUIT. With ``send_test`` one short email to the report recipients.
- Slack: POST an empty JSON object to the webhook. Slack answers a live webhook with
  ``400 no_text`` / ``invalid_payload`` (nothing is posted) and a dead one with ``403
  invalid_token`` / ``action_prohibited``, ``404 no_service`` / ``channel_not_found``, ``410
  channel_is_archived`` (api.slack.com/messaging/webhooks, "Handling errors").
- Teams: the host is resolved and reached over HTTPS with a GET, which a Workflows or
  incoming webhook refuses without running; the URL itself is only proven by a message
  (``send_test``).

No probe's message carries a webhook URL or a password.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import aiosmtplib
import httpx

from sla_connector.reporting.delivery import SmtpServer, scrub
from sla_connector.runtime.redaction import read_secret
from sla_connector.runtime.report_jobs import smtp_server
from sla_connector.settings import AppConfig

__all__ = ["NOT_TRIED", "ChannelVerdict", "check_channels", "is_dns_failure"]

TIMEOUT = 10.0
TEST_TEXT = "sla-connector check --send-test: this channel receives SLA reports and notices."
_DEAD_WEBHOOK = (403, 404, 410)


@dataclass(frozen=True, slots=True)
class ChannelVerdict:
    """One channel's line in ``check``: ``name`` like ``smtp`` or ``slack (notify.slack)``."""

    name: str
    ok: bool
    summary: str
    skipped: bool = False  # not tried: a secret it needs is missing (already reported)


NOT_TRIED = "not tried: set its missing secret(s) listed above first"


def is_dns_failure(exc: BaseException) -> bool:
    """Whether a connection failed because the host name does not resolve."""
    seen: BaseException | None = exc
    for _ in range(8):  # bounded walk down the cause chain
        if seen is None:
            return False
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def check_channels(
    config: AppConfig,
    *,
    send_test: bool = False,
    lacking: frozenset[str] = frozenset(),
    environ: Mapping[str, str] | None = None,
    http: httpx.AsyncClient | None = None,
) -> list[ChannelVerdict]:
    """A verdict per configured channel: the mail server, then each distinct webhook.

    ``lacking`` holds the sections (``notify.smtp``) with a missing secret: not tried.
    """
    verdicts: list[ChannelVerdict] = []
    smtp = config.notify.smtp
    if smtp is not None and "notify.smtp" in lacking:
        name = f"smtp ({smtp.host}:{smtp.port})"
        verdicts.append(ChannelVerdict(name, False, NOT_TRIED, skipped=True))
    elif smtp is not None:
        addresses = tuple(
            dict.fromkeys(a for r in config.reports.recipients.values() for a in r.email)
        )
        verdicts.append(await _smtp(config, send_to=addresses if send_test else ()))
    async with _client(http) as client:
        for channel, key, variable in _webhooks(config):
            url, problem = read_secret(variable, key, environ)
            name = f"{channel} ({key.rsplit('.', 1)[0]})"
            if url is None and key.rsplit(".", 1)[0] in lacking:
                verdicts.append(ChannelVerdict(name, False, NOT_TRIED, skipped=True))
                continue
            if url is None:
                verdicts.append(
                    ChannelVerdict(name, False, problem or f"{key}: {variable} is not set")
                )
                continue
            probe = _slack if channel == "slack" else _teams
            verdicts.append(ChannelVerdict(name, *await probe(client, url, send_test)))
    return verdicts


class _client:
    """The caller's HTTP client, or a short-lived one of our own."""

    def __init__(self, given: httpx.AsyncClient | None) -> None:
        self.given = given
        self.own: httpx.AsyncClient | None = None

    async def __aenter__(self) -> httpx.AsyncClient:
        if self.given is not None:
            return self.given
        self.own = httpx.AsyncClient(timeout=TIMEOUT)
        return self.own

    async def __aexit__(self, *exc: object) -> None:
        if self.own is not None:
            await self.own.aclose()


def _webhooks(config: AppConfig) -> list[tuple[str, str, str]]:
    """(channel, key path, variable) of every webhook, each variable once."""
    found: dict[str, tuple[str, str, str]] = {}
    if config.notify.slack is not None:
        default = config.notify.slack.webhook_env
        found.setdefault(default, ("slack", "notify.slack.webhook_env", default))
    for recipient, entry in config.reports.recipients.items():
        for channel, variable in (
            ("slack", entry.slack_webhook_env),
            ("teams", entry.teams_webhook_env),
        ):
            if variable:
                key = f"reports.recipients.{recipient}.{channel}_webhook_env"
                found.setdefault(variable, (channel, key, variable))
    return list(found.values())


def _unreachable(url: str, exc: Exception) -> str:
    host = urlsplit(url).hostname or "?"
    if is_dns_failure(exc):
        return f"cannot resolve {host} (DNS): check the URL and this machine's DNS"
    return f"cannot reach {host} ({type(exc).__name__}): check the network, proxy and firewall"


async def _slack(client: httpx.AsyncClient, url: str, send_test: bool) -> tuple[bool, str]:
    payload: dict[str, Any] = {"text": TEST_TEXT} if send_test else {}
    try:
        response = await client.post(url, json=payload)
    except httpx.InvalidURL:
        return False, "the webhook URL is not a valid URL"
    except httpx.HTTPError as exc:
        return False, _unreachable(url, exc)
    body = scrub(response.text[:120].replace("\n", " "), url)
    if send_test:
        if response.is_success:
            return True, "test message posted"
        return False, f"the webhook refused the test message: HTTP {response.status_code} {body}"
    if response.status_code == 400:
        return True, f"webhook live (an empty probe is refused with {body!r}; nothing posted)"
    if response.status_code in _DEAD_WEBHOOK:
        return (
            False,
            f"the webhook is revoked or its channel gone: HTTP {response.status_code} {body}",
        )
    return False, f"unexpected answer to the probe: HTTP {response.status_code} {body}"


async def _teams(client: httpx.AsyncClient, url: str, send_test: bool) -> tuple[bool, str]:
    host = urlsplit(url).hostname or "?"
    try:
        if send_test:
            response = await client.post(url, json=_teams_test_message())
        else:
            response = await client.get(url)
    except httpx.InvalidURL:
        return False, "the webhook URL is not a valid URL"
    except httpx.HTTPError as exc:
        return False, _unreachable(url, exc)
    if send_test:
        if response.is_success:
            return True, "test message posted"
        body = scrub(response.text[:120].replace("\n", " "), url)
        return False, f"the webhook refused the test message: HTTP {response.status_code} {body}"
    return True, (
        f"{host} reachable over HTTPS (HTTP {response.status_code}); nothing sent, so the URL "
        "itself is proven only by --send-test"
    )


def _teams_test_message() -> dict[str, Any]:
    card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": [{"type": "TextBlock", "text": TEST_TEXT, "wrap": True}],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


async def _smtp(config: AppConfig, *, send_to: tuple[str, ...]) -> ChannelVerdict:
    server = smtp_server(config.notify)
    assert server is not None
    name = f"smtp ({server.host}:{server.port})"
    if server.problem is not None:
        return ChannelVerdict(name, False, server.problem)
    try:
        summary = await _smtp_session(server, send_to)
    except aiosmtplib.SMTPAuthenticationError as exc:
        return ChannelVerdict(
            name, False, f"login refused ({exc.code}): check notify.smtp.username_env/password_env"
        )
    except aiosmtplib.SMTPResponseException as exc:
        reply = scrub(exc.message, server.password)
        return ChannelVerdict(name, False, f"the server answered {exc.code} {reply}")
    except (aiosmtplib.SMTPException, OSError) as exc:
        if is_dns_failure(exc) or isinstance(exc, socket.gaierror):
            why = f"cannot resolve {server.host} (DNS): check notify.smtp.host"
        else:
            detail = scrub(str(exc), server.password)
            why = f"cannot reach {server.host}:{server.port}: {detail}; check host, port and TLS"
        return ChannelVerdict(name, False, why)
    return ChannelVerdict(name, True, summary)


async def _smtp_session(server: SmtpServer, send_to: tuple[str, ...]) -> str:
    client = aiosmtplib.SMTP(
        hostname=server.host,
        port=server.port,
        use_tls=server.ssl,
        start_tls=server.starttls if not server.ssl else False,
        timeout=TIMEOUT,
    )
    await client.connect()
    try:
        steps = ["connected"]
        steps += ["TLS"] if server.ssl or server.starttls else []
        if server.username and server.password:
            await client.login(server.username, server.password)
            steps.append("login accepted")
        if send_to:
            message = EmailMessage()
            message["Subject"] = "sla-connector check: test message"
            message["From"] = server.sender
            message["To"] = ", ".join(send_to)
            message.set_content(TEST_TEXT)
            await client.send_message(message)
            steps.append(f"test email sent to {len(send_to)} address(es)")
        else:
            steps.append("nothing sent")
    finally:
        try:
            await client.quit()
        except aiosmtplib.SMTPException:
            client.close()
    return ", ".join(steps)
