"""Fixtures and checks shared by the runtime tests."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator

import pytest

from sla_connector.runtime.logs import JsonFormatter


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every log record of the process at DEBUG, through the production JSON formatter, but
    the test SMTP server's own (``mail.log``), which logs what it receives."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(lambda record: not record.name.startswith("mail.log"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield sink
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def assert_absent(secrets: Iterable[str], text: str, where: str) -> None:
    """Fail naming the first of ``secrets`` that appears in ``text`` (found in ``where``)."""
    for secret in secrets:
        assert secret not in text, f"{secret!r} appears in {where}"
