"""Documentation stays true: the CLI reference is regenerated, not retyped, and no page
names a config key, a command or an option that does not exist."""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
from pathlib import Path

import yaml

from sla_connector.cli import build_parser
from sla_connector.cli.docs import render_cli_markdown
from sla_connector.settings import AppConfig

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_matches_the_parser() -> None:
    committed = (ROOT / "docs" / "cli.md").read_text()
    assert committed == render_cli_markdown(), "docs/cli.md is stale: run `make docs`"


def test_readme_names_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


# --- Issue 13 finding 9: the docs mention only config keys and commands that exist ------

DOC_PAGES = sorted(
    [*(ROOT / "docs").rglob("*.md"), ROOT / "README.md", ROOT / "examples" / "README.md"]
)
# Pages copied from elsewhere or generated from the code itself.
NOT_CHECKED = {"psa-apis.md", "cli.md", "configuration.md"}
KEY_TOKEN = re.compile(r"`([a-z_]+(?:\.(?:[a-z0-9_]+|<[a-z_ -]+>)(?:\[\])?)+)`")


def _reference_paths() -> list[re.Pattern[str]]:
    rows = re.findall(r"^\| `([^`]+)`", (ROOT / "docs" / "configuration.md").read_text(), re.M)
    patterns = []
    for row in rows:
        parts = []
        for segment in row.split("."):
            name = re.sub(r"<[^>]+>", "\0", segment.removesuffix("[]"))
            pattern = re.escape(name).replace("\0", "[^.]+")
            parts.append(pattern + ("(\\[\\])?" if segment.endswith("[]") else ""))
        # A documented key, or any prefix of one (`notify.smtp` names the section).
        for end in range(1, len(parts) + 1):
            patterns.append(re.compile(r"\.".join(parts[:end]) + r"$"))
    return patterns


def _is_module(segments: list[str]) -> bool:
    try:
        return importlib.util.find_spec(f"sla_connector.{segments[0]}.{segments[1]}") is not None
    except ModuleNotFoundError:
        return False


def test_finding_9_docs_mention_only_config_keys_that_exist() -> None:
    roots = set(AppConfig.model_fields)
    known = _reference_paths()
    unknown = []
    for page in DOC_PAGES:
        if page.name in NOT_CHECKED:
            continue
        for token in KEY_TOKEN.findall(page.read_text()):
            segments = token.split(".")
            if segments[0] not in roots or segments[-1].startswith("<"):
                continue  # not a config key, or a generic one (`connectors.<name>.<key>`)
            if importlib.util.find_spec(f"sla_connector.{segments[0]}") and _is_module(segments):
                continue  # a module path (`runtime.service.vocabulary_of`)
            if not any(pattern.match(token) for pattern in known):
                unknown.append(f"{page.relative_to(ROOT)}: {token}")
    assert unknown == []


def test_finding_9_docs_mention_only_commands_and_options_that_exist() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    commands = subparsers.choices
    wrong = []
    for page in DOC_PAGES:
        if page.name in NOT_CHECKED:
            continue
        text = re.sub(r"\\\n\s*", " ", page.read_text())
        for match in re.finditer(r"sla-connector ([a-z][a-z-]*)((?: +[^\s`|#;)]+)*)", text):
            name, rest = match.group(1), match.group(2)
            if name not in commands:
                if name not in {"is", "as", "and", "itself", "sidecar", "understands"}:  # prose
                    wrong.append(f"{page.relative_to(ROOT)}: sla-connector {name}")
                continue
            options = {o for a in commands[name]._actions for o in a.option_strings}
            for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", rest):
                if option not in options:
                    wrong.append(f"{page.relative_to(ROOT)}: sla-connector {name} {option}")
    assert wrong == []


def test_finding_9_docs_cite_in_repo_pages_not_the_design_notes() -> None:
    cited = [
        f"{page.relative_to(ROOT)}: {word}"
        for page in DOC_PAGES
        if page.name != "psa-apis.md"
        for word in re.findall(r"DESIGN(?:\.md)?|SEMANTICS(?:\.md)?|[./]+shared/", page.read_text())
    ]
    assert cited == []
    secrets = [
        page.relative_to(ROOT)
        for page in DOC_PAGES
        if re.search(
            r"(read from the environment only|not `?_FILE`?|variable itself)", page.read_text()
        )
    ]
    assert secrets == []  # VARIABLE_FILE works for every secret


VENDOR_WORDS = {"simulator": "simulator", "zendesk": "Zendesk", "connectwise": "ConnectWise",
                "jira_sm": "Jira"}  # fmt: skip


def test_finding_9_examples_readme_describes_the_connectors_the_examples_configure() -> None:
    """examples/README.md names each connector of examples/policy.yaml with its PSA, statuses
    and secrets, and no PSA the examples do not configure; the tickets' source is one of them."""
    connectors = yaml.safe_load((ROOT / "examples" / "policy.yaml").read_text())["connectors"]
    readme = (ROOT / "examples" / "README.md").read_text()
    (row,) = [line for line in readme.splitlines() if line.startswith("| `policy.yaml`")]
    for key, entry in connectors.items():
        assert f"`{key}`" in row, key
        assert VENDOR_WORDS[entry["type"]] in row, entry["type"]
        for status_list in ("responded_statuses", "paused_statuses", "resolved_statuses"):
            for status in entry.get(status_list, []):
                assert f"`{status}`" in row, f"{key}.{status_list}: {status}"
        for name, value in entry.items():
            if name.endswith("_env"):
                assert f"`{value}`" in row, f"{key}.{name}"
    configured = {entry["type"] for entry in connectors.values()}
    assert [t for t, word in VENDOR_WORDS.items() if word in row and t not in configured] == []
    sources = {
        json.loads(line)["source"]
        for line in (ROOT / "examples" / "tickets.jsonl").read_text().splitlines()
        if line.strip()
    }
    (tickets_row,) = [line for line in readme.splitlines() if line.startswith("| `tickets.jsonl`")]
    assert sources <= set(connectors)
    assert all(f"source `{source}`" in tickets_row for source in sources)
