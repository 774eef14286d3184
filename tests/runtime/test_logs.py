"""The JSON log lines: secret-looking fields and every secret the runtime read are redacted."""

from __future__ import annotations

import json
import logging

from sla_connector.runtime.logs import JsonFormatter
from sla_connector.runtime.redaction import read_secret, remember_password_of

HOOK = "https://hooks.slack.com/services/T0LOGS/B0LOGS/LOGSECRET77"


def _line(message: str, *args: object, **extra: object) -> dict[str, object]:
    try:
        raise RuntimeError(f"library error mentioning {HOOK}")
    except RuntimeError as exc:
        record = logging.LogRecord("sla_connector.test", logging.WARNING, __file__, 1, message,
                                   args, (type(exc), exc, exc.__traceback__))  # fmt: skip
    record.__dict__.update(extra)
    line: dict[str, object] = json.loads(JsonFormatter().format(record))
    return line


def test_a_secret_read_by_the_runtime_never_reaches_a_json_log_line() -> None:
    assert read_secret("SLA_LOG_HOOK", "notify.slack.webhook_env", {"SLA_LOG_HOOK": HOOK}) == (
        HOOK,
        None,
    )
    line = _line("posting to %s failed", HOOK, target=f"{HOOK}?x=1", api_token="abc")
    text = json.dumps(line)
    for part in ("T0LOGS", "B0LOGS", "LOGSECRET77"):
        assert part not in text
    assert line["msg"] == "posting to [redacted] failed"
    assert line["api_token"] == "[redacted]"  # a secret-looking field name, whatever it holds


def test_a_database_url_password_is_redacted_but_the_rest_of_the_url_shows() -> None:
    remember_password_of("postgresql+psycopg://sla:pg-Pa55word-1@db.internal/sla")
    line = _line("cannot reach postgresql+psycopg://sla:pg-Pa55word-1@db.internal/sla")
    assert line["msg"] == "cannot reach postgresql+psycopg://sla:[redacted]@db.internal/sla"
