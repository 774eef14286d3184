"""Structured logs: one JSON object per line on stderr, secrets never included.

Fields whose names look secret are replaced, and every secret the runtime has read
(``runtime.redaction``) is scrubbed from the message, the fields and any traceback.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from sla_connector.runtime.redaction import scrub

__all__ = ["JsonFormatter", "configure_logging"]

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_REDACT = ("token", "password", "secret", "authorization", "private_key", "api_key")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line with its ``extra`` fields, redacting secret-like keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_"):
                continue
            if any(word in key.lower() for word in _REDACT):
                entry[key] = "[redacted]"
            else:
                entry[key] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["error"] = scrub(self.formatException(record.exc_info))
        return scrub(orjson.dumps(entry, default=str).decode())


def configure_logging(level: str = "INFO") -> None:
    """Send every ``sla_connector`` log line to stderr as JSON."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
