"""``sla-connector backfill`` as typed (issue 13 item 1): what it refuses in one line, and a
run that writes the file and loads the store. The reading itself is tested against the
three vendor twins in tests/twins/test_backfill.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sla_connector.cli import main
from sla_connector.cli.common import ExitCode
from sla_connector.settings import parse_yaml
from sla_connector.store import Store

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path) -> Path:
    data = parse_yaml((ROOT / "examples" / "policy.yaml").read_text())
    data["connectors"] = {"sim": data["connectors"]["sim"]}
    data["store"] = {"url": f"sqlite:///{tmp_path / 'state.db'}"}
    data.pop("reports", None)
    data.pop("notify", None)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_backfill_without_out_or_store_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["backfill", "-c", str(_config(tmp_path)), "--since", "4mo"])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert "--out FILE.jsonl, --store, or both" in err and "Traceback" not in err
    assert not (tmp_path / "state.db").exists()


def test_backfill_of_a_connector_not_configured_names_the_known_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_config(tmp_path))
    out = tmp_path / "history.jsonl"
    code = main(
        ["backfill", "-c", config, "--since", "4mo", "--connector", "zd", "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert "'zd' is not configured (known: sim)" in err and "Traceback" not in err
    assert not out.exists()


def test_backfill_writes_the_file_and_loads_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_config(tmp_path))
    out = tmp_path / "history.jsonl"
    code = main(["backfill", "-c", config, "--since", "6w", "--out", str(out), "--store"])
    printed = capsys.readouterr().out
    assert code == ExitCode.OK, printed
    assert out.exists() and "written to" in printed and "loaded" in printed
    assert not out.with_name("history.jsonl.checkpoint").exists()
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        loads = [e.payload for e in store.evidence() if e.kind == "backfill"]
    finally:
        store.close()
    assert loads == [{"tickets": 0, "since_days": 42}]  # the embedded PSA starts empty
