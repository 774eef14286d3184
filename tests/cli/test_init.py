"""``sla-connector init``: flags, prompts, overwrite refusal, and a file that always loads."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from sla_connector.cli import build_parser, init, main
from sla_connector.cli.common import ExitCode
from sla_connector.core.errors import ConfigError
from sla_connector.core.plugins import (
    ConnectorPlugin,
    ConnectorSettings,
    SettingKey,
    Starter,
    StarterLine,
)
from sla_connector.registry import connector_declarations
from sla_connector.settings import load_config, loader

SECRETS = (
    "ZENDESK_EMAIL",
    "ZENDESK_API_TOKEN",
    "ZENDESK_CLIENT_ID",
    "ZENDESK_CLIENT_SECRET",
    "JIRA_EMAIL",
    "JIRA_API_TOKEN",
    "CW_PUBLIC_KEY",
    "CW_PRIVATE_KEY",
    "CW_CLIENT_ID",
)


def invoke(argv: Sequence[str]) -> int:
    """Run ``sla-connector init`` through ``main`` once it is wired, else through its module."""
    choices = next(
        action.choices
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    if "init" in choices:
        return main(["init", *argv])
    parser = argparse.ArgumentParser()
    init.register(parser.add_subparsers())
    args = parser.parse_args(["init", *argv])
    try:
        return int(args.handler(args))
    except ConfigError:
        return ExitCode.USAGE


class Terminal(io.StringIO):
    """Standard input that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)


class Script:
    """Scripted terminal answers, and the questions that were asked."""

    def __init__(self) -> None:
        self.replies: list[str] = []
        self.asked: list[str] = []

    def __call__(self, prompt: str = "") -> str:
        self.asked.append(prompt)
        if not self.replies:
            raise EOFError  # the user pressed Ctrl-D
        return self.replies.pop(0)


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Script]:
    script = Script()
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("builtins.input", script)
    yield script


def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(prompt: str = "") -> str:
        raise AssertionError(f"asked {prompt!r} without a terminal")

    monkeypatch.setattr("sys.stdin", io.StringIO())
    monkeypatch.setattr("builtins.input", refuse)


@pytest.mark.parametrize(
    ("psa", "key", "url"),
    [
        ("zendesk", "zd", "https://mspco.zendesk.com"),
        ("jira_sm", "jsm", "https://mspco.atlassian.net"),
        ("connectwise", "cw", "https://api-eu.myconnectwise.net/v4_6_release/apis/3.0"),
        ("simulator", "sim", None),
    ],
)
def test_flags_only_writes_a_config_that_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, psa: str, key: str, url: str | None
) -> None:
    no_terminal(monkeypatch)
    out = tmp_path / "config.yaml"
    argv = ["--out", str(out), "--psa", psa, "--non-interactive"]
    assert invoke([*argv, *(["--url", url] if url else [])]) == 0
    config = load_config(out)
    assert list(config.connectors) == [key]
    assert config.connectors[key].type == psa
    assert config.connectors[key].base_url == url
    assert config.runtime.dry_run is (url is not None)  # a real PSA starts in shadow mode
    assert sorted(config.policy.tiers) == ["P1", "P2", "P3"]
    assert [step.name for step in config.policy.ladder("P3")] == ["team-lead"]


def test_flags_define_the_business_calendar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_terminal(monkeypatch)
    out = tmp_path / "config.yaml"
    assert (
        invoke(
            [
                "--out",
                str(out),
                "--timezone",
                "America/New_York",
                "--days",
                "mon-sat",
                "--hours",
                "07:00-12:00, 13:00-19:00",
                "--country",
                "us",
                "--subdivision",
                "ny",
            ]
        )
        == 0
    )
    office = load_config(out).calendars["office"]
    assert office.timezone == "America/New_York"
    assert dict(office.hours) == {"mon-sat": ("07:00-12:00", "13:00-19:00")}
    assert (office.holidays.country, office.holidays.subdivision) == ("US", "NY")


