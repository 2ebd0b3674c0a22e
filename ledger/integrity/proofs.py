"""Proofs from the stored tree (RFC 9162): inclusion of any event, consistency of any two sizes.

Every proof is built from the perfect-subtree hashes in ``ledger_nodes`` with one node query
(planned by :mod:`ledger.merkle`), so an inclusion proof costs two small indexed
queries whatever the size of the log. The answers are the wire shapes of :mod:`schemas.proofs`,
the same for ``xinfang proof`` and the HTTP API (``/api/integrity/inclusion``,
``/api/integrity/consistency``, ``/api/cases/{number}/proof``).
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from ledger.codec import UNREADABLE, decode_envelope
from ledger.domain.ids import aggregate_id
from ledger.errors import IntegrityFailure, InvalidInput, NotFound
from ledger import merkle
from ledger.store import LedgerReader
from schemas.events import PetitionRegistered
from schemas.proofs import CaseEvent, CaseProof, ConsistencyProof, InclusionProof

__all__ = ["Proofs"]


def _bad(message: str, code: str = "invalid_tree_size") -> InvalidInput:
    return InvalidInput(message, code=code)


class Proofs:
    """Roots and proofs over a :class:`~ledger.store.LedgerReader` (either engine)."""

    def __init__(self, reader: LedgerReader) -> None:
        self.reader = reader

    def tree_size(self) -> int:
        return self.reader.tree_size()

    def size(self, size: int | None) -> int:
        """``size``, checked against the log, or the current tree size when None."""
        current = self.reader.tree_size()
        if size is None:
            return current
        if size < 0:
            raise _bad(f"树大小 {size} 不能为负")
        if size > current:
            raise _bad(f"树大小 {size} 超过账本当前大小 {current}")
        return size

    def root(self, size: int | None = None) -> bytes:
        """Root of the first ``size`` leaves (current size when None)."""
        size = self.size(size)
        return merkle.root_at(size, self._nodes(merkle.root_keys(size)))

    def _nodes(self, keys: set[merkle.Key] | list[merkle.Key]) -> dict[merkle.Key, bytes]:
        nodes = self.reader.get_nodes(keys)
        missing = [key for key in keys if key not in nodes]
        if missing:
            raise IntegrityFailure(
                f"存储的树缺少节点 {sorted(missing)[:3]}：账本已损坏，请运行 xinfang verify", code="missing_nodes"
            )
        return nodes

    def inclusion(self, seq: int, size: int | None = None) -> InclusionProof:
        """Proof that the event at ``seq`` is leaf ``seq`` of the tree of ``size`` leaves."""
        size = self.size(size)
        if seq < 0 or seq >= size:
            raise _bad(f"序号 {seq} 不在大小为 {size} 的树中（序号从 0 起）", code="seq_outside_tree")
        rows = self.reader.select_leaves(seq, 1)
        if not rows or rows[0].seq != seq:
            raise NotFound(f"没有序号为 {seq} 的事件", code="unknown_seq", seq=seq)
        return self._inclusion(seq, size, bytes(rows[0].leaf), bytes(rows[0].leaf_hash))

    def _inclusion(self, seq: int, size: int, leaf: bytes, hash_: bytes, nodes: dict[merkle.Key, bytes] | None = None,
                   root: bytes | None = None) -> InclusionProof:
        if nodes is None:
            nodes = self._nodes(merkle.inclusion_keys(seq, size) | set(merkle.root_keys(size)))
        path = merkle.inclusion_proof(seq, size, nodes)
        if root is None:
            root = merkle.root_at(size, nodes)
        return InclusionProof(
            leaf_index=seq,
            tree_size=size,
            leaf=leaf.hex(),
            leaf_hash=hash_.hex(),
            inclusion_path=[h.hex() for h in path],
            root_hash=root.hex(),
        )

    def consistency(self, first: int, second: int | None = None) -> ConsistencyProof:
        """Proof that the tree of ``second`` leaves (current when None) extends that of ``first``."""
        second = self.size(second)
        if first < 1 or first > second:
            raise _bad(f"一致性证明需要 1 ≤ 旧大小（{first}）≤ 新大小（{second}）")
        keys = merkle.consistency_keys(first, second) | set(merkle.root_keys(first)) | set(merkle.root_keys(second))
        nodes = self._nodes(keys)
        return ConsistencyProof(
            first=first,
            second=second,
            first_hash=merkle.root_at(first, nodes).hex(),
            second_hash=merkle.root_at(second, nodes).hex(),
            consistency_path=[h.hex() for h in merkle.consistency_proof(first, second, nodes)],
        )

    def case_proof(self, case: str | UUID, size: int | None = None) -> CaseProof:
        """Every event of a case (a ``str`` is its number; a ``UUID`` names any aggregate) against one
        tree size. Only events with ``seq < size`` are included; all nodes come from one query.
        """
        size = self.size(size)
        oid, number = (case, None) if isinstance(case, UUID) else (aggregate_id("case", case), case)
        found: list[tuple[int, bytes, bytes, bytes]] = []
        version = 1
        while True:
            row = self.reader.leaf_at(oid, version)
            if row is None or row.seq >= size:
                break
            event = self.reader.stored_event_at(oid, version)
            if event is None:
                raise IntegrityFailure(
                    f"序号 {row.seq} 的事件（版本 {version}）已不在事件表中：请运行 xinfang verify",
                    code="event_missing", seq=row.seq,
                )
            found.append((row.seq, bytes(row.leaf), bytes(row.leaf_hash), bytes(event.state)))
            version += 1
        if not found:
            what = f"案件 {number}" if number else f"聚合 {oid}"
            raise NotFound(f"{what} 在大小为 {size} 的树中没有事件", code="unknown_case", case=str(number or oid))
        keys = set(merkle.root_keys(size))
        for seq, *_ in found:
            keys |= merkle.inclusion_keys(seq, size)
        nodes = self._nodes(keys)
        root = merkle.root_at(size, nodes)
        events = [
            CaseEvent(payload=state.hex(), proof=self._inclusion(seq, size, leaf, hash_, nodes, root))
            for seq, leaf, hash_, state in found
        ]
        if number is None:
            number = _case_number(found[0][3])
        return CaseProof(case=number, aggregate_id=str(oid), tree_size=size, root_hash=root.hex(), events=events)


def _case_number(first_state: bytes) -> str | None:
    """The case number registered by an aggregate's first event, if it is a case."""
    try:
        event = decode_envelope(first_state).event
    except UNREADABLE:
        return None
    return event.number if isinstance(event, PetitionRegistered) else None
