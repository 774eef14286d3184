"""Generate ``docs/cli.md`` from the parser itself, so the CLI reference cannot drift.

``python -m sla_connector.cli.docs > docs/cli.md`` regenerates it (``make docs``); a test
fails when the committed file differs.
"""

from __future__ import annotations

import argparse
import os

from sla_connector.cli import build_parser
from sla_connector.cli.common import EXIT_CODES

__all__ = ["exit_codes_markdown", "render_cli_markdown"]

_HEADER = """# Command-line reference

Generated from the parser by `make docs`; do not edit by hand.

"""


def exit_codes_markdown() -> str:
    """The exit-code table every command follows (``common.EXIT_CODES``)."""
    rows = [
        "\n## Exit codes\n\n",
        "Every command exits with one of these codes; an expected condition (a missing file, "
        "a missing secret, a busy port, an unreachable host) is one line on stderr naming it "
        "and what to do, never a traceback.\n\n",
        "| Code | Kind | Meaning |\n| --- | --- | --- |\n",
    ]
    rows += [f"| {int(code)} | {kind} | {meaning} |\n" for code, kind, meaning in EXIT_CODES]
    return "".join(rows)


def render_cli_markdown() -> str:
    """The help of the command and every subcommand as Markdown."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps help text to the terminal width
    try:
        parser = build_parser()
        parts = [_HEADER, "```text\n", parser.format_help(), "```\n"]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    parts += [f"\n## `sla-connector {name}`\n\n", "```text\n"]
                    parts += [sub.format_help(), "```\n"]
        parts.append(exit_codes_markdown())
        return "".join(parts)
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


if __name__ == "__main__":
    print(render_cli_markdown(), end="")
