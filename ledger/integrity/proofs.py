"""Proofs from the stored tree (RFC 9162): inclusion of any event, consistency of any two sizes.

Every proof is built from the perfect-subtree hashes in ``ledger_nodes`` with one node query
(planned by :mod:`ledger.integrity.merkle`), so an inclusion proof costs two small indexed
queries whatever the size of the log. The results are plain msgspec Structs whose JSON is what
``xinfang proof`` prints and what an inspector checks offline:

- :class:`InclusionProof` ``{tree_size, leaf_index, leaf, leaf_hash, path, root}``: ``leaf`` is
  the base64 of the canonical leaf bytes, ``leaf_hash`` = SHA-256(0x00 ‖ leaf), ``path`` the
  audit path in hex from the leaf up, ``root`` the tree head in hex.
- :class:`ConsistencyProof` ``{old_size, new_size, old_root, new_root, path}``.
- :class:`CaseProof`: every event of one case (its stored payload too, so ``payload_sha256``
  can be checked) proven against one tree size. The events form a hash chain through ``prev``,
  so nothing inside the shown history can be left out; events recorded after the last one shown
  are not covered (a Merkle log proves presence, not absence).
"""

from __future__ import annotations

import base64
from uuid import UUID

import msgspec

from ledger.codec import UNREADABLE, decode_envelope
from ledger.domain.ids import aggregate_id
from ledger.errors import IntegrityFailure, InvalidInput, NotFound
from ledger.integrity import merkle
from ledger.store import LedgerReader
from schemas.events import PetitionRegistered

__all__ = ["CaseEvent", "CaseProof", "ConsistencyProof", "InclusionProof", "Proofs"]


class InclusionProof(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 9162 inclusion proof of one leaf (``leaf_index`` = the event's ``seq``)."""

    tree_size: int
    leaf_index: int
    leaf: str
    """Base64 of the canonical leaf bytes (JSON: seq, aggregate_id, version, type, recorded_at, actor,
    payload_sha256, prev)."""
    leaf_hash: str
    """Hex SHA-256(0x00 ‖ leaf)."""
    path: list[str]
    """Hex sibling hashes, from the leaf up to the root."""
    root: str
    """Hex root of the tree of ``tree_size`` leaves."""

    @property
    def leaf_bytes(self) -> bytes:
        return base64.b64decode(self.leaf)


class ConsistencyProof(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 9162 consistency proof: the tree of ``new_size`` leaves extends that of ``old_size``."""

    old_size: int
    new_size: int
    old_root: str
    new_root: str
    path: list[str]


class CaseEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One event of a case: its version, type, stored payload (base64) and inclusion proof."""

    version: int
    type: str
    payload: str
    """Base64 of the stored event bytes; SHA-256 of them is the leaf's ``payload_sha256``."""
    proof: InclusionProof


class CaseProof(msgspec.Struct, frozen=True, kw_only=True):
    """Every event of one aggregate (a case) proven against one tree size and root."""

    case: str | None
    aggregate_id: str
    tree_size: int
    root: str
    events: list[CaseEvent]


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
            tree_size=size,
            leaf_index=seq,
            leaf=base64.b64encode(leaf).decode("ascii"),
            leaf_hash=hash_.hex(),
            path=[h.hex() for h in path],
            root=root.hex(),
        )

    def consistency(self, old: int, new: int | None = None) -> ConsistencyProof:
        """Proof that the tree of ``new`` leaves (current when None) extends that of ``old``."""
        new = self.size(new)
        if old < 1 or old > new:
            raise _bad(f"一致性证明需要 1 ≤ 旧大小（{old}）≤ 新大小（{new}）")
        keys = merkle.consistency_keys(old, new) | set(merkle.root_keys(old)) | set(merkle.root_keys(new))
        nodes = self._nodes(keys)
        return ConsistencyProof(
            old_size=old,
            new_size=new,
            old_root=merkle.root_at(old, nodes).hex(),
            new_root=merkle.root_at(new, nodes).hex(),
            path=[h.hex() for h in merkle.consistency_proof(old, new, nodes)],
        )

    def case_proof(self, case: str | UUID, size: int | None = None) -> CaseProof:
        """Every event of a case (by number, or any aggregate by id) against one tree size.

        Only events with ``seq < size`` are included; all nodes come from one query.
        """
        size = self.size(size)
        if isinstance(case, UUID):
            oid, number = case, None
        else:
            try:
                oid, number = UUID(case), None
            except ValueError:
                oid, number = aggregate_id("case", case), case
        found: list[tuple[int, bytes, bytes, int, str, bytes]] = []
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
            found.append((row.seq, bytes(row.leaf), bytes(row.leaf_hash), version, event.topic, bytes(event.state)))
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
            CaseEvent(
                version=version,
                type=topic,
                payload=base64.b64encode(state).decode("ascii"),
                proof=self._inclusion(seq, size, leaf, hash_, nodes, root),
            )
            for seq, leaf, hash_, version, topic, state in found
        ]
        if number is None:
            number = _case_number(found[0][5])
        return CaseProof(case=number, aggregate_id=str(oid), tree_size=size, root=root.hex(), events=events)


def _case_number(first_state: bytes) -> str | None:
    """The case number registered by an aggregate's first event, if it is a case."""
    try:
        event = decode_envelope(first_state).event
    except UNREADABLE:
        return None
    return event.number if isinstance(event, PetitionRegistered) else None
