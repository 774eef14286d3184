"""``StoreBase``: what every part of ``Store`` stands on (the engine, its transactions).

``Store`` is composed of one mixin per topic (``coordination``, ``snapshots``, ``steps``,
``deliveries``, ``evidence_trail``) so that each topic reads on its own page. They all
inherit this base, which holds the shared state and declares ``_read`` and ``_write``, so
each mixin type-checks alone and none of them opens a connection any other way.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import ClassVar

from sqlalchemy.engine import URL, Connection, Engine

from sla_connector.store.engine import transaction
from sla_connector.store.evidence import EvidenceKey
from sla_connector.store.locks import Leadership, OwnerLock

__all__ = ["StoreBase"]


class StoreBase:
    """The engine, its URL and dialect, the evidence key and the claim bound, plus one short
    read or write transaction at a time."""

    # Rows read per page by the paging iterators, and rows written per statement by the bulk
    # writes; class attributes so a test can make a page small.
    _page: ClassVar[int] = 2000
    _batch: ClassVar[int] = 5000

    def __init__(
        self,
        engine: Engine,
        url: URL,
        *,
        max_attempts: int,
        evidence_key: EvidenceKey | None = None,
    ) -> None:
        """Use ``Store.open``; this only wires an engine that is already migrated."""
        self._engine = engine
        self.evidence_key = evidence_key
        self._url = url
        self.dialect: str = engine.dialect.name
        self.max_attempts = max_attempts
        self._leadership = Leadership(engine) if self.dialect == "postgresql" else None
        self._owner_lock: OwnerLock | None = None

    def _read(self, what: str) -> AbstractContextManager[Connection]:
        return transaction(self._engine, what, write=False)

    def _write(self, what: str) -> AbstractContextManager[Connection]:
        return transaction(self._engine, what, write=True)
