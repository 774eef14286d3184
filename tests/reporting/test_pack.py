"""The evidence pack rendered for real: WeasyPrint draws the PDF, poppler reads it back.

The figures looked for in the PDF's text are computed here from the seeded dataset by plain
arithmetic (tests/reporting/dataset.py), not by the core; the credit of the hand-set
contract is worked by hand from those figures.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sla_connector.cli import main
from sla_connector.reporting.pack import PDF_APPENDIX_ROWS, Branding, build_pack
from sla_connector.reporting.pdf import PdfUnavailable, missing_package, render_pdf
from sla_connector.reporting.periods import period_containing
from sla_connector.reporting.render import render_pack_html, render_pack_pdf
from sla_connector.store import Store
from tests.reporting.conftest import make_config, seed_store, tickets_at
from tests.reporting.dataset import POLICY, TARGETS, Spec, expected, outcome, rate

NEW_YORK = "America/New_York"
# October 2026 in New York, the contract's zone; the pack is made on 2 November.
PACK_NOW = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
CONTRACT = {
    "currency": "USD",
    "timezone": NEW_YORK,
    "fee": 10000,
    "cap": "15%",
    "objectives": [
        {"clock": "resolution", "target": "95%", "min_volume": 5, "credit": {"per_point": "1%"}},
        {"tier": "P1", "clock": "response", "target": "99%", "min_volume": 5,
         "credit": {"fixed": "5%"}},
    ],
}  # fmt: skip
LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">'
    '<rect width="120" height="40" fill="#0f766e"/></svg>'
)


def pack_config(tmp_path: Path, **reports: Any) -> Any:
    logo = tmp_path / "logo.svg"
    logo.write_text(LOGO)
    clients = {**POLICY["clients"]}
    clients["acme"] = {**clients["acme"], "contract": CONTRACT}
    return make_config(
        tmp_path,
        clients=clients,
        reports={
            "timezone": "Europe/London",
            "branding": {"msp_name": "Northwind IT", "logo": str(logo),
                         "primary_colour": "#0f766e"},
            **reports,
        },
    )  # fmt: skip


def poppler(*argv: str) -> str:
    if shutil.which(argv[0]) is None:
        pytest.fail(f"{argv[0]} (poppler-utils) is not installed; .ci/run installs it")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=True)
    return done.stdout


def uncapped_credit(counts: Counter[tuple[str, str, str]]) -> Decimal:
    """The same credit before the monthly cap."""
    return expected_credit(counts, cap=Decimal(1))[1]


def expected_credit(
    counts: Counter[tuple[str, str, str]], cap: Decimal = Decimal("0.15")
) -> tuple[str, Decimal]:
    """The resolution objective by hand: 1% of 10,000 USD per point below 95%, cap 15%."""
    met = sum(counts[(t, "resolution", "met")] for t in TARGETS)
    decided = met + sum(counts[(t, "resolution", "breached")] for t in TARGETS)
    actual = Decimal(met) / Decimal(decided)
    points = max(Decimal(0), (Decimal("0.95") - actual) * 100)
    share = points * Decimal("0.01")
    p1_met = counts[("P1", "response", "met")]
    p1_decided = p1_met + counts[("P1", "response", "breached")]
    if p1_decided >= 5 and Decimal(p1_met) < Decimal("0.99") * p1_decided:
        share += Decimal("0.05")
    total = min(share, cap) * 10000
    return f"{actual * 100:.2f}".rstrip("0").rstrip("."), total.quantize(Decimal("0.01"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, dataset: list[Spec]) -> Any:
    tmp_path = tmp_path_factory.mktemp("pack")
    config = pack_config(tmp_path)
    store = Store.open(config.store.url)
    try:
        seed_store(store, config.policy, tickets_at(dataset, PACK_NOW), PACK_NOW)
        store.append_evidence("test", {"n": 1}, at=1)
        head = store.append_evidence("test", {"n": 2}, at=2)
        period = period_containing("monthly", datetime(2026, 10, 1, tzinfo=ZoneInfo(NEW_YORK)))
        branding = Branding("Northwind IT", config.reports.branding.logo)
        pack = build_pack(store, config.policy, period, PACK_NOW, client="acme",
                          timezone=NEW_YORK, branding=branding)  # fmt: skip
    finally:
        store.close()
    pdf = tmp_path / "acme-monthly-2026-10.pdf"
    pdf.write_bytes(render_pack_pdf(pack))
    return pack, pdf, head, period


def test_the_pack_pdf_carries_the_client_the_hand_computed_figures_and_the_evidence_hash(
    built: Any, dataset: list[Spec]
) -> None:
    _, pdf, head, period = built
    text = poppler("pdftotext", "-layout", str(pdf), "-")
    flat = " ".join(text.split())
    assert "ACME Corporation" in flat and "Northwind IT" in flat
    assert head in text.replace("\n", "").replace(" ", "")
    counts = expected(dataset, period.start, period.end, PACK_NOW, "acme")
    for kind in ("response", "resolution", "ticket"):
        for tier in TARGETS:
            met = counts[(tier, kind, "met")]
            breached = counts[(tier, kind, "breached")]
            figure = rate(counts, kind, tier)
            assert f"{met} {breached} {figure}" in flat, (tier, kind, figure)
    assert f"All clocks met: {rate(counts, 'ticket')} of the" in flat
    actual, credit = expected_credit(counts)
    assert f"{actual}%" in flat
    assert f"{credit:,.2f} USD" in flat
    # Order of the sections, as the issue lists them.
    titles = ["Executive summary", "Objectives and actuals", "Trend over the last 12",
              "Breach register", "Holds", "Credit statement", "Methodology", "Evidence",
              "Appendix: every clock decided"]  # fmt: skip
    at = flat.index("Service level evidence pack")  # the cover comes first
    for title in titles:
        at = flat.index(title, at + 1)  # raises when a section is missing or out of order
    assert "America/New_York" in flat and "verify-log" in flat
    assert "n/a" not in flat and "no target" not in flat


def test_every_page_renders_and_the_page_count_is_within_bounds(built: Any, tmp_path: Path) -> None:
    pack, pdf, _, _ = built
    info = poppler("pdfinfo", str(pdf))
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    # Cover + 8 sections (one page or more each) + the appendix, ~45 clocks a page.
    # The PDF lists at most PDF_REGISTER_ROWS breaches and PDF_APPENDIX_ROWS clocks.
    listed = min(len(pack.clocks), PDF_APPENDIX_ROWS) // 40 + min(len(pack.register), 150) // 12
    assert 9 <= pages <= 9 + listed + 4
    poppler("pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page"))
    images = sorted(tmp_path.glob("page*.png"))
    assert len(images) == pages
    assert all(image.stat().st_size > 500 for image in images)


def test_the_appendix_lists_every_clock_decided_in_the_period(
    built: Any, dataset: list[Spec]
) -> None:
    pack, _, _, period = built
    wanted = set()
    for spec in dataset:
        if spec.client != "acme":
            continue
        for kind in ("response", "resolution"):
            found = outcome(spec, kind, PACK_NOW)
            if found is not None and period.start <= found[1] < period.end:
                wanted.add((spec.id, kind, found[0]))
    assert {(c.ticket_id, c.clock, c.outcome) for c in pack.clocks} == wanted
    # Twelve months of trend, the pack's month last; the dataset starts in late September.
    assert [p.label for p in pack.trend][-2:] == ["Sep 2026", "Oct 2026"]
    assert pack.trend[-1].ticket.met + pack.trend[-1].ticket.breached > 0
    assert all(p.ticket.rate is None for p in pack.trend[:-2])


def test_the_report_json_carries_the_credit_statement_as_exact_decimals(
    built: Any, dataset: list[Spec]
) -> None:
    import orjson  # noqa: PLC0415

    from sla_connector.reporting.render import render_json  # noqa: PLC0415

    pack, _, _, period = built
    data = orjson.loads(render_json(pack.report))
    (statement,) = data["credits"]
    assert statement["month"] == "2026-10" and statement["currency"] == "USD"
    _, credit = expected_credit(expected(dataset, period.start, period.end, PACK_NOW, "acme"))
    assert statement["total"] == str(credit)
    assert statement["lines"][0]["formula"].startswith("missed: ")


def test_the_html_pack_has_the_svg_chart_and_no_script(built: Any) -> None:
    pack = built[0]
    html = render_pack_html(pack)
    assert "<svg" in html and "<script" not in html.lower()
    assert html.count("<polyline") >= 1 and "data:image/svg+xml;base64," in html


def test_report_command_writes_the_pdf_pack_and_its_appendix_csv(
    tmp_path: Path, dataset: list[Spec], capsys: pytest.CaptureFixture[str]
) -> None:
    config = pack_config(tmp_path)
    store = Store.open(config.store.url)
    try:
        seed_store(store, config.policy, tickets_at(dataset, PACK_NOW), PACK_NOW)
    finally:
        store.close()
    path = tmp_path / "config.yaml"
    import yaml  # noqa: PLC0415

    data = {**POLICY, "store": {"url": config.store.url},
            "clients": {**POLICY["clients"],
                        "acme": {**POLICY["clients"]["acme"], "contract": CONTRACT}},
            "reports": {"branding": {"logo": config.reports.branding.logo}}}  # fmt: skip
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "packs"
    code = main(["report", "-c", str(path), "--client", "acme", "--period", "monthly",
                 "--month", "2026-10", "--format", "pdf", "--out", str(out),
                 "--now", PACK_NOW.isoformat()])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == [
        "acme-monthly-2026-10-clocks.csv",
        "acme-monthly-2026-10.pdf",
        "sla-acme-monthly-2026-10.csv",  # the whole breach register
    ]
    assert (out / "acme-monthly-2026-10.pdf").read_bytes().startswith(b"%PDF-")


def test_a_missing_logo_is_one_line_naming_the_key_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml  # noqa: PLC0415

    from sla_connector.runtime import redaction  # noqa: PLC0415

    # Secrets other tests of this process remembered (an SMTP user "reports") stay out.
    monkeypatch.setattr(redaction, "_secrets", set())

    path = tmp_path / "config.yaml"
    data = {**POLICY, "reports": {"branding": {"logo": str(tmp_path / "nope.png")}}}
    path.write_text(yaml.safe_dump(data))
    code = main(["report", "-c", str(path), "--client", "acme", "--period", "monthly",
                 "--format", "pdf"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "reports.branding.logo" in err and "nope.png" in err
    # The daemon does not start half-configured either: `run` stops at the same line.
    assert main(["run", "-c", str(path)]) == 2
    assert capsys.readouterr().err.strip() == err


def test_a_missing_system_library_names_the_debian_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = "cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared object file"
    assert missing_package(message) == "libpango-1.0-0"
    assert missing_package("cannot load library 'libpangoft2-1.0-0'") == "libpangoft2-1.0-0"
    import builtins  # noqa: PLC0415

    real = builtins.__import__

    def no_pango(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "weasyprint":
            raise OSError(message)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pango)
    with pytest.raises(PdfUnavailable) as caught:
        render_pdf("<p>x</p>")
    assert "\n" not in str(caught.value) and "apt-get install libpango-1.0-0" in str(caught.value)


def test_weekly_report_shows_month_to_date_exposure_and_monthly_the_statement_before_and_after_cap(
    tmp_path: Path, dataset: list[Spec]
) -> None:
    from sla_connector.reporting import build_report, render_all  # noqa: PLC0415
    from sla_connector.reporting.periods import weekly_period  # noqa: PLC0415

    config = pack_config(tmp_path)
    weekly_now = datetime(2026, 10, 19, 12, 0, tzinfo=UTC)
    store = Store.open(config.store.url)
    try:
        seed_store(store, config.policy, tickets_at(dataset, weekly_now), weekly_now)
        weekly = build_report(store, config.policy, weekly_period(weekly_now, NEW_YORK),
                              weekly_now, client="acme", timezone=NEW_YORK)  # fmt: skip
    finally:
        store.close()
    month_start = datetime(2026, 10, 1, tzinfo=ZoneInfo(NEW_YORK))
    _, so_far = expected_credit(expected(dataset, month_start, weekly_now, weekly_now, "acme"))
    (statement,) = weekly.credits
    assert not statement.complete and statement.total == so_far
    text = render_all(weekly).text
    assert "SERVICE CREDITS SO FAR, OCTOBER 2026" in text
    assert f"Exposure so far this month: {so_far:,.2f} USD" in text

    store = Store.open(config.store.url)
    try:
        seed_store(store, config.policy, tickets_at(dataset, PACK_NOW), PACK_NOW)
        monthly = build_report(store, config.policy,
                               period_containing("monthly", month_start), PACK_NOW,
                               client="acme", timezone=NEW_YORK)  # fmt: skip
    finally:
        store.close()
    counts = expected(dataset, month_start, datetime(2026, 11, 1, tzinfo=ZoneInfo(NEW_YORK)),
                      PACK_NOW, "acme")  # fmt: skip
    actual, credit = expected_credit(counts)
    html = render_all(monthly).html
    assert "Credit statement, October 2026" in html
    assert f"missed: {actual}% against a target of 95%;" in html  # the formula applied
    assert "points below target x 1% per point" in html
    assert f"Total credit due: {credit:,.2f} USD" in html
    before = uncapped_credit(counts)
    if before > credit:
        assert f"{before:,.2f} USD before the cap; capped at 15% of the fee" in html
    else:
        assert f"{before:,.2f} USD, within the cap of 15% of the fee" in html


def test_a_quarterly_pack_covers_the_calendar_quarter_with_each_months_statement(
    tmp_path: Path, dataset: list[Spec], capsys: pytest.CaptureFixture[str]
) -> None:
    config = pack_config(tmp_path)
    now = datetime(2027, 1, 4, 13, 0, tzinfo=UTC)  # the first Monday after Q4 2026
    store = Store.open(config.store.url)
    try:
        seed_store(store, config.policy, tickets_at(dataset, now), now)
        quarter = period_containing("quarterly", datetime(2026, 10, 1, tzinfo=ZoneInfo(NEW_YORK)))
        pack = build_pack(store, config.policy, quarter, now, client="acme", timezone=NEW_YORK)
    finally:
        store.close()
    assert pack.filename == "acme-quarterly-2026-Q4.pdf"
    assert (quarter.label, quarter.previous().label) == ("Q4 2026", "Q3 2026")
    assert [s.month for s in pack.statements] == ["2026-10", "2026-11", "2026-12"]
    assert all(s.complete for s in pack.statements)
    counts = expected(dataset, quarter.start, quarter.end, now, "acme")
    assert pack.report.total.ticket.met == sum(counts[(t, "ticket", "met")] for t in TARGETS)
    html = render_pack_html(pack)
    assert "Trend over the last 12 quarters" in html and "Q4 2026" in html
    assert "Credit statement, October 2026" in html and "Credit statement, December 2026" in html
