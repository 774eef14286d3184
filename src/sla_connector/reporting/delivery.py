"""Deliver rendered messages: email by SMTP, Slack and Microsoft Teams by webhook.

The one delivery path of the product: the scheduled and manual reports and the escalation
notices all go through ``Deliverer``. Each report (recipient, channel) pair is a ``Target``
and is delivered, retried and recorded on its own, so a Slack outage never makes the email
go out twice. A failure that can pass (connection trouble, SMTP 4xx, HTTP 429 or 5xx) is
retried with exponential backoff via tenacity; one that cannot (bad credentials, a revoked
webhook, a 5xx SMTP refusal) fails at once.

This module takes plain, already resolved values (addresses, a sender, a webhook URL or
password the runtime has read): it reads no configuration and no environment. Webhook URLs
and passwords are secrets: they are kept out of every ``repr``, and no ``DeliveryError``
message (which the runtime logs, records and shows on the dashboard) contains one.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, Literal
from urllib.parse import urlsplit

import aiosmtplib
import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from sla_connector.core.errors import SlaConnectorError
from sla_connector.reporting.compute import INTERNAL
from sla_connector.reporting.escaping import header_text
from sla_connector.reporting.render import Rendered

__all__ = [
    "CHANNELS",
    "Channel",
    "Deliver",
    "Deliverer",
    "DeliveryError",
    "SmtpServer",
    "Target",
    "build_email",
    "scrub",
]

log = logging.getLogger("sla_connector.reports")

Channel = Literal["email", "slack", "teams"]
CHANNELS: tuple[Channel, ...] = ("email", "slack", "teams")
Sleep = Callable[[float], Awaitable[None]]


class DeliveryError(SlaConnectorError):
    """A message could not be delivered on one channel; ``retriable`` says if trying again helps.

    The message never contains the webhook URL or a password (it is logged and recorded).
    """

    def __init__(self, message: str, *, retriable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retriable = retriable
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Target:
    """One recipient key (a client, or ``internal``) on one channel, its secret already read.

    ``webhook_url`` is None when the variable naming it was unset or unreadable; ``problem``
    then says so, naming the configuration key, and delivering to the target fails with it.
    """

    recipient: str
    channel: Channel
    addresses: tuple[str, ...] = ()
    webhook_url: str | None = field(default=None, repr=False)
    problem: str | None = None

    @property
    def run_key(self) -> str:
        """The ``recipient`` of the report run recorded in the store: ``acme:email``."""
        return f"{self.recipient}:{self.channel}"

    @property
    def client(self) -> str | None:
        """The client whose report this target receives; None for the MSP-wide report."""
        return None if self.recipient == INTERNAL else self.recipient


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """The mail server and sender, with the credentials already read (``password`` hidden).

    ``problem`` says why a credential could not be read; every email then fails with it.
    """

    host: str
    sender: str
    port: int = 587
    starttls: bool = True
    ssl: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    problem: str | None = None


Deliver = Callable[[Rendered, Target], Awaitable[str]]
"""Sends one rendered report to one target; returns a short detail, raises on failure."""


def build_email(rendered: Rendered, sender: str, addresses: tuple[str, ...]) -> EmailMessage:
    """A multipart/alternative message: the plain text first, the HTML preferred."""
    message = EmailMessage()
    message["Subject"] = header_text(rendered.subject)
    message["From"] = sender
    message["To"] = ", ".join(addresses)
    message["Date"] = formatdate(usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid("sla-report", domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` with each secret, and the path and query of a secret URL, as ``[redacted]``.

    For text a remote party wrote (an HTTP answer's body, an SMTP reply), which may echo
    what it was sent.
    """
    for secret in secrets:
        if not secret:
            continue
        parts = [secret]
        if "://" in secret:
            split = urlsplit(secret)
            parts += [p for p in (split.path, split.query) if len(p) > 1]
        for part in parts:
            text = text.replace(part, "[redacted]")
    return text


