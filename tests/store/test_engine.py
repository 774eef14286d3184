"""Store URLs and connections: clear errors that never show a password."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import sla_connector.store as store_package
from sla_connector.core.errors import StoreError
from sla_connector.store import Store
from sla_connector.store.engine import mask_url, parse_store_url


def test_mask_url_hides_the_password_only() -> None:
    assert (
        mask_url("postgresql+psycopg://sla:s3cr3t@db.internal/sla")
        == "postgresql+psycopg://sla:***@db.internal/sla"
    )
    assert mask_url("sqlite:///state.db") == "sqlite:///state.db"


@pytest.mark.parametrize("raw", ["postgresql://u@h/db", "postgres://u@h/db"])
def test_plain_postgres_urls_use_psycopg_3(raw: str) -> None:
    assert parse_store_url(raw).drivername == "postgresql+psycopg"


def test_unsupported_database_is_named() -> None:
    with pytest.raises(StoreError, match=r"unsupported database 'mysql'.*sqlite:///"):
        Store.open("mysql://root:hunter2@127.0.0.1/sla")


def test_text_that_is_no_url_is_refused_without_echoing_a_password() -> None:
    with pytest.raises(StoreError, match="is not a database URL") as caught:
        Store.open("postgres ql://sla:hunter2@db")
    assert "hunter2" not in str(caught.value)


def test_unreachable_server_error_names_the_url_with_the_password_masked() -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    with pytest.raises(StoreError) as caught:
        Store.open("postgresql+psycopg://sla:hunter2@127.0.0.1:1/sla?connect_timeout=5")
    message = str(caught.value)
    assert "127.0.0.1:1/sla" in message
    assert "***" in message
    assert "hunter2" not in message


def test_sqlite_file_in_a_missing_directory_is_named(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "state.db"
    with pytest.raises(StoreError, match=r"missing/state\.db"):
        Store.open(f"sqlite:///{path}")


def test_sqlite_uses_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        assert store.dialect == "sqlite"
        with store._engine.connect() as conn:  # the engine's own connection setup
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_store_errors_from_a_broken_database_name_the_operation(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with Store.open(url) as store:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE cursors"))
        engine.dispose()
        with pytest.raises(StoreError, match=r"reading the cursor of 'zd' failed"):
            store.get_cursor("zd")


def test_public_names_are_exactly_these() -> None:
    assert sorted(store_package.__all__) == [
        "CANCELLED",
        "DEFAULT_MAX_ATTEMPTS",
        "DONE",
        "EvidenceCheck",
        "EvidenceEntry",
        "ExclusionRow",
        "FAILED",
        "FIRING",
        "LATEST_VERSION",
        "LedgerRow",
        "OwnerLock",
        "PLANNED",
        "PlannedStep",
        "ReportRun",
        "Store",
        "TicketRow",
        "WOULD_FIRE",
        "WithdrawnTicket",
    ]
    for name in store_package.__all__:
        assert getattr(store_package, name) is not None
