"""``sla-connector verify-log``: check the evidence log's hash chain end to end."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sla_connector.cli.common import add_command
from sla_connector.runtime.service import store_url
from sla_connector.settings import load_config
from sla_connector.store import Store

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    add_command(
        commands,
        "verify-log",
        run,
        summary="verify the evidence log's hash chain (exit 1 when it was tampered with)",
        description="Recompute every entry's hash of the append-only evidence log.",
    )


def run(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config))
    store = Store.open(store_url(config))
    try:
        check = store.verify_evidence()
    finally:
        store.close()
    if check.ok:
        print(f"evidence log verified: {check.entries} entries, hash chain intact")
        return 0
    print(f"evidence log FAILED verification at entry {check.first_bad_seq}: {check.message}")
    return 1
