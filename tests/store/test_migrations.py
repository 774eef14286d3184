"""Schema versioning: fresh databases reach the latest version, old ones upgrade once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sla_connector.core.errors import StoreError
from sla_connector.store import LATEST_VERSION, Store
from sla_connector.store.engine import create_store_engine, parse_store_url, transaction
from sla_connector.store.migrations import upgrade
from tests.store.support import step


@pytest.fixture
def v1_database(store_url: str) -> Iterator[str]:
    """The test's database with only migration 1 applied, as a v1 release left it."""
    engine = create_store_engine(parse_store_url(store_url))
    with transaction(engine, "creating v1", write=True) as conn:
        assert upgrade(conn, target=1) == [1]
    engine.dispose()
    yield store_url


def _versions(raw: Engine) -> list[tuple[int, int]]:
    with raw.connect() as conn:
        rows = conn.execute(sa.text("SELECT version, applied_at FROM schema_version ORDER BY 1"))
        return [(int(r.version), int(r.applied_at)) for r in rows]


def _ledger_indexes(raw: Engine) -> set[str]:
    return {str(index["name"]) for index in sa.inspect(raw).get_indexes("ledger")}


def test_fresh_database_gets_every_version(store: Store, raw: Engine) -> None:
    assert store.current_version() == LATEST_VERSION
    assert [v for v, _ in _versions(raw)] == list(range(1, LATEST_VERSION + 1))


def test_opening_a_v1_database_applies_later_migrations_once(
    v1_database: str, raw: Engine, open_store: Callable[..., Store]
) -> None:
    assert "ix_ledger_client_due" not in _ledger_indexes(raw)
    assert [v for v, _ in _versions(raw)] == [1]
    with raw.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO ledger (key, source, ticket_id, client, tier, step, cycle, due_at,"
                " recipient, actions, state, attempts, owner, detail) VALUES ('old', 'zd', '1',"
                " 'acme', 'P1', 's', 1, 5, 'r', '[]', 'planned', 0, '', '')"
            )
        )
    first = open_store()
    assert first.current_version() == LATEST_VERSION
    assert "ix_ledger_client_due" in _ledger_indexes(raw)
    applied = _versions(raw)
    assert [v for v, _ in applied] == list(range(1, LATEST_VERSION + 1))
    assert {"exclusions", "withdrawals"} <= set(sa.inspect(raw).get_table_names())
    first.close()
    second = open_store()
    assert _versions(raw) == applied
    assert [r.key for r in second.ledger()] == ["old"]


def test_a_v1_database_has_no_exclusions_table_until_migration_3(
    v1_database: str, raw: Engine
) -> None:
    assert "exclusions" not in sa.inspect(raw).get_table_names()


def test_opening_without_migrations_refuses_an_old_schema(v1_database: str) -> None:
    needs = f"schema version 1, this sla-connector needs {LATEST_VERSION}"
    with pytest.raises(StoreError, match=needs):
        Store.open(v1_database, migrate=False)


def test_opening_without_migrations_works_on_a_current_schema(store_url: str) -> None:
    Store.open(store_url).close()
    with Store.open(store_url, migrate=False) as store:
        store.plan([step("k")])
        assert store.current_version() == LATEST_VERSION


def test_a_database_newer_than_the_code_is_refused(
    store: Store, store_url: str, raw: Engine
) -> None:
    with raw.begin() as conn:
        conn.execute(sa.text("INSERT INTO schema_version (version, applied_at) VALUES (99, 0)"))
    with pytest.raises(StoreError, match="version 99, newer than this sla-connector"):
        Store.open(store_url)


def test_two_processes_opening_a_fresh_database_migrate_it_once(
    open_store: Callable[..., Store], raw: Engine
) -> None:
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            barrier.wait()
            open_store()
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [v for v, _ in _versions(raw)] == list(range(1, LATEST_VERSION + 1))
