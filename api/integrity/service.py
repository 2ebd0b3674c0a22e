"""Proofs and checkpoints for the API, from the stored tree (RFC 9162) and the ledger's key.

Built on :mod:`ledger.integrity.merkle` (proof planning over stored perfect subtrees: one node
query per proof) and :mod:`ledger.integrity.note` (C2SP signed notes). When the core's proof
service (``ledger.integrity.proofs``) provides the same operations, this module is where the API
switches to it.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.problems import ApiProblem
from ledger.application import Ledger
from ledger.errors import LedgerError
from ledger.integrity import merkle, note
from ledger.integrity.keys import key_path, load_key
from ledger.store import LedgerReader

ORIGIN = "xinfang-ledger"
"""Checkpoint origin and key name when the core does not name them."""


class InclusionProof(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 9162 inclusion proof of one leaf: hashes in hex, path from the leaf up."""

    seq: int
    tree_size: int
    leaf: str
    """The leaf bytes (canonical JSON) whose hash is ``leaf_hash``: SHA-256(0x00 ‖ leaf)."""
    leaf_hash: str
    path: list[str]
    root: str


class CaseProof(msgspec.Struct, frozen=True, kw_only=True):
    """Every event of one case proven against one tree size."""

    number: str
    tree_size: int
    root: str
    events: list[InclusionProof]


class ConsistencyProof(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 9162 consistency proof: the tree of ``new_size`` leaves extends that of ``old_size``."""

    old_size: int
    new_size: int
    old_root: str
    new_root: str
    path: list[str]


def bad(detail: str) -> ApiProblem:
    return ApiProblem("malformed-request", detail, code="invalid_tree_size")


class Integrity:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.reader: LedgerReader = ledger.recorder  # type: ignore[assignment]
        self._key: Ed25519PrivateKey | None = None

    def tree_size(self) -> int:
        return self.reader.tree_size()

    def _size(self, size: int | None) -> int:
        current = self.tree_size()
        if size is None:
            return current
        if size > current:
            raise bad(f"树大小 {size} 超过账本当前大小 {current}")
        return size

    def root(self, size: int) -> bytes:
        return merkle.root_at(size, self.reader.get_nodes(merkle.root_keys(size)))

    def inclusion(self, seq: int, size: int | None = None) -> InclusionProof:
        size = self._size(size)
        if seq >= size:
            raise bad(f"序号 {seq} 不在大小为 {size} 的树中（序号从 0 起）")
        rows = self.reader.select_leaves(seq, 1)
        if not rows or rows[0].seq != seq:
            raise ApiProblem("not-found", f"没有序号为 {seq} 的事件", code="unknown_seq")
        keys = merkle.inclusion_keys(seq, size) | set(merkle.root_keys(size))
        nodes = self.reader.get_nodes(keys)
        path = merkle.inclusion_proof(seq, size, nodes)
        return InclusionProof(seq=seq, tree_size=size, leaf=rows[0].leaf.decode(), leaf_hash=rows[0].leaf_hash.hex(),
                              path=[h.hex() for h in path], root=merkle.root_at(size, nodes).hex())

    def case_proof(self, seqs: list[int], number: str, size: int | None = None) -> CaseProof:
        size = self._size(size)
        proofs = [self.inclusion(seq, size) for seq in seqs if seq < size]
        return CaseProof(number=number, tree_size=size, root=self.root(size).hex(), events=proofs)

    def consistency(self, old: int, new: int | None = None) -> ConsistencyProof:
        new = self._size(new)
        if old < 1 or old > new:
            raise bad(f"一致性证明需要 1 ≤ old（{old}）≤ new（{new}）")
        keys = merkle.consistency_keys(old, new) | set(merkle.root_keys(old)) | set(merkle.root_keys(new))
        nodes = self.reader.get_nodes(keys)
        return ConsistencyProof(old_size=old, new_size=new, old_root=merkle.root_at(old, nodes).hex(),
                                new_root=merkle.root_at(new, nodes).hex(),
                                path=[h.hex() for h in merkle.consistency_proof(old, new, nodes)])

    # ── checkpoints ──────────────────────────────────────────────────────────

    def _signing_key(self) -> Ed25519PrivateKey:
        if self._key is None:
            path: Path = key_path(self.ledger.url)
            try:
                self._key = load_key(path)
            except LedgerError as exc:
                raise ApiProblem("not-found", f"账本尚无签名密钥：{exc.message}", code="no_signing_key") from exc
        return self._key

    def verifier_key(self) -> str:
        return note.verifier_key(ORIGIN, self._signing_key().public_key())

    def checkpoint(self) -> str:
        """A signed checkpoint (C2SP tlog-checkpoint) of the tree as it is now."""
        key = self._signing_key()
        size = self.tree_size()
        body = note.format_checkpoint(note.Checkpoint(origin=ORIGIN, size=size, root=self.root(size)))
        return note.sign_note(body, ORIGIN, key)