def test_defaults_without_a_terminal_are_the_seed_office(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_terminal(monkeypatch)
    out = tmp_path / "config.yaml"
    assert invoke(["--out", str(out)]) == 0
    config = load_config(out)
    office = config.calendars["office"]
    assert (office.timezone, dict(office.hours)) == ("Europe/London", {"mon-fri": ("08:00-18:00",)})
    assert (office.holidays.country, office.holidays.subdivision) == ("GB", "ENG")
    assert config.connectors["sim"].type == "simulator"
    assert "still to set" not in capsys.readouterr().out  # the simulator needs no secrets


def test_other_time_zone_defaults_to_no_public_holidays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_terminal(monkeypatch)
    out = tmp_path / "config.yaml"
    assert invoke(["--out", str(out), "--timezone", "Australia/Sydney"]) == 0
    assert load_config(out).calendars["office"].holidays.country is None


def test_prints_the_environment_variables_not_yet_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_terminal(monkeypatch)
    monkeypatch.setenv("CW_CLIENT_ID", "set-already")
    out = tmp_path / "config.yaml"
    assert invoke(["--out", str(out), "--psa", "connectwise"]) == 0
    printed = capsys.readouterr().out
    listed = printed.split("still to set:")[1].split("Still to edit")[0]
    assert "CW_PUBLIC_KEY" in listed and "CW_PRIVATE_KEY" in listed
    assert "CW_CLIENT_ID" not in listed
    named = {
        value
        for key, value in load_config(out).connectors["cw"].options.items()
        if key.endswith("_env")
    }
    assert named == {"CW_PUBLIC_KEY", "CW_PRIVATE_KEY", "CW_CLIENT_ID"}
    assert "company_id" in printed  # the placeholder company id is on the to-do list


def test_prompts_ask_only_for_what_the_flags_did_not_give(
    tmp_path: Path, answers: Script, capsys: pytest.CaptureFixture[str]
) -> None:
    answers.replies += ["mspco", "Europe/Dublin", "", "09:00-17:30", "ie", "none"]
    out = tmp_path / "config.yaml"
    assert invoke(["--out", str(out), "--psa", "zendesk"]) == 0
    asked = answers.asked
    assert len(asked) == 6
    assert asked[0].startswith("zendesk URL") and "[mon-fri]" in asked[2]
    assert not any(question.startswith("PSA") for question in asked)
    config = load_config(out)
    assert config.connectors["zd"].base_url == "https://mspco.zendesk.com"
    office = config.calendars["office"]
    assert office.timezone == "Europe/Dublin"
    assert dict(office.hours) == {"mon-fri": ("09:00-17:30",)}
    assert (office.holidays.country, office.holidays.subdivision) == ("IE", None)
    assert "ZENDESK_CLIENT_ID" in capsys.readouterr().out  # new installs: OAuth (issue 12)


def test_a_prompt_repeats_until_the_answer_is_valid(
    tmp_path: Path, answers: Script, capsys: pytest.CaptureFixture[str]
) -> None:
    answers.replies += ["zendsk", "jira_sm", "", "Mars/Olympus", "", "", "18:00-08:00", "", "", ""]
    out = tmp_path / "config.yaml"
    assert invoke(["--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "'zendsk' is not one of" in said and "unknown time zone 'Mars/Olympus'" in said
    assert "crosses midnight" in said
    config = load_config(out)
    assert config.connectors["jsm"].base_url == "https://your-site.atlassian.net"
    assert config.calendars["office"].timezone == "Europe/London"


def test_non_interactive_never_asks_even_on_a_terminal(tmp_path: Path, answers: Script) -> None:
    out = tmp_path / "config.yaml"
    assert invoke(["--out", str(out), "--non-interactive", "--psa", "zendesk"]) == 0
    assert answers.asked == []
    assert load_config(out).connectors["zd"].base_url == "https://your-subdomain.zendesk.com"


def test_end_of_input_at_a_prompt_writes_nothing(tmp_path: Path, answers: Script) -> None:
    out = tmp_path / "config.yaml"
    assert invoke(["--out", str(out)]) == 1
    assert not out.exists()


def test_refuses_to_overwrite_an_existing_file_without_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_terminal(monkeypatch)
    out = tmp_path / "config.yaml"
    out.write_text("mine: true\n")
    assert invoke(["--out", str(out)]) == 1
    assert out.read_text() == "mine: true\n"
    assert "--force" in capsys.readouterr().err
    assert invoke(["--out", str(out), "--force"]) == 0
    assert load_config(out).connectors["sim"].type == "simulator"
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]  # no temporary file left


def test_an_invalid_flag_is_a_configuration_error_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_terminal(monkeypatch)
    out = tmp_path / "config.yaml"
    for argv in (
        ["--timezone", "Mars/Olympus"],
        ["--days", "weekdays"],
        ["--hours", "9-5"],
        ["--country", "XX"],
        ["--country", "GB", "--subdivision", "ZZZ"],
        ["--psa", "zendesk", "--url", "http://zendesk.example"],
    ):
        assert invoke(["--out", str(out), *argv]) == ExitCode.USAGE, argv
        assert not out.exists()


def test_never_writes_a_file_the_loader_rejects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_terminal(monkeypatch)
    broken = init.render_config(init.Answers()).replace("resolution: 4h", "resolution: 4x")
    monkeypatch.setattr(init, "render_config", lambda answers: broken)
    out = tmp_path / "config.yaml"
    assert invoke(["--out", str(out)]) == ExitCode.USAGE
    assert not out.exists()


def test_the_offered_psas_are_the_connectors_that_declare_a_starter() -> None:
    declared = connector_declarations()
    assert list(init.starters()) == [
        name for name, declaration in declared.items() if declaration.starter is not None
    ]
    assert "simulator_http" in declared and "simulator_http" not in init.starters()


def test_a_third_party_connector_with_a_starter_is_offered_and_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    halo = ConnectorSettings(
        type="halopsa",
        page="halopsa",
        keys=(SettingKey("token_env", "environment variable name", "required", "Token.", "T"),),
        starter=Starter(
            entry="halo",
            url="https://your-msp.halopsa.com",
            url_hint="https://<msp>.halopsa.com",
            bare_host=".halopsa.com",
            lines=(StarterLine("token_env", "HALO_TOKEN", needs="a HaloPSA API token"),),
            todo=("set connectors.halo.token_env",),
        ),
    )
    monkeypatch.setattr(init, "connector_declarations", lambda: {"halopsa": halo})
    # The package is not really installed: let the loader find its declaration.
    plugin = ConnectorPlugin(lambda name, settings, clock: None, halo)  # type: ignore[arg-type,return-value]
    monkeypatch.setattr(loader, "load_connector_factory", lambda type_name, name: plugin)
    init.starters.cache_clear()
    try:
        no_terminal(monkeypatch)
        out = tmp_path / "config.yaml"
        assert invoke(["--out", str(out), "--psa", "halopsa", "--url", "mspco"]) == 0
    finally:
        init.starters.cache_clear()
    entry = load_config(out).connectors["halo"]
    assert (entry.type, entry.base_url) == ("halopsa", "https://mspco.halopsa.com")
    assert entry.options["token_env"] == "HALO_TOKEN"
    printed = capsys.readouterr().out
    assert "HALO_TOKEN" in printed and "a HaloPSA API token" in printed
    assert "set connectors.halo.token_env" in printed


def test_building_the_parser_imports_no_connector() -> None:
    """Every command builds the parser; only ``init`` itself loads the connectors."""
    probe = (
        "import sys; from sla_connector.cli import build_parser; build_parser(); "
        "print(sorted(m for m in sys.modules if m.startswith('sla_connector_psa')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], check=False, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
