"""Per-object failures with back-off, and the health a connector reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sla_connector_psa.health import BACKOFF_CAP, HealthBook, Quarantine


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


def test_a_failing_object_backs_off_exponentially_up_to_the_cap() -> None:
    clock = Clock()
    quarantine = Quarantine(clock)
    delays = []
    for _ in range(9):
        record = quarantine.failed("project", "OLD", "400 archived")
        assert record.retry_at is not None
        delays.append(record.retry_at - clock.now())
    assert delays[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert delays[-1] == BACKOFF_CAP
    assert record.attempts == 9


def test_an_object_is_due_again_once_its_back_off_passed_and_cleared_by_success() -> None:
    clock = Clock()
    quarantine = Quarantine(clock)
    quarantine.failed("ticket", "12", "500")
    assert not quarantine.due("ticket", "12") and quarantine.due("ticket", "13")
    clock.at += timedelta(minutes=1)
    assert quarantine.due("ticket", "12")
    assert quarantine.succeeded("ticket", "12") and quarantine.failing() == []


def test_the_health_snapshot_carries_failures_counters_and_warnings() -> None:
    book = HealthBook(Clock())
    book.quarantine.failed("board", "Projects", "403")
    book.count("unparsed_audit_trails", 2)
    assert book.warn("audit", "first wording")
    assert not book.warn("audit", "newer wording")
    health = book.snapshot({"requests": 7})
    assert [f.object_id for f in health.failures] == ["Projects"]
    assert health.counters == {"unparsed_audit_trails": 2, "requests": 7}
    assert health.warnings == ("newer wording",)
