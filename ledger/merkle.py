"""RFC 9162 Merkle tree (SHA-256) over the ledger's leaves, stored as perfect subtrees.

The database keeps the hash of every *perfect* subtree, keyed ``(level, index)``: level 0 holds
the leaf hashes and node ``(level, i)`` covers leaves ``[i·2^level, (i+1)·2^level)``. Those hashes
never change once written, so they can be inserted in the same transaction as the events. A
subtree that is not perfect (the right edge of a tree whose size is not a power of two) is
composed on demand from at most log2(n) perfect ones; every root and proof is therefore built
from O(log n) stored nodes that the caller fetches in a single query, planned by the ``*_keys``
functions below.
"""

from collections.abc import Iterable, Mapping, Sequence
from hashlib import sha256

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "Key",
    "ProofError",
    "consistency_keys",
    "consistency_proof",
    "inclusion_keys",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_at",
    "root_keys",
    "root_of",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

Key = tuple[int, int]
"""``(level, index)`` of a perfect subtree."""

Span = tuple[int, int]


class ProofError(ValueError):
    """A proof does not establish what it claims; the message says which check failed."""


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 ‖ data)``: the prefix keeps a leaf from passing for an inner node."""
    return sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 ‖ left ‖ right)``."""
    return sha256(_NODE_PREFIX + left + right).digest()


def _span_keys(start: int, end: int) -> list[Key]:
    """Perfect subtrees that tile the leaves ``[start, end)``, largest first.

    Every span of the RFC 9162 recursion starts at a multiple of the largest power of two not
    above its length, so the greedy tiling lands on aligned, stored nodes.
    """
    keys = []
    while start < end:
        level = (end - start).bit_length() - 1
        keys.append((level, start >> level))
        start += 1 << level
    return keys


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Root of perfect subtrees listed largest first, as RFC 9162 pairs them: right to left."""
    root = hashes[-1]
    for i in range(len(hashes) - 2, -1, -1):
        root = sha256(_NODE_PREFIX + hashes[i] + root).digest()
    return root


def _span_hash(span: Span, nodes: Mapping[Key, bytes]) -> bytes:
    return _fold([nodes[key] for key in _span_keys(*span)])


def _keys_of(spans: Iterable[Span]) -> set[Key]:
    return {key for span in spans for key in _span_keys(*span)}


def _inclusion_spans(index: int, size: int) -> list[Span]:
    """RFC 9162 §2.1.3.1 ``PATH(index, D[0:size])`` as leaf spans, leaf to root."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    spans = []
    start, end = 0, size
    while end - start > 1:
        mid = start + (1 << ((end - start - 1).bit_length() - 1))
        if index < mid:
            spans.append((mid, end))
            end = mid
        else:
            spans.append((start, mid))
            start = mid
    spans.reverse()
    return spans


def _consistency_spans(old: int, new: int) -> list[Span]:
    """RFC 9162 §2.1.4.1 ``PROOF(old, D[0:new])`` = ``SUBPROOF(old, D[0:new], true)`` as spans.

    ``known`` is the RFC's flag b: the current subtree is exactly the old tree, whose root the
    verifier already holds, so it is left out of the proof.
    """
    if not 0 < old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    spans = []
    start, end, known = 0, new, True
    while old != end:
        mid = start + (1 << ((end - start - 1).bit_length() - 1))
        if old <= mid:
            spans.append((mid, end))
            end = mid
        else:
            spans.append((start, mid))
            start = mid
            known = False
    if not known:
        spans.append((start, end))
    spans.reverse()
    return spans


def root_keys(size: int) -> list[Key]:
    """Nodes needed for the root of the first ``size`` leaves (also the right edge of that tree)."""
    if size < 0:
        raise ValueError(f"tree size {size} is negative")
    return _span_keys(0, size)


def inclusion_keys(index: int, size: int) -> set[Key]:
    """Nodes needed by :func:`inclusion_proof`: O(log size), one query's worth."""
    return _keys_of(_inclusion_spans(index, size))


def consistency_keys(old: int, new: int) -> set[Key]:
    """Nodes needed by :func:`consistency_proof`: O(log new), one query's worth."""
    return _keys_of(_consistency_spans(old, new))


def root_at(size: int, nodes: Mapping[Key, bytes]) -> bytes:
    """Root of the first ``size`` leaves, from the nodes named by :func:`root_keys`."""
    keys = root_keys(size)
    return _fold([nodes[key] for key in keys]) if keys else EMPTY_ROOT


def inclusion_proof(index: int, size: int, nodes: Mapping[Key, bytes]) -> list[bytes]:
    """Audit path of leaf ``index`` in the tree of ``size`` leaves, leaf to root (RFC 9162)."""
    return [_span_hash(span, nodes) for span in _inclusion_spans(index, size)]


