"""``sla-connector verify-log``: check the evidence log's hash chain end to end.

A store that does not exist is refused (exit 2), never created: an empty new store would
otherwise "verify" with 0 entries.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sla_connector.cli.common import ExitCode, add_command, open_existing_store
from sla_connector.settings import load_config

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    add_command(
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


def run(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config))
    store = open_existing_store(config)
    try:
        check = store.verify_evidence()
    finally:
        store.close()
    if check.ok:
        print(f"evidence log verified: {check.message}")
        if check.key_id is None:
            print(
                "warning: the chain is unkeyed; set store.evidence_key_env so that a rewrite "
                "of the whole log is caught too"
            )
        return ExitCode.OK
    print(f"evidence log FAILED verification at entry {check.first_bad_seq}: {check.message}")
    return ExitCode.FINDINGS
