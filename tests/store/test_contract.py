"""The store contract (STORE.md), run unchanged on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from sla_connector.core.errors import StoreError
from sla_connector.store import Store
from tests.store.support import MINUTE, T0, step, ticket_row

# --- poll cursors ---------------------------------------------------------------------


def test_cursor_is_none_until_set_then_round_trips(store: Store) -> None:
    assert store.get_cursor("zd") is None
    store.set_cursor("zd", "cursor-1", at=T0)
    store.set_cursor("zd", "cursor-2", at=T0 + 1)
    store.set_cursor("cw", "other", at=T0)
    assert store.get_cursor("zd") == "cursor-2"
    assert store.get_cursor("cw") == "other"
    store.set_cursor("zd", None, at=T0 + 2)
    assert store.get_cursor("zd") is None


def test_last_full_read_and_cursor_do_not_overwrite_each_other(store: Store) -> None:
    assert store.last_full_read("zd") is None
    store.set_last_full_read("zd", T0)
    assert store.get_cursor("zd") is None
    store.set_cursor("zd", "c", at=T0 + 5)
    store.set_last_full_read("zd", T0 + 10)
    assert store.get_cursor("zd") == "c"
    assert store.last_full_read("zd") == T0 + 10


# --- tickets --------------------------------------------------------------------------


def test_ticket_round_trips_with_nulls_and_parses_back(store: Store) -> None:
    row = ticket_row(7, rule=None, response_due_at=None, is_open=False)
    store.upsert_tickets([row])
    found = store.get_ticket("zd", "7")
    assert found == row
    assert found is not None
    assert found.ticket().id == "7"
    assert found.ticket().subject == "ticket 7"
    assert store.get_ticket("zd", "8") is None


def test_upsert_replaces_existing_snapshot(store: Store) -> None:
    store.upsert_tickets([ticket_row(1), ticket_row(2)])
    changed = ticket_row(1, tier="P1", is_open=False, resolution_breached_at=T0 + 9)
    store.upsert_tickets([changed])
    store.upsert_tickets([changed])
    assert store.count_tickets() == 2
    assert store.get_ticket("zd", "1") == changed


def test_upsert_batch_with_a_repeated_key_keeps_the_last(store: Store) -> None:
    store.upsert_tickets([ticket_row(1, tier="P3"), ticket_row(1, tier="P1")])
    found = store.get_ticket("zd", "1")
    assert found is not None
    assert found.tier == "P1"


def test_iter_tickets_filters_and_orders(store: Store) -> None:
    store.upsert_tickets(
        [
            ticket_row(2),
            ticket_row(1, client="globex"),
            ticket_row(3, is_open=False),
            ticket_row(1, source="cw"),
        ]
    )
    keys = [(r.source, r.id) for r in store.iter_tickets()]
    assert keys == [("cw", "1"), ("zd", "1"), ("zd", "2"), ("zd", "3")]
    assert [r.id for r in store.iter_tickets(open_only=True, source="zd")] == ["1", "2"]
    assert [(r.source, r.id) for r in store.iter_tickets(client="globex")] == [("zd", "1")]
    assert store.count_tickets() == 4
    assert store.count_tickets(open_only=True) == 3


def test_iter_tickets_pages_through_every_row_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "_page", 3)
    store.upsert_tickets([ticket_row(n) for n in range(10)] + [ticket_row(1, source="cw")])
    keys = [(r.source, r.id) for r in store.iter_tickets()]
    assert len(keys) == 11
    assert keys == sorted(set(keys))


def test_upsert_of_fifty_thousand_tickets_then_update_all(store: Store) -> None:
    rows = [ticket_row(n) for n in range(50_000)]
    store.upsert_tickets(rows)
    store.upsert_tickets([replace(r, is_open=n % 2 == 0) for n, r in enumerate(rows)])
    assert store.count_tickets() == 50_000
    assert store.count_tickets(open_only=True) == 25_000


# --- escalation ledger ----------------------------------------------------------------


def test_plan_inserts_planned_rows_with_all_fields(store: Store) -> None:
    store.plan([step("zd:1:a:1", due_at=T0)])
    (row,) = store.ledger()
    assert (row.key, row.source, row.ticket_id, row.client, row.tier) == (
        "zd:1:a:1",
        "zd",
        "1",
        "acme",
        "P1",
    )
    assert (row.step, row.cycle, row.due_at, row.recipient) == (
        "notify-lead",
        1,
        T0,
        "lead@msp.example",
    )
    assert row.actions == ("note", "assign")
    assert (row.state, row.attempts, row.claimed_at, row.fired_at) == ("planned", 0, None, None)
    assert row.response() is None


def test_replan_moves_a_planned_step(store: Store) -> None:
    store.plan([step("k", due_at=T0)])
    store.plan([step("k", due_at=T0 + MINUTE, tier="P2", recipient="director@msp.example")])
    (row,) = store.ledger()
    assert (row.due_at, row.tier, row.recipient) == (T0 + MINUTE, "P2", "director@msp.example")
    assert row.state == "planned"


def test_replan_never_touches_a_claimed_or_finished_step(store: Store) -> None:
    store.plan([step("firing", due_at=T0), step("done", due_at=T0)])
    assert store.claim("firing", at=T0, owner="a")
    assert store.claim("done", at=T0, owner="a")
    store.finish("done", state="done", at=T0 + 5, lateness_us=5)
    store.plan([step("firing", due_at=T0 + MINUTE), step("done", due_at=T0 + MINUTE)])
    rows = {r.key: r for r in store.ledger()}
    assert rows["firing"].due_at == T0
    assert rows["firing"].state == "firing"
    assert rows["done"].due_at == T0
    assert rows["done"].state == "done"


def test_cancel_planned_only_cancels_planned_steps(store: Store) -> None:
    store.plan([step("a"), step("b")])
    assert store.cancel_planned("a", "customer replied", T0 + 1)
    assert not store.cancel_planned("a", "again", T0 + 2)
    assert store.claim("b", at=T0, owner="x")
    assert not store.cancel_planned("b", "too late", T0 + 3)
    assert not store.cancel_planned("missing", "nothing", T0)
    rows = {r.key: r for r in store.ledger()}
    assert (rows["a"].state, rows["a"].detail, rows["a"].fired_at) == (
        "cancelled",
        "customer replied",
        T0 + 1,
    )
    assert rows["b"].state == "firing"


def test_next_due_is_the_earliest_planned_step(store: Store) -> None:
    assert store.next_due() is None
    store.plan(
        [
            step("early", due_at=T0),
            step("cw", due_at=T0 + 1, source="cw"),
            step("late", due_at=T0 + 2),
        ]
    )
    assert store.claim("early", at=T0, owner="x")
    assert store.next_due() == T0 + 1
    assert store.next_due("zd") == T0 + 2
    assert store.next_due("jira") is None


def test_due_returns_planned_steps_up_to_and_including_until(store: Store) -> None:
    store.plan(
        [
            step("c", due_at=T0 + 2),
            step("a", due_at=T0),
            step("b", due_at=T0),
            step("future", due_at=T0 + 3),
            step("other", due_at=T0, source="cw"),
        ]
    )
    assert store.cancel_planned("b", "replied", T0)
    assert [r.key for r in store.due(T0 + 2)] == ["a", "other", "c"]
    assert [r.key for r in store.due(T0 + 2, connector="zd")] == ["a", "c"]
    assert [r.key for r in store.due(T0 + 2, limit=1)] == ["a"]


def test_claim_wins_once_and_records_the_owner(store: Store) -> None:
    store.plan([step("k")])
    assert store.claim("k", at=T0 + 3, owner="replica-a")
    assert not store.claim("k", at=T0 + 4, owner="replica-b")
    assert not store.claim("unknown", at=T0, owner="replica-a")
    (row,) = store.firing()
    assert (row.state, row.attempts, row.claimed_at, row.owner) == (
        "firing",
        1,
        T0 + 3,
        "replica-a",
    )


def test_finish_done_records_the_outcome_once(store: Store) -> None:
    store.plan([step("k")])
    store.claim("k", at=T0, owner="a")
    store.finish("k", state="done", at=T0 + 7, lateness_us=7, response={"note_id": 12})
    (row,) = store.ledger()
    assert (row.state, row.fired_at, row.lateness_us) == ("done", T0 + 7, 7)
    assert row.response() == {"note_id": 12}
    assert store.firing() == []
    with pytest.raises(StoreError, match="already done"):
        store.finish("k", state="done", at=T0 + 8, lateness_us=8)
    with pytest.raises(StoreError, match="no step"):
        store.finish("nope", state="done", at=T0, lateness_us=0)
    with pytest.raises(ValueError, match="firing"):
        store.finish("k", state="firing", at=T0, lateness_us=0)


def test_shadow_mode_and_verified_cancel_finish_from_firing(store: Store) -> None:
    store.plan([step("shadow"), step("stale")])
    for key in ("shadow", "stale"):
        assert store.claim(key, at=T0, owner="a")
    store.finish("shadow", state="would_fire", at=T0 + 1, lateness_us=1)
    store.finish("stale", state="cancelled", at=T0 + 1, lateness_us=0, detail="resolved")
    states = {r.key: (r.state, r.detail) for r in store.ledger()}
    assert states == {"shadow": ("would_fire", ""), "stale": ("cancelled", "resolved")}


def test_failed_returns_to_planned_until_attempts_run_out(
    open_store: Callable[..., Store],
) -> None:
    store = open_store(max_attempts=2)
    store.plan([step("k")])
    assert store.claim("k", at=T0, owner="a")
    store.finish("k", state="failed", at=T0 + 1, lateness_us=1, detail="HTTP 500")
    (row,) = store.ledger()
    assert (row.state, row.attempts, row.fired_at, row.detail) == ("planned", 1, None, "HTTP 500")
    assert [r.key for r in store.due(T0)] == ["k"]
    assert store.claim("k", at=T0 + 2, owner="a")
    store.finish("k", state="failed", at=T0 + 3, lateness_us=3, detail="HTTP 500 again")
    (row,) = store.ledger()
    assert (row.state, row.attempts, row.fired_at) == ("failed", 2, T0 + 3)
    assert store.due(T0 + 10) == []
    assert not store.claim("k", at=T0 + 4, owner="a")


def test_release_puts_a_firing_step_back_for_retry(store: Store) -> None:
    store.plan([step("k"), step("p")])
    store.claim("k", at=T0, owner="a")
    store.release("k", error="PSA unreachable")
    store.release("p", error="ignored: not firing")
    rows = {r.key: r for r in store.ledger()}
    assert (rows["k"].state, rows["k"].detail, rows["k"].attempts) == (
        "planned",
        "PSA unreachable",
        1,
    )
    assert rows["p"].detail == ""
    assert store.claim("k", at=T0 + 1, owner="b")


def test_firing_lists_claimed_steps_per_connector(store: Store) -> None:
    store.plan([step("zd1"), step("cw1", source="cw"), step("zd2")])
    store.claim("zd1", at=T0, owner="a")
    store.claim("cw1", at=T0, owner="a")
    assert sorted(r.key for r in store.firing()) == ["cw1", "zd1"]
    assert [r.key for r in store.firing("cw")] == ["cw1"]


def test_ledger_filters_by_due_window_and_client(store: Store) -> None:
    store.plan(
        [
            step("a", due_at=T0),
            step("b", due_at=T0 + MINUTE, client="globex"),
            step("c", due_at=T0 + 2 * MINUTE),
        ]
    )
    assert [r.key for r in store.ledger()] == ["a", "b", "c"]
    assert [r.key for r in store.ledger(since=T0 + 1, until=T0 + 2 * MINUTE)] == ["b"]
    assert [r.key for r in store.ledger(client="acme")] == ["a", "c"]


# --- report runs ----------------------------------------------------------------------


def test_report_run_is_claimed_once_and_retried_only_after_failure(store: Store) -> None:
    assert store.claim_report("weekly", T0, "acme", at=T0 + 1)
    assert not store.claim_report("weekly", T0, "acme", at=T0 + 2)
    assert store.claim_report("weekly", T0, "internal", at=T0 + 1)
    store.finish_report("weekly", T0, "acme", state="failed", at=T0 + 3, detail="SMTP 421")
    assert store.claim_report("weekly", T0, "acme", at=T0 + 4)
    store.finish_report("weekly", T0, "acme", state="sent", at=T0 + 5)
    assert not store.claim_report("weekly", T0, "acme", at=T0 + 6)
    runs = {(r.recipient, r.state, r.claimed_at, r.finished_at) for r in store.report_runs()}
    assert runs == {("acme", "sent", T0 + 4, T0 + 5), ("internal", "running", T0 + 1, None)}


def test_report_runs_filter_by_kind_and_reject_unclaimed_finish(store: Store) -> None:
    store.claim_report("monthly", T0, "acme", at=T0)
    store.claim_report("weekly", T0, "acme", at=T0)
    assert [r.kind for r in store.report_runs("monthly")] == ["monthly"]
    with pytest.raises(StoreError, match="never claimed"):
        store.finish_report("weekly", T0 + 1, "acme", state="sent", at=T0)
    with pytest.raises(ValueError, match="sent"):
        store.finish_report("weekly", T0, "acme", state="running", at=T0)


def test_get_tickets_returns_the_stored_ids_of_one_source(store: Store) -> None:
    store.upsert_tickets([ticket_row(1), ticket_row(2), ticket_row(1, source="cw")])
    found = store.get_tickets("zd", ["2", "1", "9", "1"])
    assert sorted(found) == ["1", "2"]
    assert found["1"] == ticket_row(1)
    assert store.get_tickets("zd", []) == {}


def test_parked_steps_sleep_until_planned_again(store: Store) -> None:
    store.plan([step("a", due_at=T0), step("b", due_at=T0 + 1), step("c", due_at=T0)])
    assert store.claim("c", at=T0, owner="x")
    assert store.park_planned(["a", "c", "a", "missing"], "resolved before due", T0) == 1
    rows = {r.key: r for r in store.ledger()}
    assert (rows["a"].state, rows["a"].detail, rows["a"].fired_at) == (
        "dormant",
        "resolved before due",
        None,
    )
    assert rows["c"].state == "firing"
    assert [r.key for r in store.due(T0 + 5)] == ["b"]
    assert store.next_due() == T0 + 1
    store.plan([step("a", due_at=T0 + 2)])
    revived = {r.key: r for r in store.ledger()}["a"]
    assert (revived.state, revived.due_at) == ("planned", T0 + 2)


def test_plan_never_revives_a_cancelled_step(store: Store) -> None:
    store.plan([step("a")])
    assert store.cancel_planned("a", "replied", T0)
    store.plan([step("a", due_at=T0 + 1)])
    (row,) = store.ledger()
    assert (row.state, row.due_at) == ("cancelled", T0)
