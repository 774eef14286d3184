"""``sla-connector report``: render a weekly, monthly or quarterly report now, and send it.

The figures come from the store the daemon fills (``store.url``), re-evaluated with the
core as of ``--now``. The period is the last complete week (Monday to Monday), calendar
month or calendar quarter (or the one ``--month`` / ``--quarter`` names), cut in the
client's time zone (its contract's, else its calendar's, else ``reports.timezone``).
Without ``--format`` the files go to the ``--out`` folder: ``.html`` (the email), ``.txt``,
``.json`` (the model) and ``.csv`` (the breaches, plus one per other list the email cuts
short). ``--format pdf|html`` writes the client's evidence pack instead (``--out`` a file
or a folder), with its appendix CSV beside it. ``--send`` delivers to the recipients
configured for the client (or ``internal`` for the MSP-wide report) right away, the pack
attached when one was made; a manual send is not recorded as a scheduled run, so it never
stops the daemon's own delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sla_connector.cli.common import ExitCode, add_command, add_now_argument, parse_now
from sla_connector.core.errors import ConfigError
from sla_connector.reporting import (
    INTERNAL,
    Deliverer,
    Period,
    Rendered,
    Target,
    build_report,
    period_for,
    render_all,
    render_csv,
    render_json,
)
from sla_connector.reporting.compute import client_timezone
from sla_connector.reporting.pack import Pack, appendix_csv, build_pack
from sla_connector.reporting.periods import period_containing
from sla_connector.reporting.render import (
    Attachment,
    csv_attachments,
    csv_name,
    render_pack_html,
    render_pack_pdf,
)
from sla_connector.runtime.report_jobs import branding_of, deliverer_for, report_targets
from sla_connector.runtime.service import evidence_key, store_url, vocabulary_of
from sla_connector.settings import load_config
from sla_connector.store import Store

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    parser = add_command(
        commands,
        "report",
        run,
        summary="render (and send) a weekly, monthly or quarterly report or evidence pack now",
        description=(
            "Render the adherence report of the last complete week, month or quarter from "
            "the store to HTML, text, JSON and CSV files, or (--format pdf|html) a client's "
            "evidence pack; with --send, deliver it too."
        ),
    )
    parser.add_argument("--period", required=True, choices=("weekly", "monthly", "quarterly"))
    parser.add_argument(
        "--client", metavar="KEY", help="one client's report (default: every client, the MSP's)"
    )
    parser.add_argument(
        "--format",
        choices=("pdf", "html"),
        help="the client's evidence pack (monthly or quarterly, needs --client) as PDF or HTML",
    )
    parser.add_argument(
        "--month", metavar="YYYY-MM", help="that calendar month (default: the last complete one)"
    )
    parser.add_argument(
        "--quarter",
        metavar="YYYY-Qn",
        help="that calendar quarter, e.g. 2026-Q3 (default: the last complete one)",
    )
    parser.add_argument(
        "--out",
        metavar="PATH",
        default="reports",
        help="folder for the files (./reports); with --format, a .pdf/.html file or a folder",
    )
    parser.add_argument(
        "--send",
        action="store_true",
        help="deliver to reports.recipients of the client (or internal) by email/Slack/Teams",
    )
    add_now_argument(parser)


def _check_store(url: str) -> None:
    """A report of a store that does not exist would silently be empty: say so instead."""
    prefix = "sqlite:///"
    if url.startswith(prefix):
        path = url[len(prefix) :].split("?", 1)[0]
        if path and path != ":memory:" and not Path(path).exists():
            raise ConfigError(
                "store.url",
                f"{path} does not exist; the daemon (sla-connector run) creates and fills it",
            )


def _folder(out: Path) -> Path:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError("--out", f"cannot create {out}: {exc.strerror or exc}") from None
    return out


def _write(rendered: Rendered, out: Path) -> list[Path]:
    report = rendered.report
    _folder(out)
    stem = f"sla-{report.scope}-{report.kind}-{report.period.slug}"
    files = {
        f"{stem}.html": rendered.html.encode(),
        f"{stem}.txt": rendered.text.encode(),
        f"{stem}.json": render_json(report),
        f"{stem}.csv": render_csv(report).encode(),
    }
    for attachment in csv_attachments(report):
        files.setdefault(attachment.filename, attachment.data)
    written = []
    for name, data in files.items():
        path = out / name
        path.write_bytes(data)
        written.append(path)
    return written


def _write_pack(pack: Pack, fmt: str, out: Path) -> tuple[list[Path], bytes]:
    """The pack as ``fmt`` at ``out`` (a file, or a folder to put the archive's name in),
    its appendix CSV beside it; returns the paths and the PDF (empty for HTML)."""
    if out.suffix.lower() in (".pdf", ".html"):
        if out.suffix.lower() != f".{fmt}":
            raise ConfigError("--out", f"{out} does not end in .{fmt} (the --format given)")
        _folder(out.parent)
        target = out
    else:
        target = _folder(out) / pack.filename.replace(".pdf", f".{fmt}")
    pdf = b""
    if fmt == "pdf":
        pdf = render_pack_pdf(pack)
        target.write_bytes(pdf)
    else:
        target.write_text(render_pack_html(pack), encoding="utf-8")
    appendix = target.with_name(target.stem + "-clocks.csv")
    appendix.write_text(appendix_csv(pack), encoding="utf-8")
    register = target.with_name(csv_name(pack.report, "breaches"))
    register.write_text(render_csv(pack.report), encoding="utf-8")
    return [target, appendix, register], pdf


def _period(args: argparse.Namespace, now: datetime, timezone: str) -> Period:
    """The last complete period before ``now``, or the month / quarter named."""
    zone = ZoneInfo(timezone)
    if args.month is not None:
        if args.period != "monthly":
            raise ConfigError("--month", "goes with --period monthly")
        found = re.fullmatch(r"(\d{4})-(\d{2})", args.month)
        if not found or not 1 <= int(found.group(2)) <= 12:
            raise ConfigError("--month", f"{args.month!r} is not a month like 2026-10")
        first = datetime(int(found.group(1)), int(found.group(2)), 1, tzinfo=zone)
        return period_containing("monthly", first)
    if args.quarter is not None:
        if args.period != "quarterly":
            raise ConfigError("--quarter", "goes with --period quarterly")
        found = re.fullmatch(r"(\d{4})-Q([1-4])", args.quarter.upper())
        if not found:
            raise ConfigError("--quarter", f"{args.quarter!r} is not a quarter like 2026-Q3")
        first = datetime(int(found.group(1)), (int(found.group(2)) - 1) * 3 + 1, 1, tzinfo=zone)
        return period_containing("quarterly", first)
    return period_for(args.period, now, timezone)


async def _send(deliverer: Deliverer, rendered: Rendered, found: tuple[Target, ...]) -> int:
    failures = 0
    for target in found:
        try:
            detail = await deliverer(rendered, target)
        except Exception as exc:  # report each channel's failure, go on with the others
            failures += 1
            print(f"sla-connector: {target.run_key}: not delivered: {exc}", file=sys.stderr)
        else:
            print(f"sent to {target.run_key}: {detail}")
    return failures


def run(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config))
    now = parse_now(args.now)
    policy = config.policy
    if args.client is not None and args.client not in policy.clients:
        known = ", ".join(sorted(policy.clients)) or "none"
        raise ConfigError("--client", f"unknown client {args.client!r}; configured: {known}")
    if args.format is not None:
        if args.client is None:
            raise ConfigError("--format", "an evidence pack is one client's: add --client KEY")
        if args.period == "weekly":
            raise ConfigError("--format", "evidence packs are monthly or quarterly")
    recipient = args.client or INTERNAL
    found = report_targets(config.reports.recipients, only=recipient)
    if args.send and not found:
        raise ConfigError(
            f"reports.recipients.{recipient}",
            "nobody to send this report to; add email, slack_webhook_env or teams_webhook_env",
        )
    timezone = client_timezone(policy, args.client, config.reports.timezone)
    period = _period(args, now, timezone)
    url = store_url(config)
    _check_store(url)
    store = Store.open(url, evidence_key=evidence_key(config))
    pack: Pack | None = None
    try:
        if args.format is not None:
            assert args.client is not None
            pack = build_pack(
                store,
                policy,
                period,
                now,
                client=args.client,
                timezone=timezone,
                branding=branding_of(config.reports.branding),
                vocabulary=vocabulary_of(config),
            )
            report = pack.report
        else:
            report = build_report(
                store,
                policy,
                period,
                now,
                client=args.client,
                timezone=timezone,
                vocabulary=vocabulary_of(config),
            )
    finally:
        store.close()
    attachments: tuple[Attachment, ...] = ()
    if pack is not None:
        paths, pdf = _write_pack(pack, args.format, Path(args.out))
        for path in paths:
            print(path)
        if pdf:
            attachments = (Attachment(pack.filename, "application/pdf", pdf),)
    rendered = render_all(report, attachments)
    if pack is None:
        for path in _write(rendered, Path(args.out)):
            print(path)
    if args.send and asyncio.run(_send(deliverer_for(config.notify, attempts=3), rendered, found)):
        return ExitCode.FINDINGS
    return ExitCode.OK
