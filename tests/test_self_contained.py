"""Finding 10 of issue 13: the repository is self-contained. No test (or tool the tests
run) names a path outside the checkout; the vendor specs and reference data are in it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO

SCANNED = [
    path
    for folder in ("tests", "bench", "tools")
    for path in (REPO / folder).rglob("*.py")
    if "node_modules" not in path.parts
]
FORBIDDEN = re.compile(
    r"/work/|\.\./shared|[\"']shared[\"']|shared/(api-specs|data|docs)|SLA_API_SPECS"
)
PARENTS = re.compile(r"parents\[(\d+)\]")


def test_finding_10_no_test_names_a_path_outside_the_checkout() -> None:
    offenders = []
    for path in SCANNED:
        if path == Path(__file__):
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(REPO)}: {m.group(0)}" for m in FORBIDDEN.finditer(text)]
        for match in PARENTS.finditer(text):
            # Path(__file__).resolve().parents[N] must stay inside the repository.
            if not path.resolve().parents[int(match.group(1))].is_relative_to(REPO):
                offenders.append(f"{path.relative_to(REPO)}: {match.group(0)} leaves the checkout")
    assert offenders == []


def test_finding_10_the_specs_and_reference_data_are_in_the_checkout() -> None:
    specs = REPO / "tests" / "fixtures" / "specs"
    for name in ("zendesk.yaml", "connectwise.json", "connectwise-with-writes.json",
                 "jira-combined.json", "SOURCES.md", "README.md"):  # fmt: skip
        assert (specs / name).is_file(), name
    reference = REPO / "tests" / "fixtures" / "reference"
    for name in ("calendar-cases-sample.jsonl", "config-reference.yaml", "README.md"):
        assert (reference / name).is_file(), name
    readme = (specs / "README.md").read_text()
    assert all(f"`{p.name}`" in readme for p in specs.iterdir() if p.suffix in {".json", ".yaml"})


def test_finding_10_screenshots_go_to_a_temporary_folder_by_default() -> None:
    text = (REPO / "tests" / "web" / "test_browser.py").read_text()
    assert 'os.environ.get("SLA_SCREENSHOTS_DIR") or Path(tempfile.gettempdir())' in text
