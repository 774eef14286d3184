"""``sla-connector verify-log`` on an intact and a tampered evidence log."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from sla_connector.cli import main
from sla_connector.store import Store

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    text = (ROOT / "examples" / "policy.yaml").read_text()
    path = tmp_path / "config.yaml"
    path.write_text(re.sub(r"(?m)^  url: sqlite:.*$", f"  url: {url}", text))
    store = Store.open(url)
    for index in range(3):
        store.append_evidence(
            "escalation", {"key": f"sim:{index}:step:1", "state": "done"}, at=index
        )
    store.close()
    return path


def test_intact_log_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify-log", "-c", str(_config(tmp_path))]) == 0
    assert "3 entries, hash chain intact" in capsys.readouterr().out


def test_edited_entry_fails_with_its_sequence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE evidence SET payload = replace(payload, 'done', 'cancelled') WHERE seq = 2"
            )
        )
    engine.dispose()
    assert main(["verify-log", "-c", str(config)]) == 1
    assert "FAILED verification at entry 2" in capsys.readouterr().out


def test_entry_prints_the_hash_an_evidence_pack_quotes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        seq, head = store.evidence_head()
    finally:
        store.close()
    assert main(["verify-log", "-c", str(config), "--entry", str(seq)]) == 0
    assert f"entry {seq}: {head}" in capsys.readouterr().out
    assert main(["verify-log", "-c", str(config), "--entry", "99"]) == 2
    assert "--entry" in capsys.readouterr().err
