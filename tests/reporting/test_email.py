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
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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
LONDON = ZoneInfo("Europe/London")
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
        f"All clocks met {rate(counts, 'ticket')}"
    )
    assert message["From"] == SENDER and message["To"] == ", ".join(ACME)
    # More breaches than the body lists: the CSV it points to rides along.
    assert message.get_content_type() == "multipart/mixed"
    body, *attached = list(message.iter_parts())
    assert body.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in body.iter_parts()] == ["text/plain", "text/html"]
    assert [(a.get_content_type(), a.get_filename()) for a in attached] == [
        ("text/csv", "sla-acme-weekly-2026-W42.csv")
    ]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "more, in the attached CSV (sla-acme-weekly-2026-W42.csv)" in text
    assert "dana@msp.example" not in text + html and "sam@msp.example" not in text + html
    for label, kind in (("Response", "response"), ("Resolution", "resolution"),
                        ("All clocks met", "ticket")):  # fmt: skip
        met = counts[("P1", kind, "met")] + counts[("P2", kind, "met")]
        breached = counts[("P1", kind, "breached")] + counts[("P2", kind, "breached")]
        figure = rate(counts, kind)
        assert re.search(rf"{label}\s+{re.escape(figure)}\s+below target; {met} met / "
                         rf"{breached} breached", text), (label, figure)  # fmt: skip
        assert f"{figure}</strong>" in html and f"{met} met / {breached} breached" in html
    for tier, name in (("P1", "Critical"), ("P2", "High")):
        block = rf"{tier} {name}\r?\n\s+response\s+{re.escape(rate(counts, 'response', tier))}"
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


def _late_replies(count: int) -> list[Any]:
    """``count`` P2 tickets of October 2026, each answered an hour late and solved in time:
    exactly one breach each (response), so the month has ``count`` breaches."""
    from sla_connector.core.ticket import parse_ticket  # noqa: PLC0415

    start = datetime(2026, 10, 1, 9, tzinfo=UTC)
    tickets = []
    for n in range(count):
        created = start + timedelta(minutes=80 * n)
        stamp = "%Y-%m-%dT%H:%M:%SZ"
        tickets.append(
            parse_ticket(
                {"id": str(9000 + n), "source": "sim", "client": "acme",
                 "subject": f"Printer {n} offline", "source_priority": "normal",
                 "created_at": created.strftime(stamp),
                 "events": [
                     {"at": (created + timedelta(hours=2)).strftime(stamp),
                      "type": "public_reply", "by": "agent"},
                     {"at": (created + timedelta(hours=3)).strftime(stamp),
                      "type": "status", "to": "solved"},
                 ]}
            )
        )  # fmt: skip
    return tickets


@pytest.mark.anyio
async def test_monthly_email_carries_html_text_and_the_pdf_pack_and_lists_20_of_500_breaches(
    tmp_path: Path,
) -> None:
    sink = Sink()
    archive = tmp_path / "packs"
    now = datetime(2026, 11, 1, 8, 0, tzinfo=LONDON)  # the monthly run (day 1, 08:00)
    with smtp_server(sink) as port:
        config = make_config(
            tmp_path,
            reports={"timezone": "Europe/London", "archive_dir": str(archive),
                     "recipients": {"acme": {"email": ACME}}},
            notify={"smtp": {"host": "127.0.0.1", "port": port, "starttls": False,
                             "sender": SENDER}},
        )  # fmt: skip
        store = Store.open(config.store.url)
        try:
            seed_store(store, config.policy, _late_replies(500), now)
            schedule = report_schedule(config.reports, policy=config.policy)
            deliver = deliverer_for(config.notify)
            outcomes = await run_due_reports(
                store, config.policy, schedule, now, deliver, not_before=now
            )
            again = await run_due_reports(
                store, config.policy, schedule, now, deliver, not_before=now
            )
        finally:
            store.close()
    assert [(o.kind, o.recipient, o.state) for o in outcomes] == [("monthly", "acme:email", "sent")]
    assert again == [] and len(sink.envelopes) == 1  # exactly once
    message = parse(sink.envelopes[0])
    assert message.get_content_type() == "multipart/mixed"
    body, *attached = list(message.iter_parts())
    assert body.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in body.iter_parts()] == ["text/plain", "text/html"]
    files = {a.get_filename(): a for a in attached}
    assert [(a.get_content_type(), a.get_filename()) for a in attached] == [
        ("application/pdf", "acme-monthly-2026-10.pdf"),
        ("text/csv", "acme-monthly-2026-10-clocks.csv"),
        ("text/csv", "sla-acme-monthly-2026-10.csv"),
    ]
    pdf = files["acme-monthly-2026-10.pdf"].get_content()
    assert pdf.startswith(b"%PDF-") and files["acme-monthly-2026-10.pdf"]["Content-Disposition"]
    assert (archive / "acme-monthly-2026-10.pdf").read_bytes() == pdf
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Breaches (500), most severe first" in html and "BREACHES (500" in text
    breaches_html = html[html.index("Breaches (500") : html.index("Escalations fired (")]
    assert breaches_html.count("<strong>sim/") == 20
    assert "... and 480 more, in the attached CSV (sla-acme-monthly-2026-10.csv)." in html
    assert "and 480 more, in the attached CSV (sla-acme-monthly-2026-10.csv)" in text
    rows = files["sla-acme-monthly-2026-10.csv"].get_content()
    rows = rows.decode() if isinstance(rows, bytes) else rows
    assert len(rows.strip().splitlines()) == 1 + 500
    # Nothing else is cut short, so no other CSV is promised or attached.
    assert "more, in the attached CSV" not in html.replace(
        "... and 480 more, in the attached CSV (sla-acme-monthly-2026-10.csv).", ""
    )
