"""``sla-connector report``: files from the store, delivery with --send, clear errors."""

from __future__ import annotations

import argparse
import csv
import email
import email.policy
import io
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from sla_connector.cli import report as report_command
from sla_connector.core.errors import ConfigError
from sla_connector.settings import load_config
from sla_connector.store import Store
from tests.reporting.conftest import NOW, WEEK_END, WEEK_START, seed_store, tickets_at
from tests.reporting.dataset import POLICY, Spec, expected, rate
from tests.reporting.test_email import Sink, smtp_server


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sla-connector")
    report_command.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["report", *argv])


def write_config(tmp_path: Path, **sections: Any) -> Path:
    data = {**POLICY, "store": {"url": f"sqlite:///{tmp_path / 'sla.db'}"}, **sections}
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(data))  # JSON is YAML
    return path


def seeded(tmp_path: Path, dataset: list[Spec], **sections: Any) -> Path:
    path = write_config(tmp_path, **sections)
    config = load_config(path)
    with Store.open(config.store.url) as store:
        seed_store(store, config.policy, tickets_at(dataset, NOW), NOW)
    return path


def test_report_writes_html_text_json_and_csv_files_from_the_store(
    tmp_path: Path, dataset: list[Spec], capsys: pytest.CaptureFixture[str]
) -> None:
    config = seeded(tmp_path, dataset, reports={"timezone": "Europe/London"})
    out = tmp_path / "out"
    args = parse(["-c", str(config), "--period", "weekly", "--client", "globex",
                  "--out", str(out), "--now", NOW.isoformat()])  # fmt: skip
    assert args.handler(args) == 0
    stem = "sla-globex-weekly-2026-W42"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"{stem}{suffix}" for suffix in (".csv", ".html", ".json", ".txt"))
    assert capsys.readouterr().out.split() == [str(out / f"{stem}{s}") for s in
                                               (".html", ".txt", ".json", ".csv")]  # fmt: skip
    data = orjson.loads((out / f"{stem}.json").read_bytes())
    counts = expected(dataset, WEEK_START, WEEK_END, NOW, "globex")
    ticket = data["total"]["ticket"]
    assert f"{ticket['rate'] * 100:.1f}%" == rate(counts, "ticket")
    rows = list(csv.reader(io.StringIO((out / f"{stem}.csv").read_text())))
    assert len(rows) - 1 == len(data["breaches"]) > 0
    assert (out / f"{stem}.html").read_text().startswith("<!DOCTYPE html>")
    assert rate(counts, "response") in (out / f"{stem}.txt").read_text()


def test_monthly_msp_report_by_default_covers_the_previous_month(
    tmp_path: Path, dataset: list[Spec]
) -> None:
    config = seeded(tmp_path, dataset)
    out = tmp_path / "out"
    args = parse(["-c", str(config), "--period", "monthly", "--out", str(out),
                  "--now", "2026-11-02T09:00:00Z"])  # fmt: skip
    assert args.handler(args) == 0
    data = orjson.loads((out / "sla-internal-monthly-2026-10.json").read_bytes())
    assert data["scope"] == "internal" and data["period"]["start"] == "2026-10-01T00:00:00Z"


def test_send_delivers_the_report_by_email(
    tmp_path: Path, dataset: list[Spec], capsys: pytest.CaptureFixture[str]
) -> None:
    sink = Sink()
    with smtp_server(sink) as port:
        config = seeded(
            tmp_path, dataset,
            reports={"recipients": {"internal": {"email": ["desk@msp.example"]}}},
            notify={"smtp": {"host": "127.0.0.1", "port": port, "starttls": False,
                             "sender": "sla@msp.example"}},
        )  # fmt: skip
        args = parse(["-c", str(config), "--period", "weekly", "--out", str(tmp_path / "o"),
                      "--send", "--now", NOW.isoformat()])  # fmt: skip
        assert args.handler(args) == 0
    assert "sent to internal:email" in capsys.readouterr().out
    [envelope] = sink.envelopes
    assert envelope.rcpt_tos == ["desk@msp.example"]
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert message["Subject"].startswith("SLA weekly report: All clients, Week 12 Oct")


def test_a_failed_send_exits_1_after_writing_the_files(
    tmp_path: Path, dataset: list[Spec], capsys: pytest.CaptureFixture[str]
) -> None:
    config = seeded(
        tmp_path, dataset,
        reports={"recipients": {"acme": {"slack_webhook_env": "SLA_TEST_UNSET_HOOK"}}},
    )  # fmt: skip
    args = parse(["-c", str(config), "--period", "weekly", "--client", "acme", "--send",
                  "--out", str(tmp_path / "o"), "--now", NOW.isoformat()])  # fmt: skip
    assert args.handler(args) == 1
    assert "SLA_TEST_UNSET_HOOK" in capsys.readouterr().err
    assert len(list((tmp_path / "o").iterdir())) == 4


@pytest.mark.parametrize(
    ("argv", "sections", "seed", "key"),
    [
        (["--client", "initech"], {}, True, "--client"),
        (["--send"], {}, True, "reports.recipients.internal"),
        ([], {}, False, "store.url"),
    ],
)
def test_user_errors_name_the_option_or_key(
    tmp_path: Path, dataset: list[Spec], argv: list[str], sections: dict[str, Any], seed: bool,
    key: str,
) -> None:  # fmt: skip
    config = seeded(tmp_path, dataset, **sections) if seed else write_config(tmp_path)
    args = parse(["-c", str(config), "--period", "weekly", "--out", str(tmp_path / "o"), *argv])
    with pytest.raises(ConfigError) as caught:
        args.handler(args)
    assert caught.value.path == key
    assert not (tmp_path / "o").exists()
