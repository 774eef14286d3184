"""Deliver a rendered report: email by SMTP, Slack and Microsoft Teams by webhook.

Each (recipient, channel) pair is a ``Target`` and is delivered, retried and recorded on
its own, so a Slack outage never makes the email go out twice. A failure that can pass
(connection trouble, SMTP 4xx, HTTP 429 or 5xx) is retried with exponential backoff via
tenacity; one that cannot (bad credentials, a revoked webhook, a 5xx SMTP refusal) fails at
once. Webhook URLs are secrets: they are read from the environment at send time and never
appear in a message or a log line.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, Literal

import aiosmtplib
import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from sla_connector.core.errors import ConfigError, SlaConnectorError
from sla_connector.reporting.compute import INTERNAL
from sla_connector.reporting.render import Rendered
from sla_connector.settings.secret_env import resolve_secret
from sla_connector.settings.services import NotifyConfig, RecipientConfig, SmtpConfig

__all__ = [
    "CHANNELS",
    "Channel",
    "Deliver",
    "Deliverer",
    "DeliveryError",
    "Target",
    "build_email",
    "targets",
]

log = logging.getLogger("sla_connector.reports")

Channel = Literal["email", "slack", "teams"]
CHANNELS: tuple[Channel, ...] = ("email", "slack", "teams")
Sleep = Callable[[float], Awaitable[None]]


class DeliveryError(SlaConnectorError):
    """A report could not be delivered on one channel; ``retriable`` says if trying again helps."""

    def __init__(self, message: str, *, retriable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retriable = retriable
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Target:
    """One recipient key (a client, or ``internal``) on one channel."""

    recipient: str
    channel: Channel
    addresses: tuple[str, ...] = ()
    webhook_env: str | None = None

    @property
    def run_key(self) -> str:
        """The ``recipient`` of the report run recorded in the store: ``acme:email``."""
        return f"{self.recipient}:{self.channel}"

    @property
    def client(self) -> str | None:
        """The client whose report this target receives; None for the MSP-wide report."""
        return None if self.recipient == INTERNAL else self.recipient


def targets(recipients: Mapping[str, RecipientConfig], only: str | None = None) -> list[Target]:
    """Every configured (recipient, channel), in config order; ``only`` keeps one recipient."""
    found: list[Target] = []
    for key, config in recipients.items():
        if only is not None and key != only:
            continue
        if config.email:
            found.append(Target(key, "email", addresses=tuple(config.email)))
        if config.slack_webhook_env:
            found.append(Target(key, "slack", webhook_env=config.slack_webhook_env))
        if config.teams_webhook_env:
            found.append(Target(key, "teams", webhook_env=config.teams_webhook_env))
    return found


Deliver = Callable[[Rendered, Target], Awaitable[str]]
"""Sends one rendered report to one target; returns a short detail, raises on failure."""


def build_email(rendered: Rendered, sender: str, addresses: tuple[str, ...]) -> EmailMessage:
    """A multipart/alternative message: the plain text first, the HTML preferred."""
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = sender
    message["To"] = ", ".join(addresses)
    message["Date"] = formatdate(usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid("sla-report", domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def _smtp_error(exc: Exception) -> DeliveryError:
    """Classify an SMTP failure: a 4xx reply or a lost connection may pass, a 5xx will not."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [error.code for error in exc.recipients]
        transient = bool(codes) and all(400 <= code < 500 for code in codes)
        return DeliveryError(f"SMTP server refused every recipient ({codes})", retriable=transient)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        transient = 400 <= exc.code < 500
        return DeliveryError(f"SMTP server answered {exc.code} {exc.message}", retriable=transient)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return DeliveryError(f"SMTP server does not support it: {exc}", retriable=False)
    return DeliveryError(f"SMTP connection failed: {type(exc).__name__}: {exc}", retriable=True)


def _http_error(channel: str, response: httpx.Response) -> DeliveryError:
    status = response.status_code
    retry_after: float | None = None
    header = response.headers.get("retry-after")
    if header and header.isdigit():
        retry_after = float(header)
    body = response.text[:200].replace("\n", " ")
    return DeliveryError(
        f"{channel} webhook answered HTTP {status}: {body}",
        retriable=status == 429 or status >= 500,
        retry_after=retry_after,
    )


