"""``sla-connector report``: render a weekly or monthly adherence report now, and send it.

The figures come from the store the daemon fills (``store.url``), re-evaluated with the
core as of ``--now``. The period is the last complete week (Monday to Monday) or calendar
month in ``reports.timezone``. Files go to ``--out``: ``.html`` (the email), ``.txt``,
``.json`` (the model) and ``.csv`` (the breaches). ``--send`` delivers to the recipients
configured for the client (or ``internal`` for the MSP-wide report) right away; a manual
send is not recorded as a scheduled run, so it never stops the daemon's own delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from sla_connector.cli.common import ExitCode, add_command, add_now_argument, parse_now
from sla_connector.core.errors import ConfigError
from sla_connector.reporting import (
    INTERNAL,
    Deliverer,
    Rendered,
    Target,
    build_report,
    period_for,
    render_all,
    render_csv,
    render_json,
)
from sla_connector.runtime.report_jobs import deliverer_for, report_targets
from sla_connector.runtime.service import evidence_key, store_url, vocabulary_of
from sla_connector.settings import load_config
from sla_connector.store import Store

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    parser = add_command(
        commands,
        "report",
        run,
        summary="render (and send) a weekly or monthly adherence report now",
        description=(
            "Render the adherence report of the last complete week or month from the store "
            "to HTML, text, JSON and CSV files; with --send, deliver it too."
        ),
    )
    parser.add_argument("--period", required=True, choices=("weekly", "monthly"))
    parser.add_argument(
        "--client", metavar="KEY", help="one client's report (default: every client, the MSP's)"
    )
    parser.add_argument(
        "--out", metavar="DIR", default="reports", help="where to write the files (./reports)"
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


def _write(rendered: Rendered, out: Path) -> list[Path]:
    report = rendered.report
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError("--out", f"cannot create {out}: {exc.strerror or exc}") from None
    stem = f"sla-{report.scope}-{report.kind}-{report.period.slug}"
    files = {
        ".html": rendered.html.encode(),
        ".txt": rendered.text.encode(),
        ".json": render_json(report),
        ".csv": render_csv(report).encode(),
    }
    written = []
    for suffix, data in files.items():
        path = out / f"{stem}{suffix}"
        path.write_bytes(data)
        written.append(path)
    return written


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
    recipient = args.client or INTERNAL
    found = report_targets(config.reports.recipients, only=recipient)
    if args.send and not found:
        raise ConfigError(
            f"reports.recipients.{recipient}",
            "nobody to send this report to; add email, slack_webhook_env or teams_webhook_env",
        )
    period = period_for(args.period, now, config.reports.timezone)
    url = store_url(config)
    _check_store(url)
    store = Store.open(url, evidence_key=evidence_key(config))
    try:
        report = build_report(
            store,
            policy,
            period,
            now,
            client=args.client,
            timezone=config.reports.timezone,
            vocabulary=vocabulary_of(config),
        )
    finally:
        store.close()
    rendered = render_all(report)
    for path in _write(rendered, Path(args.out)):
        print(path)
    if args.send and asyncio.run(_send(deliverer_for(config.notify, attempts=3), rendered, found)):
        return ExitCode.FINDINGS
    return ExitCode.OK
