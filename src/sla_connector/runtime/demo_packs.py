"""The demo's per-client files: each client's weekly report and monthly evidence pack.

``run_demo`` calls ``write_client_files`` once at the end. Each demo client gets its weekly
report (``<client>-weekly-<YYYY-Www>.html`` and ``.txt``, in the client's time zone, as the
client would receive it) and its monthly pack ``<client>-monthly-<YYYY-MM>.pdf``: the last
complete month, or, when the store holds no clock decided in it (a demo without seeded
history), the month so far.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sla_connector.core.vocabulary import Vocabulary
from sla_connector.reporting.compute import build_report, client_timezone
from sla_connector.reporting.pack import Pack, build_pack
from sla_connector.reporting.pdf import PdfUnavailable
from sla_connector.reporting.periods import Period, monthly_period, period_containing
from sla_connector.reporting.render import render_html as render_email_html
from sla_connector.reporting.render import render_pack_pdf, render_text
from sla_connector.runtime.report_jobs import branding_of
from sla_connector.settings import AppConfig
from sla_connector.store import Store

__all__ = ["write_client_files"]


def _decided(pack: Pack) -> int:
    total = pack.report.total
    return total.response.decided + total.resolution.decided


def write_client_files(
    store: Store,
    config: AppConfig,
    *,
    now: datetime,
    weekly: Period,
    out: Path,
    vocabulary: Vocabulary,
    say: Callable[[str], None] = print,
) -> dict[str, Path]:
    """Write every client's weekly report and monthly pack into ``out``; returns them."""
    written: dict[str, Path] = {}
    branding = branding_of(config.reports.branding)
    evidence = store.verify_evidence()
    for client in sorted(config.policy.clients):
        zone = client_timezone(config.policy, client, config.reports.timezone)
        week = period_containing("weekly", weekly.start.astimezone(ZoneInfo(zone)))
        report = build_report(
            store, config.policy, week, now, client=client, timezone=zone,
            evidence=evidence, vocabulary=vocabulary,
        )  # fmt: skip
        stem = out / f"{client}-weekly-{week.slug}"
        stem.with_suffix(".html").write_text(render_email_html(report), encoding="utf-8")
        stem.with_suffix(".txt").write_text(render_text(report), encoding="utf-8")
        written[f"{client}-weekly"] = stem.with_suffix(".html")
        pack = None
        for month in (
            monthly_period(now, zone),
            period_containing("monthly", now.astimezone(ZoneInfo(zone))),
        ):
            pack = build_pack(
                store, config.policy, month, now, client=client, timezone=zone,
                branding=branding, evidence=evidence, vocabulary=vocabulary,
            )  # fmt: skip
            if _decided(pack):
                break
        assert pack is not None
        try:
            pdf = render_pack_pdf(pack)
        except PdfUnavailable as exc:
            say(f"demo: no PDF pack for {client}: {exc}")
            continue
        path = out / pack.filename
        path.write_bytes(pdf)
        written[f"{client}-monthly"] = path
    return written
