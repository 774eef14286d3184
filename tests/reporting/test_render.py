"""Renderings: an HTML email mail clients can show, plain text, JSON and CSV exports."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest

from sla_connector.core.readmodel import EscalationLine
from sla_connector.reporting import (
    Rendered,
    build_report,
    render_all,
    render_csv,
    render_json,
    weekly_period,
)
from sla_connector.reporting.model import Report
from sla_connector.reporting.render import BREACH_CSV_COLUMNS, bar_widths
from sla_connector.store import Store
from tests.reporting.conftest import NOW, make_config, seed_store, tickets_at
from tests.reporting.dataset import Spec

GMAIL_CLIP_BYTES = 102_000


def _report(tmp_path: Path, dataset: list[Spec], client: str | None) -> Report:
    config = make_config(tmp_path)
    with Store.open(config.store.url) as store:
        seed_store(store, config.policy, tickets_at(dataset, NOW), NOW)
        return build_report(store, config.policy, weekly_period(NOW, "Europe/London"), NOW,
                            client=client, timezone="Europe/London")  # fmt: skip


@pytest.fixture
def msp(tmp_path: Path, dataset: list[Spec]) -> Rendered:
    return render_all(_report(tmp_path, dataset, None))


@pytest.fixture
def acme(tmp_path: Path, dataset: list[Spec]) -> Rendered:
    return render_all(_report(tmp_path, dataset, "acme"))


def test_html_email_has_no_scripts_images_stylesheets_or_external_resources(
    msp: Rendered, acme: Rendered
) -> None:
    for html in (msp.html, acme.html):
        lowered = html.lower()
        for banned in ("<script", "<img", "<link", "<style", "<svg", "<iframe", "javascript:",
                       "http://", "https://", "class="):  # fmt: skip
            assert banned not in lowered, banned
        assert lowered.startswith("<!doctype html>") and '<html lang="en">' in lowered
        assert 'role="presentation"' in html  # layout tables are not read as data
        assert '<th scope="col"' in html  # data tables have header cells


def test_bars_are_table_cells_sized_by_the_rate(acme: Rendered) -> None:
    cell = acme.report.total.response
    filled, empty = bar_widths(cell.rate)
    assert filled + empty == 120 and filled == round((cell.rate or 0) * 120)
    assert f'<td width="{filled}" height="8" bgcolor="#b91c1c"' in acme.html  # below target
    assert f'<td width="{empty}" height="8" bgcolor="#e5e7eb"' in acme.html
    assert bar_widths(None) == (0, 120) and bar_widths(1.0) == (120, 0)


def test_colour_is_never_the_only_signal(acme: Rendered) -> None:
    # every coloured figure carries the words
    assert acme.html.count("below target</span>") >= 3
    assert "below target" in acme.text


def test_user_text_is_escaped_in_html(acme: Rendered) -> None:
    assert "&lt;P1&gt; &amp; co" in acme.html or "&lt;P2&gt; &amp; co" in acme.html
    assert "<P1>" not in acme.html and "<P2>" not in acme.html


def test_plain_text_alternative_has_every_section_and_no_markup(acme: Rendered) -> None:
    for heading in ("ADHERENCE", "BY TIER", "BREACHES", "ESCALATIONS FIRED", "AT RISK NOW"):
        assert heading in acme.text
    assert not re.search(r"<(table|td|div|span|strong)\b", acme.text)
    assert acme.report.evidence.statement in acme.text
    assert "Times in Europe/London" in acme.text


def test_msp_report_lists_clients_worst_first(msp: Rendered) -> None:
    rates = [c.ticket.rate for c in msp.report.clients_by_concern]
    assert rates == sorted(rates, key=lambda r: (r is None, r or 0))
    first, second = msp.report.clients_by_concern
    assert msp.text.index(f"  {first.name} (target") < msp.text.index(f"  {second.name} (target")
    assert "By client, furthest below target first" in msp.html


def test_json_export_is_the_model_with_utc_times_and_the_evidence_statement(
    acme: Rendered,
) -> None:
    data = orjson.loads(render_json(acme.report))
    assert data["scope"] == "acme" and data["kind"] == "weekly"
    assert data["period"]["start"] == "2026-10-11T23:00:00Z"
    assert data["total"]["ticket"]["met"] == acme.report.total.ticket.met
    assert data["evidence"]["statement"] == acme.report.evidence.statement
    breach = data["breaches"][0]
    assert breach["breached_at"].endswith("Z") and isinstance(breach["escalations"], list)


def test_csv_export_has_one_row_per_breach_and_defuses_formulas(acme: Rendered) -> None:
    first = acme.report.breaches[0]
    evil = dataclasses.replace(first, subject='=HYPERLINK("http://x","y")', ticket_id="-1")
    report = dataclasses.replace(acme.report, breaches=(evil, *acme.report.breaches[1:]))
    rows = list(csv.reader(io.StringIO(render_csv(report))))
    assert tuple(rows[0]) == BREACH_CSV_COLUMNS
    assert len(rows) - 1 == len(report.breaches)
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["subject"].startswith("'=") and record["ticket_id"] == "'-1"
    assert record["breached_at"].endswith("Z") and record["clock"] in ("response", "resolution")


def _worst_case(report: Report) -> Report:
    """Hundreds of clients, breaches with escalations, escalations and at-risk tickets."""
    step = EscalationLine(
        key="k", source="sim", ticket_id="1", client="acme", tier="P1", step="account-director",
        cycle=1, recipient="dana@msp.example", due_at=NOW, state="done", fired_at=NOW,
        lateness_seconds=4000.0, late=True, detail="",
    )  # fmt: skip
    breach = dataclasses.replace(report.breaches[0], subject="s" * 300, escalations=(step, step))
    clients = tuple(
        dataclasses.replace(report.clients[0], client=f"c{n}", name=f"Client number {n}")
        for n in range(300)
    )
    return dataclasses.replace(
        report,
        clients=clients,
        breaches=(breach,) * 3000,
        escalations=(step,) * 500,
        at_risk=report.at_risk[:1] * 500 if report.at_risk else (),
    )


def test_a_very_large_msp_email_stays_under_gmails_clipping_size(msp: Rendered) -> None:
    rendered = render_all(_worst_case(msp.report))
    assert len(rendered.html.encode()) < GMAIL_CLIP_BYTES
    assert "more, in the attached CSV (" in rendered.html
    assert "more clients in the JSON export" in rendered.html


def test_lateness_reads_on_time_under_a_minute_and_late_beyond(acme: Rendered) -> None:
    step = EscalationLine(
        key="k", source="sim", ticket_id="1", client="acme", tier="P1", step="s", cycle=1,
        recipient="r", due_at=NOW, state="done", fired_at=NOW + timedelta(seconds=5),
        lateness_seconds=5.0, late=False, detail="",
    )  # fmt: skip
    late = dataclasses.replace(step, lateness_seconds=3900.0, late=True)
    text = render_all(dataclasses.replace(acme.report, escalations=(step, late))).text
    assert "done, on time" in text and "done, late by 1h 05m" in text


class _Nesting(HTMLParser):
    """Checks that table markup is well nested: a broken tag breaks Outlook's layout."""

    VOID = frozenset({"br", "meta", "hr", "img", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("tr",) and (not self.stack or self.stack[-1] != "table"):
            self.errors.append(f"<tr> inside <{self.stack[-1] if self.stack else ''}>")
        if tag in ("td", "th") and (not self.stack or self.stack[-1] != "tr"):
            self.errors.append(f"<{tag}> outside <tr>")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else ''}>")
        else:
            self.stack.pop()


@pytest.mark.parametrize("which", ["msp", "acme"])
def test_html_markup_is_well_nested(which: str, request: pytest.FixtureRequest) -> None:
    rendered: Rendered = request.getfixturevalue(which)
    for html in (rendered.html, render_all(_worst_case(rendered.report)).html):
        checker = _Nesting()
        checker.feed(html)
        checker.close()
        assert checker.errors == [] and checker.stack == []