def _smtp_error(exc: Exception, password: str | None) -> DeliveryError:
    """Classify an SMTP failure: a 4xx reply or a lost connection may pass, a 5xx will not."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [error.code for error in exc.recipients]
        transient = bool(codes) and all(400 <= code < 500 for code in codes)
        return DeliveryError(f"SMTP server refused every recipient ({codes})", retriable=transient)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        transient = 400 <= exc.code < 500
        reply = scrub(exc.message, password)
        return DeliveryError(f"SMTP server answered {exc.code} {reply}", retriable=transient)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return DeliveryError(f"SMTP server does not support it: {exc}", retriable=False)
    detail = scrub(str(exc), password)
    return DeliveryError(f"SMTP connection failed: {type(exc).__name__}: {detail}", retriable=True)


def _http_error(channel: str, url: str, response: httpx.Response) -> DeliveryError:
    status = response.status_code
    retry_after: float | None = None
    header = response.headers.get("retry-after")
    if header and header.isdigit():
        retry_after = float(header)
    body = scrub(response.text[:200].replace("\n", " "), url)
    return DeliveryError(
        f"{channel} webhook answered HTTP {status}: {body}",
        retriable=status == 429 or status >= 500,
        retry_after=retry_after,
    )


def _retriable(exc: BaseException) -> bool:
    return isinstance(exc, DeliveryError) and exc.retriable


class Deliverer:
    """The production ``Deliver``: SMTP for email, an HTTP POST for Slack and Teams.

    ``smtp`` is None when no mail server is configured (email targets then fail with a
    message saying so). ``sleep`` is injected so tests can run the backoff in virtual time;
    ``tls_context`` lets a test trust a self-signed SMTP server (production uses the
    system's CAs).
    """

    def __init__(
        self,
        smtp: SmtpServer | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        sleep: Sleep = asyncio.sleep,
        attempts: int = 5,
        backoff: timedelta = timedelta(seconds=30),
        max_backoff: timedelta = timedelta(minutes=10),
        tls_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.smtp = smtp
        self._http = http
        self._sleep = sleep
        self._attempts = attempts
        self._backoff = backoff.total_seconds()
        self._max_backoff = max_backoff.total_seconds()
        self._tls_context = tls_context
        self._timeout = timeout

    async def __call__(self, rendered: Rendered, target: Target) -> str:
        """Deliver a report with retries; returns a detail line, raises ``DeliveryError``."""
        if target.channel == "email":
            smtp = self.smtp
            if smtp is None:
                raise DeliveryError(
                    f"reports.recipients.{target.recipient}.email: notify.smtp is not configured",
                    retriable=False,
                )
            if smtp.problem is not None:
                raise DeliveryError(smtp.problem, retriable=False)
            message = build_email(rendered, smtp.sender, target.addresses)
            await self._retrying(target.run_key, lambda: self._send_mail(smtp, message))
            return f"emailed {len(target.addresses)} address(es)"
        if target.webhook_url is None:
            raise DeliveryError(
                target.problem or f"{target.run_key}: no webhook URL", retriable=False
            )
        payload = rendered.slack if target.channel == "slack" else rendered.teams
        await self.post(target.channel, target.webhook_url, payload, what=target.run_key)
        return f"posted to the {target.channel} webhook"

    async def post(self, channel: str, url: str, payload: Mapping[str, Any], *, what: str) -> None:
        """POST ``payload`` as JSON to a webhook with retries; ``what`` names it in logs."""
        await self._retrying(what, lambda: self._post(channel, url, payload))

    def _wait(self, state: RetryCallState) -> float:
        exponential = self._backoff * 2.0 ** (state.attempt_number - 1)
        wait = min(exponential, self._max_backoff)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, DeliveryError) and exc.retry_after is not None:
            wait = max(wait, min(exc.retry_after, self._max_backoff))
        return wait

    async def _retrying(self, what: str, attempt: Callable[[], Awaitable[None]]) -> None:
        def warn(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "delivery to %s failed (attempt %d of %d), retrying: %s",
                what,
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

    async def _send_mail(self, smtp: SmtpServer, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.username,
                password=smtp.password,
                use_tls=smtp.ssl,
                start_tls=smtp.starttls,
                tls_context=self._tls_context,
                timeout=self._timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise _smtp_error(exc, smtp.password) from None

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
        except httpx.InvalidURL:
            raise DeliveryError(
                f"{channel} webhook URL is not a valid URL", retriable=False
            ) from None
        if not response.is_success:
            raise _http_error(channel, url, response)
