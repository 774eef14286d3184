"""``sla-connector verify-log``: check the evidence log's hash chain end to end.

A store that does not exist is refused (exit 2), never created: an empty new store would
otherwise "verify" with 0 entries. ``--entry N`` also prints entry N's hash, which a
client's auditor compares with the head hash quoted in an evidence pack (the log only
grows, so a later head leaves it unchanged).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sla_connector.cli.common import ExitCode, add_command, open_existing_store
from sla_connector.core.errors import ConfigError
from sla_connector.settings import load_config

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    parser = add_command(
        commands,
        "verify-log",
        run,
        summary="verify the evidence log's hash chain (exit 1 when it was tampered with)",
        description=(
            "Recompute every entry's hash of the append-only evidence log, with the key "
            "`store.evidence_key_env` names (HMAC-SHA256) when one is configured; print the "
            "key id and the range of entries verified."
        ),
    )
    parser.add_argument(
        "--entry",
        metavar="N",
        type=int,
        help="also print entry N's hash (compare it with the head an evidence pack quotes)",
    )


def run(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config))
    store = open_existing_store(config)
    entry = None
    try:
        check = store.verify_evidence()
        if args.entry is not None and args.entry >= 1:
            entry = next(store.evidence(since_seq=args.entry - 1), None)
    finally:
        store.close()
    if args.entry is not None and (entry is None or entry.seq != args.entry):
        raise ConfigError("--entry", f"the log has no entry {args.entry}")
    if check.ok:
        print(f"evidence log verified: {check.message}")
        if entry is not None:
            print(f"entry {entry.seq}: {entry.hash}")
        if check.key_id is None:
            print(
                "warning: the chain is unkeyed; set store.evidence_key_env so that a rewrite "
                "of the whole log is caught too"
            )
        return ExitCode.OK
    print(f"evidence log FAILED verification at entry {check.first_bad_seq}: {check.message}")
    return ExitCode.FINDINGS
