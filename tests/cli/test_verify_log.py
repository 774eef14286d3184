"""``sla-connector verify-log`` on an intact and a tampered evidence log."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import orjson
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
    out = capsys.readouterr().out
    assert "entries 1..3, chain intact" in out
    assert "unkeyed" in out


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


@pytest.mark.parametrize(
    "tampered",
    [
        "UPDATE evidence SET payload = 'not json {' WHERE seq = 2",
        "UPDATE evidence SET payload = X'FFFE00' WHERE seq = 2",
        "UPDATE evidence SET at = 'yesterday' WHERE seq = 2",
    ],
)
def test_finding_10_a_non_json_payload_is_reported_by_row_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tampered: str
) -> None:
    config = _config(tmp_path)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text(tampered))
    engine.dispose()
    assert main(["verify-log", "-c", str(config)]) == 1
    out = capsys.readouterr()
    assert "FAILED verification at entry 2" in out.out and "unreadable" in out.out
    assert "Traceback" not in out.err


def _keyed_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str) -> Path:
    """The example policy with ``store.evidence_key_env``, and three entries written keyed."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    text = (ROOT / "examples" / "policy.yaml").read_text()
    text = re.sub(
        r"(?m)^  url: sqlite:.*$", f"  url: {url}\n  evidence_key_env: SLA_TEST_EVIDENCE_KEY", text
    )
    path = tmp_path / "config.yaml"
    path.write_text(text)
    monkeypatch.setenv("SLA_TEST_EVIDENCE_KEY", key)
    with Store.open(url, evidence_key=key.encode()) as store:
        for index in range(3):
            store.append_evidence("escalation", {"key": f"sim:{index}", "state": "done"}, at=index)
    return path


def test_finding_2_verify_log_names_the_key_and_the_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _keyed_config(tmp_path, monkeypatch, "a-long-evidence-key-0123456789")
    assert main(["verify-log", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    key_id = re.search(r"keyed with key ([0-9a-f]{12})", out)
    assert key_id is not None, out
    assert "entries 1..3" in out and "head hmac-sha256:" in out
    assert "a-long-evidence-key" not in out


def test_finding_2_verify_log_fails_with_the_wrong_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _keyed_config(tmp_path, monkeypatch, "a-long-evidence-key-0123456789")
    monkeypatch.setenv("SLA_TEST_EVIDENCE_KEY", "not-the-key-it-was-written-with")
    assert main(["verify-log", "-c", str(config)]) == 1
    assert "FAILED verification at entry 1" in capsys.readouterr().out


def test_finding_2_verify_log_fails_after_a_rewrite_without_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _keyed_config(tmp_path, monkeypatch, "a-long-evidence-key-0123456789")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    with engine.begin() as conn:  # every entry and the head, as a clean SHA-256 chain
        prev = "0" * 64
        rows = conn.execute(sa.text("SELECT seq, at, kind, payload FROM evidence ORDER BY seq"))
        for row in rows.all():
            payload = orjson.loads(row.payload)
            body = {"seq": row.seq, "at": row.at, "kind": row.kind, "payload": payload}
            digest = hashlib.sha256(
                prev.encode() + orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
            ).hexdigest()
            conn.execute(
                sa.text("UPDATE evidence SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": digest, "s": row.seq},
            )
            prev = digest
        conn.execute(sa.text("UPDATE evidence_head SET hash = :h"), {"h": prev})
    engine.dispose()
    assert main(["verify-log", "-c", str(config)]) == 1
    assert "rewritten without the key" in capsys.readouterr().out
