"""Fixtures for the store contract suite: every test runs on SQLite and on PostgreSQL.

PostgreSQL runs only when ``SLA_TEST_POSTGRES_URL`` names a server (for example
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). Each test gets a fresh schema,
selected through the URL's ``options=-csearch_path=...`` and dropped afterwards, so
parallel runs on one server never see each other's rows or locks.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sla_connector.store import Store
from sla_connector.store.engine import parse_store_url

POSTGRES_ENV = "SLA_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgresql"]


def postgres_base_url() -> str:
    """The server URL from the environment, or skip the test saying how to enable it."""
    base = os.environ.get(POSTGRES_ENV, "").strip()
    if not base:
        pytest.skip(
            f"{POSTGRES_ENV} is not set; set it to e.g. "
            "postgresql+psycopg://postgres@127.0.0.1:5432/test to run the PostgreSQL store suite"
        )
    return base


def _postgres_schema_url() -> Iterator[str]:
    base = parse_store_url(postgres_base_url())
    schema = f"sla_test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL of each backend, empty and private to the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
    else:
        yield from _postgres_schema_url()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A private PostgreSQL schema, for the tests of PostgreSQL-only behaviour."""
    yield from _postgres_schema_url()


@pytest.fixture
def open_store(store_url: str) -> Iterator[Callable[..., Store]]:
    """Open any number of stores on the test's database; all are closed afterwards."""
    opened: list[Store] = []

    def factory(**kwargs: Any) -> Store:
        store = Store.open(store_url, **kwargs)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[..., Store]) -> Store:
    """A migrated store on the test's database."""
    return open_store()


@pytest.fixture
def raw(store_url: str) -> Iterator[Engine]:
    """A plain engine on the same database, for tampering behind the store's back."""
    engine = sa.create_engine(parse_store_url(store_url))
    yield engine
    engine.dispose()
