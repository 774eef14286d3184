"""Issue 9's shape stays true: no module over 600 lines, import contracts that say what the
issue asks, and a docs/architecture.md whose layout and cited files match the tree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from tests.conftest import REPO

SRC = REPO / "src" / "sla_connector"
PSA = REPO / "connectors" / "sla_connector_psa"
ARCHITECTURE = (REPO / "docs" / "architecture.md").read_text()
MAX_LINES = 600


def _modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _contracts() -> list[dict[str, Any]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    contracts: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _forbidden(source: str) -> set[str]:
    """What the forbidden contracts with exactly this source forbid (direct and indirect)."""
    return {
        module
        for contract in _contracts()
        if contract["type"] == "forbidden" and contract["source_modules"] == [source]
        for module in contract["forbidden_modules"]
    }


def _psa_packages() -> set[str]:
    return {p.name for p in PSA.iterdir() if (p / "__init__.py").is_file()}


def test_issue_9_no_module_over_600_lines() -> None:
    long = {
        str(path.relative_to(REPO)): lines
        for path in [*_modules(SRC), *_modules(PSA)]
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_issue_9_core_imports_nothing_else_of_the_project() -> None:
    others = {
        f"sla_connector.{p.stem}"
        for p in SRC.iterdir()
        if p.name != "core" and (p.suffix == ".py" or (p / "__init__.py").is_file())
    } - {"sla_connector.__init__"}
    assert others  # cli, runtime, store, ..., registry, schemas
    assert others | {"sla_connector_psa"} <= _forbidden("sla_connector.core")


def test_issue_9_psa_packages_import_neither_each_other_nor_the_runtime() -> None:
    independent = [c for c in _contracts() if c["type"] == "independence"]
    assert [set(c["modules"]) for c in independent] == [
        {f"sla_connector_psa.{name}" for name in _psa_packages()}
    ]
    assert {"sla_connector.runtime", "sla_connector.store", "sla_connector.web"} <= _forbidden(
        "sla_connector_psa"
    )
    # The shared layer's contract places every shared module (none is left unconstrained).
    (layers,) = [c for c in _contracts() if c["name"].startswith("PSA packages sit on")]
    placed = {m.strip() for layer in layers["layers"] for m in layer.split("|")}
    shared = {f"sla_connector_psa.{p.stem}" for p in PSA.glob("*.py") if p.stem != "__init__"}
    assert shared | {f"sla_connector_psa.{n}" for n in _psa_packages()} == placed


def test_issue_9_reporting_imports_no_settings_models_and_no_scheduler() -> None:
    (contract,) = [
        c for c in _contracts() if "sla_connector.reporting" in c.get("source_modules", [])
    ]
    assert contract["type"] == "forbidden"
    assert {"sla_connector.settings", "apscheduler"} <= set(contract["forbidden_modules"])
    assert not contract.get("allow_indirect_imports", False)


def test_issue_9_the_architecture_layout_names_every_package_and_psa_module() -> None:
    layout = ARCHITECTURE.split("```")[1]  # the first fenced block: the layers
    for package in SRC.iterdir():
        if (package / "__init__.py").is_file():
            assert f"{package.name}/" in layout, package.name
    words = set(re.findall(r"[a-z_]+", layout))
    for name in _psa_packages():
        assert f"{name}/" in layout, name
        missing = {p.stem for p in (PSA / name).glob("*.py")} - {"__init__"} - words
        assert missing == set(), f"{name}/: {sorted(missing)}"
    shared = {p.name for p in PSA.glob("*.py")} - {"__init__.py"}
    assert {name for name in shared if name not in layout} == set()


def test_issue_9_the_architecture_page_cites_files_that_exist() -> None:
    cited = set(re.findall(r"`([A-Za-z0-9_./-]+\.(?:py|md|toml|j2|json|yaml))`", ARCHITECTURE))
    cited |= set(re.findall(r"^# ([A-Za-z0-9_./-]+\.py)", ARCHITECTURE, re.M))  # code headers
    roots = [REPO, SRC, PSA, REPO / "docs", REPO / "tests" / "connectors"]
    missing = sorted(
        path
        for path in cited
        if "halopsa" not in path  # the worked example's new connector
        and not any((root / path).exists() for root in roots)
    )
    assert cited and missing == []
