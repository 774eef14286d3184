"""What the MSP can prove to a client: the evidence log and the exclusions it records.

Part of ``Store`` (see ``store.base``). The evidence log is an append-only hash chain
(``store.evidence``); an exclusion of a clock from the contract objectives is recorded and
revoked together with its evidence entry, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sla_connector.core.exclusions import RecordedExclusions, recorded_from
from sla_connector.store import evidence as evidence_log
from sla_connector.store import exclusions as exclusion_ops
from sla_connector.store.base import StoreBase
from sla_connector.store.records import EvidenceCheck, EvidenceEntry, ExclusionRow

__all__ = ["EvidenceTrailStore"]


class EvidenceTrailStore(StoreBase):
    """Exclusions and the evidence log."""

    # --- exclusions from contract objectives ------------------------------------------

    def exclude(self, row: ExclusionRow) -> None:
        """Exclude a clock (replacing any earlier decision), logged in the evidence log."""
        _check_clock(row.clock)
        if not row.reason.strip() or not row.approved_by.strip():
            raise ValueError("an exclusion needs a reason and who approved it")
        with self._write(f"excluding {row.clock} of {row.source}:{row.ticket_id}") as conn:
            exclusion_ops.record(conn, row, key=self.evidence_key)

    def revoke_exclusion(
        self, source: str, ticket_id: str, clock: str, *, by: str, at: int, reason: str = ""
    ) -> bool:
        """Revoke the clock's active exclusion, logged; False when none is active."""
        _check_clock(clock)
        with self._write(f"revoking the exclusion of {source}:{ticket_id}") as conn:
            return exclusion_ops.revoke(
                conn, source, ticket_id, clock, by=by, at=at, reason=reason, key=self.evidence_key
            )

    def exclusions(
        self, *, active_only: bool = True, source: str | None = None, ticket_id: str | None = None
    ) -> list[ExclusionRow]:
        """Exclusions in (source, ticket, clock) order; revoked ones too unless active_only."""
        with self._read("reading exclusions") as conn:
            return exclusion_ops.read(
                conn, active_only=active_only, source=source, ticket_id=ticket_id
            )

    def recorded_exclusions(self) -> RecordedExclusions:
        """The active exclusions as the core's evaluation takes them (S32)."""
        return recorded_from(self.exclusions())

    # --- evidence log ------------------------------------------------------------------

    def append_evidence(self, kind: str, payload: Mapping[str, Any], *, at: int) -> str:
        """Append one entry to the hash chain; returns its hash."""
        with self._write(f"appending {kind!r} evidence") as conn:
            return evidence_log.append(conn, kind, payload, at, self.evidence_key)

    def anchor_evidence_key(self, *, at: int) -> bool:
        """With a key configured on a log whose newest entry is not keyed with it, append a
        keyed ``evidence_keyed`` entry, so that a later rewrite without the key shows.
        True when an entry was appended."""
        key = self.evidence_key
        if key is None:
            return False
        with self._write("anchoring the evidence key") as conn:
            seq, tip = evidence_log.head(conn)
            if seq == 0 or evidence_log.hash_key_id(tip) == key.key_id:
                return False
            payload = {"key_id": key.key_id, "previous_key_id": evidence_log.hash_key_id(tip)}
            evidence_log.append(conn, "evidence_keyed", {**payload, "after_seq": seq}, at, key)
            return True

    def verify_evidence(self) -> EvidenceCheck:
        """Recompute the chain: ok, or the first damaged entry and what is wrong."""
        with self._read("verifying the evidence log") as conn:
            return evidence_log.verify_rows(conn, self.evidence_key)

    def evidence_head(self) -> tuple[int, str]:
        """The chain's tip as the head row records it: (last seq, its hash); (0, zeros) empty."""
        with self._read("reading the evidence head") as conn:
            return evidence_log.head(conn)

    def evidence(
        self, *, since_seq: int = 0, since_at: int | None = None
    ) -> Iterator[EvidenceEntry]:
        """Entries with ``seq > since_seq`` (and ``at >= since_at``) in order, page by page."""
        after = since_seq
        while True:
            with self._read("reading the evidence log") as conn:
                page = evidence_log.read_page(conn, after, self._page, since_at)
            yield from page
            if len(page) < self._page:
                return
            after = page[-1].seq


def _check_clock(clock: str) -> None:
    if clock not in ("response", "resolution"):
        raise ValueError(f"exclusion: clock {clock!r} is not response or resolution")
