"""Email delivery against a real SMTP server (aiosmtpd on 127.0.0.1).

The figures in the message are checked against outcomes computed by hand from the seeded
dataset (tests/reporting/dataset.py), not against the core.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
import ssl
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from sla_connector.reporting import (
    DeliveryError,
    Rendered,
    Target,
    build_report,
    render_all,
    run_due_reports,
    weekly_period,
)
from sla_connector.reporting.delivery import build_email
from sla_connector.runtime.report_jobs import deliverer_for, report_schedule
from sla_connector.store import Store
from tests.loopback import Sink, smtp_server
from tests.reporting.conftest import (
    NOW,
    WEEK_END,
    WEEK_START,
    make_config,
    seed_store,
    tickets_at,
)
from tests.reporting.dataset import Spec, expected, rate

SENDER = "SLA Reports <sla@msp.example>"
ACME = ["it-lead@acme.example", "cfo@acme.example"]


def smtp_config(tmp_path: Path, port: int, **smtp: Any) -> Any:
    return make_config(
        tmp_path,
        reports={"timezone": "Europe/London", "recipients": {"acme": {"email": ACME}}},
        notify={"smtp": {"host": "127.0.0.1", "port": port, "starttls": False, "sender": SENDER,
                         **smtp}},
    )  # fmt: skip


def parse(envelope: Any) -> EmailMessage:
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.mark.anyio
async def test_scheduled_report_email_arrives_with_recipients_subject_parts_and_figures(
    tmp_path: Path, dataset: list[Spec]
) -> None:
    sink = Sink()
    with smtp_server(sink) as port:
        config = smtp_config(tmp_path, port)
        store = Store.open(config.store.url)
        try:
            seed_store(store, config.policy, tickets_at(dataset, NOW), NOW)
            outcomes = await run_due_reports(
                store, config.policy, report_schedule(config.reports), NOW,
                deliverer_for(config.notify),
                not_before=NOW,
            )  # fmt: skip
            runs = store.report_runs("weekly")
        finally:
            store.close()
    assert [(o.kind, o.recipient, o.state) for o in outcomes] == [("weekly", "acme:email", "sent")]
    assert [(r.recipient, r.state) for r in runs] == [("acme:email", "sent")]
    assert len(sink.envelopes) == 1
    envelope = sink.envelopes[0]
    assert envelope.mail_from == "sla@msp.example"
    assert sorted(envelope.rcpt_tos) == sorted(ACME)
    message = parse(envelope)
    counts = expected(dataset, WEEK_START, WEEK_END, NOW, "acme")
    assert message["Subject"] == (
        f"SLA weekly report: ACME Corporation, Week 12 Oct - 18 Oct 2026 - "
        f"{rate(counts, 'ticket')} of tickets within SLA"
    )
    assert message["From"] == SENDER and message["To"] == ", ".join(ACME)
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    for label, kind in (("Response", "response"), ("Resolution", "resolution"),
                        ("Both clocks met", "ticket")):  # fmt: skip
        met = counts[("P1", kind, "met")] + counts[("P2", kind, "met")]
        breached = counts[("P1", kind, "breached")] + counts[("P2", kind, "breached")]
        figure = rate(counts, kind)
        assert re.search(rf"{label}\s+{re.escape(figure)}\s+below target; {met} met / "
                         rf"{breached} breached", text), (label, figure)  # fmt: skip
        assert f"{figure}</strong>" in html and f"{met} met / {breached} breached" in html
    for tier, name in (("P1", "Critical"), ("P2", "High")):
        block = rf"{tier} {name}\n\s+response\s+{re.escape(rate(counts, 'response', tier))}"
        assert re.search(block, text), tier
    assert "contract target 95.0%" in text


@pytest.mark.anyio
async def test_starttls_with_authentication_from_environment_variables(
    tmp_path: Path, dataset: list[Spec], server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    sink = Sink()
    options = {"tls_context": server_tls, "require_starttls": True,
               "authenticator": sink.authenticate, "auth_require_tls": True}  # fmt: skip
    with smtp_server(sink, **options) as port:
        config = smtp_config(tmp_path, port, starttls=True, username_env="SMTP_USER",
                             password_env="SMTP_PASSWORD")  # fmt: skip
        rendered = empty_report(config)
        deliverer = deliverer_for(
            config.notify,
            tls_context=client_tls,
            environ={"SMTP_USER": "reports", "SMTP_PASSWORD": "s3cret"},
        )
        await deliverer(rendered, Target("acme", "email", addresses=tuple(ACME)))
    assert sink.logins == [(b"reports", b"s3cret")]
    assert sink.tls == [True] and len(sink.envelopes) == 1


@pytest.mark.anyio
async def test_implicit_tls_delivers_over_an_encrypted_connection(
    tmp_path: Path, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    sink = Sink()
    with smtp_server(sink, ssl_context=server_tls) as port:
        config = smtp_config(tmp_path, port, ssl=True)
        rendered = empty_report(config)
        deliverer = deliverer_for(config.notify, tls_context=client_tls)
        await deliverer(rendered, Target("acme", "email", addresses=tuple(ACME)))
    assert sink.tls == [True] and len(sink.envelopes) == 1


@pytest.mark.anyio
async def test_a_temporary_smtp_refusal_is_retried_with_backoff_then_delivered_once(
    tmp_path: Path,
) -> None:
    sink = Sink(replies=["451 4.3.0 try again later", "421 4.7.0 busy"])
    sleeps = Sleeps()
    with smtp_server(sink) as port:
        config = smtp_config(tmp_path, port)
        rendered = empty_report(config)
        deliverer = deliverer_for(config.notify, sleep=sleeps, backoff=timedelta(seconds=10))
        await deliverer(rendered, Target("acme", "email", addresses=tuple(ACME)))
    assert len(sink.envelopes) == 1
    assert sleeps == [10.0, 20.0]


@pytest.mark.anyio
async def test_a_permanent_smtp_refusal_fails_at_once(tmp_path: Path) -> None:
    sink = Sink(replies=["554 5.7.1 rejected"])
    sleeps = Sleeps()
    with smtp_server(sink) as port:
        config = smtp_config(tmp_path, port)
        rendered = empty_report(config)
        deliverer = deliverer_for(config.notify, sleep=sleeps)
        with pytest.raises(DeliveryError, match="554") as caught:
            await deliverer(rendered, Target("acme", "email", addresses=tuple(ACME)))
    assert not caught.value.retriable and sleeps == [] and sink.envelopes == []


@pytest.mark.anyio
async def test_email_without_smtp_configuration_is_a_clear_permanent_failure(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path)
    rendered = empty_report(config)
    with pytest.raises(DeliveryError, match=r"notify\.smtp is not configured"):
        await deliverer_for(config.notify)(rendered, Target("acme", "email", ("a@b.c",)))


def empty_report(config: Any) -> Rendered:
    """A rendered report of an empty store: for tests about the transport, not the figures."""
    with Store.open(config.store.url) as store:
        report = build_report(store, config.policy, weekly_period(NOW, "Europe/London"), NOW)
    return render_all(report)


def test_finding_6_an_email_subject_cannot_add_headers(tmp_path: Path) -> None:
    hostile = dataclasses.replace(
        empty_report(make_config(tmp_path)),
        subject="SLA report: Acme\r\nBcc: attacker@evil.example\n\rX-Evil: 1",
    )
    message = build_email(hostile, "sla@msp.example", ("ops@msp.example",))
    raw = message.as_bytes()
    assert b"\nBcc:" not in raw and b"\nX-Evil:" not in raw
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message["Subject"] == "SLA report: Acme Bcc: attacker@evil.example X-Evil: 1"
