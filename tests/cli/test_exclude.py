"""``sla-connector exclude`` end to end (issue 14 item 4): recorded in the store and the
evidence log, honoured by ``audit`` and ``explain``, revocable; and PSA-tag exclusions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sla_connector.cli import main
from sla_connector.store import Store

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "examples" / "policy.yaml"
TICKETS = ROOT / "examples" / "tickets.jsonl"
NOW = "2026-11-02T00:00:00Z"
P1_RESOLUTION = {"tier": "P1", "clock": "resolution"}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The bundled policy with its store in the test's folder."""
    path = tmp_path / "policy.yaml"
    store = f"sqlite:///{tmp_path / 'state.db'}"
    path.write_text(POLICY.read_text().replace("sqlite:///sla-connector.db", store))
    return path


def _store(config: Path) -> Store:
    return Store.open(f"sqlite:///{config.parent / 'state.db'}")


def _exclude(config: Path, *extra: str) -> int:
    return main(["exclude", "-c", str(config), "sim/demo-p1-breach", "--clock", "resolution",
                 "--by", "dana@msp.example", "--now", "2026-10-20T10:00:00Z", *extra])  # fmt: skip


def _october_p1_resolution(
    capsys: pytest.CaptureFixture[str], config: Path, *extra: str
) -> dict[str, Any]:
    code = main(["audit", "-c", str(config), "--tickets", str(TICKETS), "--now", NOW, *extra])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)["credits"]
    (row,) = [
        r for r in rows
        if (r["client"], r["month"], r["objective"]) == ("globex", "2026-10", P1_RESOLUTION)
    ]  # fmt: skip
    return row


def test_exclude_records_the_decision_in_the_store_and_the_evidence_log(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exclude(config, "--reason", "customer's mail relay outage") == 0
    assert "excluded the resolution clock of sim/demo-p1-breach" in capsys.readouterr().out
    with _store(config) as store:
        (row,) = store.exclusions()
        assert (row.source, row.ticket_id, row.clock, row.approved_by) == (
            "sim",
            "demo-p1-breach",
            "resolution",
            "dana@msp.example",
        )
        (entry,) = list(store.evidence())
        assert entry.kind == "clock_excluded"
        assert entry.payload["reason"] == "customer's mail relay outage"
    assert main(["verify-log", "-c", str(config)]) == 0


def test_audit_leaves_an_excluded_clock_out_of_objectives_but_not_out_of_the_records(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _october_p1_resolution(capsys, config)
    assert (before["decided"], before["excluded"], before["actual"]) == (15, 0, 0.8)
    _exclude(config, "--reason", "customer outage")
    capsys.readouterr()
    after = _october_p1_resolution(capsys, config)
    assert (after["decided"], after["excluded"]) == (14, 1)
    assert after["actual"] == pytest.approx(12 / 14)
    ignored = _october_p1_resolution(capsys, config, "--no-store")
    assert (ignored["decided"], ignored["excluded"]) == (15, 0)
    main(["audit", "-c", str(config), "--tickets", str(TICKETS), "--now", NOW])
    tickets = json.loads(capsys.readouterr().out)["tickets"]
    (record,) = [t for t in tickets if t["id"] == "demo-p1-breach"]
    assert record["resolution"]["state"] == "breached"


def test_explain_shows_the_exclusion_and_the_breach_it_keeps(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _exclude(config, "--reason", "customer outage")
    capsys.readouterr()
    code = main(["explain", "-c", str(config), "--tickets", str(TICKETS), "--now", NOW,
                 "sim/demo-p1-breach"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "Resolution clock (cycle 1) — BREACHED" in out
    assert (
        "excluded from contract objectives and credits: customer outage "
        "(approved by dana@msp.example, 2026-10-20T10:00:00Z); the outcome above stands"
    ) in out


def test_revoke_withdraws_the_exclusion_and_is_logged(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _exclude(config, "--reason", "customer outage")
    assert _exclude(config, "--revoke", "--reason", "not agreed with the client") == 0
    assert "revoked the exclusion" in capsys.readouterr().out
    assert _october_p1_resolution(capsys, config)["excluded"] == 0
    assert _exclude(config, "--revoke") == 1
    assert "has no active resolution exclusion" in capsys.readouterr().out
    with _store(config) as store:
        assert [e.kind for e in store.evidence()] == ["clock_excluded", "exclusion_revoked"]
        (row,) = store.exclusions(active_only=False)
        assert row.revoke_reason == "not agreed with the client"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["zd-typo/1", "--clock", "response", "--reason", "x"], "'zd-typo' names no configured"),
        (["12345", "--clock", "response", "--reason", "x"], "write the ticket as SOURCE/ID"),
        (["sim/1", "--clock", "response"], "--reason: say why the clock is excluded"),
        (["sim/1", "--clock", "response", "--reason", " "], "--reason: say why"),
    ],
)
def test_bad_exclusions_are_one_line_and_exit_2(
    config: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code = main(["exclude", "-c", str(config), *args, "--by", "dana"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (config.parent / "state.db").exists()


def test_audit_never_creates_a_store_to_read_exclusions(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _october_p1_resolution(capsys, config)
    assert not (config.parent / "state.db").exists()


def test_a_psa_tag_excludes_through_the_configured_exclusion_tags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "tagged.yaml"
    policy.write_text(
        POLICY.read_text().replace("sqlite:///sla-connector.db", f"sqlite:///{tmp_path / 'x.db'}")
        + "\nexclusions:\n  tags:\n    sla-excluded: {reason: customer-caused, clock: resolution}\n"
    )
    lines = TICKETS.read_text().splitlines()
    tagged = []
    for line in lines:
        data = json.loads(line)
        if data["id"] == "demo-p1-breach":
            data["tags"] = ["SLA-Excluded"]
        tagged.append(json.dumps(data))
    tickets = tmp_path / "tickets.jsonl"
    tickets.write_text("\n".join(tagged) + "\n")
    assert main(["audit", "-c", str(policy), "--tickets", str(tickets), "--now", NOW]) == 0
    rows = json.loads(capsys.readouterr().out)["credits"]
    (row,) = [
        r for r in rows
        if (r["client"], r["month"], r["objective"]) == ("globex", "2026-10", P1_RESOLUTION)
    ]  # fmt: skip
    assert (row["decided"], row["excluded"]) == (14, 1)