def _retriable(exc: BaseException) -> bool:
    return isinstance(exc, DeliveryError) and exc.retriable


class Deliverer:
    """The production ``Deliver``: SMTP for email, an HTTP POST for Slack and Teams.

    ``sleep`` is injected so tests can run the backoff in virtual time; ``tls_context``
    lets a test trust a self-signed SMTP server (production uses the system's CAs).
    """

    def __init__(
        self,
        notify: NotifyConfig,
        *,
        http: httpx.AsyncClient | None = None,
        environ: Mapping[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
        attempts: int = 5,
        backoff: timedelta = timedelta(seconds=30),
        max_backoff: timedelta = timedelta(minutes=10),
        tls_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.notify = notify
        self._http = http
        self._environ = environ
        self._sleep = sleep
        self._attempts = attempts
        self._backoff = backoff.total_seconds()
        self._max_backoff = max_backoff.total_seconds()
        self._tls_context = tls_context
        self._timeout = timeout

    async def __call__(self, rendered: Rendered, target: Target) -> str:
        """Deliver with retries; returns a detail line, raises ``DeliveryError`` at the end."""
        if target.channel == "email":
            smtp = self.notify.smtp
            if smtp is None:
                raise DeliveryError(
                    f"reports.recipients.{target.recipient}.email: notify.smtp is not configured",
                    retriable=False,
                )
            message = build_email(rendered, smtp.sender, target.addresses)
            await self._retrying(target, lambda: self._send_mail(smtp, message))
            return f"emailed {len(target.addresses)} address(es)"
        payload = rendered.slack if target.channel == "slack" else rendered.teams
        url = self._webhook_url(target)
        await self._retrying(target, lambda: self._post(target.channel, url, payload))
        return f"posted to the {target.channel} webhook"

    def _wait(self, state: RetryCallState) -> float:
        exponential = self._backoff * 2.0 ** (state.attempt_number - 1)
        wait = min(exponential, self._max_backoff)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, DeliveryError) and exc.retry_after is not None:
            wait = max(wait, min(exc.retry_after, self._max_backoff))
        return wait

    async def _retrying(self, target: Target, attempt: Callable[[], Awaitable[None]]) -> None:
        def warn(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "report delivery to %s failed (attempt %d of %d), retrying: %s",
                target.run_key,
                state.attempt_number,
                self._attempts,
                exc,
            )

        retrying = AsyncRetrying(
            sleep=self._sleep,
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            retry=retry_if_exception(_retriable),
            before_sleep=warn,
            reraise=True,
        )
        async for trial in retrying:
            with trial:
                await attempt()

    def _secret(self, variable: str) -> str | None:
        return resolve_secret(variable, self._environ)

    def _webhook_url(self, target: Target) -> str:
        variable = target.webhook_env or ""
        try:
            url = self._secret(variable)
        except ConfigError as exc:
            raise DeliveryError(str(exc), retriable=False) from None
        if not url:
            raise DeliveryError(
                f"reports.recipients.{target.recipient}.{target.channel}_webhook_env: "
                f"environment variable {variable} (or {variable}_FILE) is not set",
                retriable=False,
            )
        return url

    async def _send_mail(self, smtp: SmtpConfig, message: EmailMessage) -> None:
        username = self._secret(smtp.username_env) if smtp.username_env else None
        password = self._secret(smtp.password_env) if smtp.password_env else None
        try:
            await aiosmtplib.send(
                message,
                hostname=smtp.host,
                port=smtp.port,
                username=username,
                password=password,
                use_tls=smtp.ssl,
                start_tls=smtp.starttls,
                tls_context=self._tls_context,
                timeout=self._timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise _smtp_error(exc) from exc

    async def _post(self, channel: str, url: str, payload: Mapping[str, Any]) -> None:
        client = self._http
        try:
            if client is None:
                async with httpx.AsyncClient(timeout=self._timeout) as own:
                    response = await own.post(url, json=payload)
            else:
                response = await client.post(url, json=payload)
        except httpx.TransportError as exc:
            # str(exc) can carry the URL, which is a secret: name the failure only.
            raise DeliveryError(
                f"{channel} webhook unreachable: {type(exc).__name__}", retriable=True
            ) from None
        if not response.is_success:
            raise _http_error(channel, response)
