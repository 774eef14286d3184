"""Finding 3 of issue 13: the shipped reference config is safe to copy.

It passes ``check`` once the secrets it names are set (every connector builds, the embedded
simulator passes its probe) and it ships in shadow mode, with a comment on switching that off.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sla_connector.cli import main
from sla_connector.runtime.service import build_clock, build_connectors
from sla_connector.settings import load_config
from sla_connector.settings.secret_env import named_secrets

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config.example.yaml"


@pytest.fixture
def secrets_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for secret in named_secrets(load_config(EXAMPLE)):
        value = "https://hooks.slack.com/services/T0/B0/x" if "SLACK" in secret.variable else "x"
        monkeypatch.setenv(secret.variable, value)


@pytest.mark.usefixtures("secrets_set")
def test_finding_3_config_example_passes_check_with_the_secrets_it_names_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "-c", str(EXAMPLE), "--connector", "sim"]) == 0
    out = capsys.readouterr().out
    assert "ok   sim (simulator)" in out
    assert "missing" not in out
    config = load_config(EXAMPLE)

    async def build() -> list[str]:
        connectors = build_connectors(config, build_clock(config))
        for connector in connectors.values():
            await connector.aclose()
        return sorted(connectors)

    assert asyncio.run(build()) == sorted(config.connectors)


def test_finding_3_config_example_ships_shadow_mode_with_a_comment_on_switching_it_off() -> None:
    assert load_config(EXAMPLE).runtime.dry_run is True
    text = EXAMPLE.read_text()
    block = text[text.index("\nruntime:") :]
    assert "dry_run: true" in block
    assert "set it to false" in block
