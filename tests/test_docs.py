"""Documentation stays true: the CLI reference is regenerated, not retyped."""

from __future__ import annotations

from pathlib import Path

from sla_connector.cli.docs import render_cli_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_matches_the_parser() -> None:
    committed = (ROOT / "docs" / "cli.md").read_text()
    assert committed == render_cli_markdown(), "docs/cli.md is stale: run `make docs`"


def test_readme_names_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