def consistency_proof(old: int, new: int, nodes: Mapping[Key, bytes]) -> list[bytes]:
    """Proof that the tree of ``new`` leaves extends the tree of ``old`` leaves (RFC 9162).

    Empty when ``old == new``; a proof from the empty tree is refused because it proves nothing.
    """
    return [_span_hash(span, nodes) for span in _consistency_spans(old, new)]


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """RFC 9162 ``MTH`` of the given leaf hashes, computed level by level.

    Pairing neighbours and carrying an odd last node up unchanged gives the same tree as the
    RFC's split at the largest power of two, without recursion or slicing.
    """
    level = list(leaf_hashes)
    if not level:
        return EMPTY_ROOT
    prefix = _NODE_PREFIX
    while len(level) > 1:
        odd = level[-1] if len(level) & 1 else None
        pairs = iter(level)
        level = [sha256(prefix + left + right).digest() for left, right in zip(pairs, pairs)]
        if odd is not None:
            level.append(odd)
    return level[0]


class CompactRange:
    """The right edge of a growing tree: roots of its perfect subtrees, largest first.

    It is all a writer needs to append leaves and know the current root, so the writer keeps
    O(log n) hashes in memory instead of reading the tree back.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @classmethod
    def from_nodes(cls, size: int, nodes: Mapping[Key, bytes]) -> "CompactRange":
        """Resume a tree of ``size`` leaves from the stored nodes named by :func:`root_keys`."""
        compact = cls()
        for key in root_keys(size):
            value = nodes[key]
            if len(value) != HASH_SIZE:
                raise ValueError(f"node {key} is {len(value)} bytes, not {HASH_SIZE}")
            compact._hashes.append(value)
        compact._size = size
        return compact

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf; return every node it completes as ``(level, index, hash)``, leaf first.

        Leaf ``i`` completes one node per trailing one-bit of ``i``: each merges the last
        pending subtree with the new one.
        """
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf hash is {len(leaf_hash)} bytes, not {HASH_SIZE}")
        index = self._size
        self._size = index + 1
        hashes = self._hashes
        completed = [(0, index, leaf_hash)]
        level = 0
        node = leaf_hash
        while index & 1:
            node = sha256(_NODE_PREFIX + hashes.pop() + node).digest()
            index >>= 1
            level += 1
            completed.append((level, index, node))
        hashes.append(node)
        return completed

    def root(self) -> bytes:
        return _fold(self._hashes) if self._hashes else EMPTY_ROOT


def _require_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, not {HASH_SIZE}")


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    RFC 9162 §2.1.3.2. Raises :class:`ProofError`; returns nothing on success.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    _require_hash("leaf hash", leaf_hash)
    _require_hash("root", root)
    for i, sibling in enumerate(proof):
        _require_hash(f"proof[{i}]", sibling)
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError(f"inclusion proof for leaf {index} of {size} has too many hashes")
        if fn & 1 or fn == sn:
            r = sha256(_NODE_PREFIX + p + r).digest()
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = sha256(_NODE_PREFIX + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"inclusion proof for leaf {index} of {size} has too few hashes")
    if r != root:
        raise ProofError(f"inclusion proof for leaf {index} of {size} does not lead to the root")


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``new`` leaves with ``new_root`` extends the one of ``old`` leaves.

    RFC 9162 §2.1.4.2, with the edge cases of the transparency-dev reference verifier: a proof
    from size 0 is refused (it proves nothing, a witness simply accepts its first checkpoint),
    and equal sizes need an empty proof and identical roots. Raises :class:`ProofError`.
    """
    if old > new:
        raise ProofError(f"tree size went down from {old} to {new}")
    if old <= 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if old == new:
        if proof:
            raise ProofError(f"trees of equal size {old} need an empty proof, got {len(proof)}")
        if old_root != new_root:
            raise ProofError(f"two different roots for the same size {old}")
        return
    _require_hash("old root", old_root)
    _require_hash("new root", new_root)
    for i, node in enumerate(proof):
        _require_hash(f"proof[{i}]", node)
    if not proof:
        raise ProofError(f"consistency proof from {old} to {new} is empty")
    path = [old_root, *proof] if old & (old - 1) == 0 else proof
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"consistency proof from {old} to {new} has too many hashes")
        if fn & 1 or fn == sn:
            fr = sha256(_NODE_PREFIX + c + fr).digest()
            sr = sha256(_NODE_PREFIX + c + sr).digest()
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = sha256(_NODE_PREFIX + sr + c).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"consistency proof from {old} to {new} has too few hashes")
    if fr != old_root:
        raise ProofError(f"consistency proof does not lead to the root of size {old}")
    if sr != new_root:
        raise ProofError(f"consistency proof does not lead to the root of size {new}")
