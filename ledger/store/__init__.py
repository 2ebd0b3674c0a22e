"""Persistence: eventsourcing recorders that write each event's Merkle leaf in the same transaction.

``ledger.store.sqlite`` and ``ledger.store.postgres`` are eventsourcing persistence modules
(``PERSISTENCE_MODULE``). Their application recorders add, to every insert transaction, the
events' dense ``seq``, leaves and new tree nodes, and the command receipts passed as
``app.save(..., receipts=[(command_id, digest, result), ...])``. One ledger per database
(PostgreSQL: per schema): the ``ledger_*`` tables are not named after the application.

:class:`LedgerReader` is what the integrity layer may rely on from either engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger.store.leaves import LeafRow, RecordedTimeRegression, SeqEvent, VersionGap

__all__ = ["LeafRow", "LedgerReader", "RecordedTimeRegression", "SeqEvent", "VersionGap"]


class LedgerReader(Protocol):
    """Read side of both engines' application recorders."""

    def tree_size(self) -> int:
        """Number of leaves (= events) in the log."""
        ...

    def select_leaves(self, start_seq: int, limit: int) -> list[LeafRow]:
        """Leaves with ``seq >= start_seq`` in ``seq`` order."""
        ...

    def get_nodes(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Stored perfect-subtree hashes by ``(level, idx)``, in one query; absent keys are left out."""
        ...

    def select_events_by_seq(self, start: int, limit: int) -> list[SeqEvent]:
        """Stored events with ``seq >= start`` in ``seq`` (commit) order."""
        ...

    def stored_event_at(self, originator_id: UUID | str, version: int) -> StoredEvent | None: ...

    def leaf_at(self, originator_id: UUID | str, version: int) -> LeafRow | None: ...

    def select_leaves_of(self, originator_id: UUID) -> list[LeafRow]:
        """Every leaf of one aggregate, by version, in one query."""
        ...

    def get_receipt(self, command_id: str) -> tuple[str, bytes] | None:
        """``(digest, result)`` stored for an already executed command."""
        ...

    def get_receipts(self, command_ids: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        """The receipts of those commands that were already executed, by command id, in one query."""
        ...

    def select_events_after(self, versions: Mapping[UUID, int]) -> list[StoredEvent]:
        """The stored events of the given aggregates after the given version of each (0: all),
        ordered by aggregate then version."""
        ...
