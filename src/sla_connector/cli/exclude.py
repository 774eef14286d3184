"""``sla-connector exclude``: leave one clock of a ticket out of contract objectives.

``exclude SOURCE/ID --clock response|resolution --reason TEXT --by PERSON`` records who
approved the exclusion, why and when in the state store, with an evidence-log entry;
``--revoke`` withdraws it (logged too). The clock keeps its outcome everywhere else
(SEMANTICS S32). ``recorded_exclusions`` is how ``audit`` and ``explain`` read them back.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sla_connector.cli.common import ExitCode, add_config_argument, add_now_argument, parse_now
from sla_connector.core.calendars import to_us
from sla_connector.core.errors import ConfigError
from sla_connector.core.exclusions import EXCLUDABLE_CLOCKS, RecordedExclusions
from sla_connector.core.ticket import format_instant
from sla_connector.runtime.service import evidence_key, store_url
from sla_connector.settings import AppConfig, load_config
from sla_connector.store import ExclusionRow, Store
from sla_connector.store.engine import parse_store_url

__all__ = ["recorded_exclusions", "register", "run"]


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "exclude",
        help="exclude a ticket's clock from contract objectives and credits (or --revoke)",
        description=(
            "Record in the state store and the evidence log that one clock of a ticket is "
            "left out of contract objectives and credits, with the reason and who approved "
            "it. The clock stays a breach in audit, explain and the dashboard."
        ),
    )
    add_config_argument(parser)
    parser.add_argument("ticket", metavar="SOURCE/ID", help="the ticket, e.g. zd/12345")
    parser.add_argument("--clock", required=True, choices=EXCLUDABLE_CLOCKS)
    parser.add_argument("--reason", metavar="TEXT", help="why (required unless --revoke)")
    parser.add_argument("--by", required=True, metavar="PERSON", help="who approved it")
    parser.add_argument(
        "--revoke", action="store_true", help="withdraw the clock's exclusion instead"
    )
    add_now_argument(parser)
    parser.set_defaults(handler=run)


def _ticket(config: AppConfig, text: str) -> tuple[str, str]:
    source, _, ticket_id = text.partition("/")
    if not source or not ticket_id:
        raise ConfigError("SOURCE/ID", f"{text!r}: write the ticket as SOURCE/ID, e.g. zd/12345")
    if source not in config.connectors:
        known = ", ".join(sorted(config.connectors)) or "none"
        raise ConfigError("SOURCE/ID", f"{source!r} names no configured connector ({known})")
    return source, ticket_id


def run(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config))
    source, ticket_id = _ticket(config, args.ticket)
    when = parse_now(args.now)
    at = to_us(when)
    by = args.by.strip()
    if not by:
        raise ConfigError("--by", "name the person who approved it")
    reason = (args.reason or "").strip()
    if not reason and not args.revoke:
        raise ConfigError("--reason", "say why the clock is excluded")
    with Store.open(store_url(config), evidence_key=evidence_key(config)) as store:
        if args.revoke:
            if not store.revoke_exclusion(
                source, ticket_id, args.clock, by=by, at=at, reason=reason
            ):
                print(
                    f"sla-connector: {source}/{ticket_id} has no active {args.clock} exclusion "
                    "to revoke"
                )
                return ExitCode.FINDINGS
            print(f"revoked the exclusion of the {args.clock} clock of {source}/{ticket_id}")
            return ExitCode.OK
        store.exclude(
            ExclusionRow(
                source=source,
                ticket_id=ticket_id,
                clock=args.clock,
                reason=reason,
                approved_by=by,
                approved_at=at,
            )
        )
    print(
        f"excluded the {args.clock} clock of {source}/{ticket_id} from contract objectives: "
        f"{reason} (approved by {by}, {format_instant(when)})"
    )
    return ExitCode.OK


def recorded_exclusions(config: AppConfig) -> RecordedExclusions:
    """The active exclusions in the configured store; none when the store was never
    created (an SQLite file that does not exist is not created here)."""
    url = store_url(config)
    parsed = parse_store_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or not Path(database).exists():
            return {}
    with Store.open(url, evidence_key=evidence_key(config)) as store:
        return store.recorded_exclusions()
