"""``sla-connector --version`` names the installed version (issue 13, finding 8)."""

from __future__ import annotations

import importlib.metadata

import pytest

from sla_connector.cli import main


def test_version_prints_the_installed_distribution_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    installed = importlib.metadata.version("sla-connector")
    assert capsys.readouterr().out.strip() == f"sla-connector {installed}"
