"""Exclusions in the store (issue 14 item 4), on SQLite and PostgreSQL alike: a decision
per (source, ticket, clock), its revocation, and an evidence entry for each."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sla_connector.store import ExclusionRow, Store
from tests.store.support import MINUTE, T0


def _row(ticket: str = "1", clock: str = "resolution", **overrides: object) -> ExclusionRow:
    values: dict[str, object] = {
        "source": "zd",
        "ticket_id": ticket,
        "clock": clock,
        "reason": "customer outage",
        "approved_by": "dana@msp.example",
        "approved_at": T0,
    }
    values.update(overrides)
    return ExclusionRow(**values)  # type: ignore[arg-type]


def test_an_exclusion_round_trips_and_is_logged_as_evidence(store: Store) -> None:
    store.exclude(_row())
    assert store.exclusions() == [_row()]
    entries = list(store.evidence())
    assert [e.kind for e in entries] == ["clock_excluded"]
    assert entries[0].at == T0
    assert entries[0].payload == {
        "source": "zd",
        "ticket_id": "1",
        "clock": "resolution",
        "reason": "customer outage",
        "by": "dana@msp.example",
    }
    assert store.verify_evidence().ok


def test_revoking_keeps_the_row_marks_it_and_logs_it(store: Store) -> None:
    store.exclude(_row())
    assert store.revoke_exclusion(
        "zd", "1", "resolution", by="sam@msp.example", at=T0 + MINUTE, reason="not agreed"
    )
    assert store.exclusions() == []
    (revoked,) = store.exclusions(active_only=False)
    assert (revoked.revoked_by, revoked.revoked_at, revoked.revoke_reason) == (
        "sam@msp.example",
        T0 + MINUTE,
        "not agreed",
    )
    assert not revoked.active
    assert [e.kind for e in store.evidence()] == ["clock_excluded", "exclusion_revoked"]


def test_revoking_what_is_not_excluded_changes_nothing(store: Store) -> None:
    assert not store.revoke_exclusion("zd", "9", "response", by="sam", at=T0)
    store.exclude(_row())
    store.revoke_exclusion("zd", "1", "resolution", by="sam", at=T0 + 1)
    assert not store.revoke_exclusion("zd", "1", "resolution", by="sam", at=T0 + 2)
    assert len(list(store.evidence())) == 2


def test_excluding_again_replaces_the_decision_and_clears_a_revocation(store: Store) -> None:
    store.exclude(_row())
    store.revoke_exclusion("zd", "1", "resolution", by="sam", at=T0 + 1)
    store.exclude(_row(reason="agreed maintenance", approved_at=T0 + 2))
    (row,) = store.exclusions()
    assert (row.reason, row.approved_at, row.revoked_at) == ("agreed maintenance", T0 + 2, None)
    assert len(list(store.evidence())) == 3


def test_each_clock_is_its_own_exclusion_and_filters_apply(store: Store) -> None:
    store.exclude(_row("1", "response"))
    store.exclude(_row("1", "resolution"))
    store.exclude(_row("2", "resolution", source="cw"))
    assert [(r.source, r.ticket_id, r.clock) for r in store.exclusions()] == [
        ("cw", "2", "resolution"),
        ("zd", "1", "resolution"),
        ("zd", "1", "response"),
    ]
    assert [r.clock for r in store.exclusions(source="zd", ticket_id="1")] == [
        "resolution",
        "response",
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (_row(clock="ticket"), "is not response or resolution"),
        (_row(reason=" "), "needs a reason"),
        (_row(approved_by=""), "needs a reason and who approved it"),
    ],
)
def test_an_unusable_exclusion_is_refused_before_anything_is_written(
    store: Store, raw: Engine, row: ExclusionRow, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        store.exclude(row)
    with raw.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM exclusions")).scalar() == 0
    assert list(store.evidence()) == []
