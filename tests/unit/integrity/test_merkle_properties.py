"""Merkle tree properties, checked against the outside verifier of :mod:`support.rfc9162`.

That reference imports nothing from the ledger: it is the RFC text transcribed as directly as
possible, recursion and all, so a mistake shared by the production code and its tests would
have to be made twice, differently.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import rfc9162 as rfc

from ledger.merkle import (
    CompactRange,
    ProofError,
    consistency_keys,
    consistency_proof,
    inclusion_keys,
    inclusion_proof,
    root_at,
    root_keys,
    root_of,
    verify_consistency,
    verify_inclusion,
)

def _path_shape(m: int, n: int) -> list[bool]:
    """Which side each PATH(m, D[n]) element sits on (True: right), leaf to root."""
    if n == 1:
        return []
    k = rfc.split(n)
    if m < k:
        return _path_shape(m, k) + [True]
    return _path_shape(m - k, n - k) + [False]


# --- helpers ----------------------------------------------------------------------------------


def _leaves(size: int, salt: bytes = b"") -> list[bytes]:
    """Distinct leaf hashes, so that no proof can verify by a coincidence of equal subtrees."""
    return [rfc.HASH(b"\x00" + salt + i.to_bytes(4, "big")) for i in range(size)]


def _store(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    compact = CompactRange()
    nodes = {}
    for leaf in leaves:
        for level, index, value in compact.append(leaf):
            nodes[level, index] = value
    return nodes


def _perfect_keys(size: int) -> set[tuple[int, int]]:
    return {(level, i) for level in range(size.bit_length()) for i in range(size >> level)}


def _flip(value: bytes, bit: int) -> bytes:
    bit %= len(value) * 8
    flipped = bytearray(value)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


def _inclusion_ok(index, size, leaf, proof, root) -> bool:
    try:
        verify_inclusion(index, size, leaf, proof, root)
    except ProofError:
        return False
    return True


def _consistency_ok(old, new, old_root, new_root, proof) -> bool:
    try:
        verify_consistency(old, new, old_root, new_root, proof)
    except ProofError:
        return False
    return True


SMALL = 40
SMALL_LEAVES = _leaves(SMALL, b"small")
SMALL_NODES = _store(SMALL_LEAVES)

trees = st.tuples(st.integers(min_value=1, max_value=300), st.binary(max_size=8))


# --- exhaustive small trees -------------------------------------------------------------------


@pytest.mark.parametrize("size", range(0, 2 * SMALL + 1))
def test_root_of_equals_the_recursive_rfc_definition(size):
    leaves = _leaves(size, b"roots")
    assert root_of(leaves) == rfc.mth(leaves)


@pytest.mark.parametrize("size", range(1, SMALL + 1))
def test_every_inclusion_proof_of_a_small_tree_is_the_rfc_path_and_verifies(size):
    leaves = SMALL_LEAVES[:size]
    root = rfc.mth(leaves)
    assert root_at(size, SMALL_NODES) == root
    for index in range(size):
        proof = inclusion_proof(index, size, SMALL_NODES)
        assert proof == rfc.path(index, leaves)
        verify_inclusion(index, size, leaves[index], proof, root)
        assert rfc.verify_inclusion(index, size, leaves[index], proof, root)


@pytest.mark.parametrize("new", range(1, SMALL + 1))
def test_every_consistency_proof_of_a_small_tree_is_the_rfc_proof_and_verifies(new):
    leaves = SMALL_LEAVES[:new]
    new_root = rfc.mth(leaves)
    for old in range(1, new + 1):
        proof = consistency_proof(old, new, SMALL_NODES)
        assert proof == rfc.proof(old, leaves)
        old_root = rfc.mth(leaves[:old])
        verify_consistency(old, new, old_root, new_root, proof)
        if old < new:
            assert rfc.verify_consistency(old, new, old_root, new_root, proof)


# --- random trees -----------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(tree=trees, data=st.data())
def test_inclusion_proofs_of_random_trees_verify_and_any_tampering_fails(tree, data):
    total, salt = tree
    leaves = _leaves(total, salt)
    nodes = _store(leaves)
    size = data.draw(st.integers(min_value=1, max_value=total), label="size")
    root = root_at(size, nodes)
    assert root == rfc.mth(leaves[:size])
    for index in range(size):
        keys = inclusion_keys(index, size)
        assert keys <= _perfect_keys(size)
        assert len(keys) <= 2 * size.bit_length()
        proof = inclusion_proof(index, size, {key: nodes[key] for key in keys})
        verify_inclusion(index, size, leaves[index], proof, root)
        assert rfc.verify_inclusion(index, size, leaves[index], proof, root)

    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    leaf, proof = leaves[index], inclusion_proof(index, size, nodes)
    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
    assert not _inclusion_ok(index, size, _flip(leaf, bit), proof, root)
    assert not _inclusion_ok(index, size, leaf, proof, _flip(root, bit))
    if proof:
        at = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="at")
        tampered = proof[:at] + [_flip(proof[at], bit)] + proof[at + 1 :]
        assert not _inclusion_ok(index, size, leaf, tampered, root)
        assert not rfc.verify_inclusion(index, size, leaf, tampered, root)
        assert not _inclusion_ok(index, size, leaf, proof[:-1], root)
    assert not _inclusion_ok(index, size, leaf, proof + [root], root)

    other = data.draw(st.integers(min_value=0, max_value=2 * size), label="other")
    if other != index:
        assert not _inclusion_ok(other, size, leaf, proof, root)
        assert not rfc.verify_inclusion(other, size, leaf, proof, root)
    if other != size and index < other:
        # A path only fixes the leaf's position, so another size is caught exactly when it
        # would give the leaf a different path.
        same_shape = _path_shape(index, other) == _path_shape(index, size)
        assert _inclusion_ok(index, other, leaf, proof, root) == same_shape
        assert rfc.verify_inclusion(index, other, leaf, proof, root) == same_shape


@settings(max_examples=80, deadline=None)
@given(tree=trees, data=st.data())
def test_consistency_proofs_of_random_trees_verify_and_any_tampering_fails(tree, data):
    total, salt = tree
    leaves = _leaves(total, salt)
    nodes = _store(leaves)
    new = data.draw(st.integers(min_value=1, max_value=total), label="new")
    old = data.draw(st.integers(min_value=1, max_value=new), label="old")
    keys = consistency_keys(old, new)
    assert keys <= _perfect_keys(new)
    assert len(keys) <= 2 * new.bit_length()
    proof = consistency_proof(old, new, {key: nodes[key] for key in keys})
    old_root, new_root = root_at(old, nodes), root_at(new, nodes)
    assert proof == rfc.proof(old, leaves[:new])
    verify_consistency(old, new, old_root, new_root, proof)
    if old == new:
        assert proof == []
        return
    assert rfc.verify_consistency(old, new, old_root, new_root, proof)

    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
    at = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="at")
    tampered = proof[:at] + [_flip(proof[at], bit)] + proof[at + 1 :]
    assert not _consistency_ok(old, new, old_root, new_root, tampered)
    assert not rfc.verify_consistency(old, new, old_root, new_root, tampered)
    assert not _consistency_ok(old, new, _flip(old_root, bit), new_root, proof)
    assert not _consistency_ok(old, new, old_root, _flip(new_root, bit), proof)
    assert not _consistency_ok(old, new, new_root, old_root, proof)
    assert not _consistency_ok(old, new, old_root, new_root, proof[:-1])
    assert not _consistency_ok(old, new, old_root, new_root, proof + [new_root])

    other_old = data.draw(st.integers(min_value=0, max_value=2 * new), label="other_old")
    other_new = data.draw(st.integers(min_value=0, max_value=2 * new), label="other_new")
    for o, n in ((other_old, new), (old, other_new)):
        if (o, n) == (old, new):
            continue
        accepted = _consistency_ok(o, n, old_root, new_root, proof)
        if 0 < o < n:
            assert accepted == rfc.verify_consistency(o, n, old_root, new_root, proof)
            if len(rfc.proof(o, _leaves(n))) != len(proof):  # lengths depend on sizes only
                assert not accepted
        else:
            assert not accepted


@settings(max_examples=60, deadline=None)
@given(tree=st.tuples(st.integers(min_value=0, max_value=200), st.binary(max_size=8)))
def test_compact_range_roots_equal_root_of_for_every_prefix(tree):
    total, salt = tree
    leaves = _leaves(total, salt)
    compact = CompactRange()
    assert compact.root() == root_of([])
    for size, leaf in enumerate(leaves, start=1):
        compact.append(leaf)
        assert compact.size == size
        assert compact.root() == root_of(leaves[:size])
    assert compact.root() == rfc.mth(leaves)


@settings(max_examples=60, deadline=None)
@given(tree=trees, data=st.data())
def test_appended_nodes_are_exactly_the_perfect_subtrees_with_their_rfc_hashes(tree, data):
    total, salt = tree
    leaves = _leaves(total, salt)
    compact = CompactRange()
    produced = {}
    for i, leaf in enumerate(leaves):
        completed = compact.append(leaf)
        assert completed[0] == (0, i, leaf)
        for level, index, value in completed:
            assert (level, index) not in produced
            assert value == rfc.mth(leaves[index << level : (index + 1) << level])
            produced[level, index] = value
    assert set(produced) == _perfect_keys(total)

    resume_at = data.draw(st.integers(min_value=0, max_value=total), label="resume_at")
    assert set(root_keys(resume_at)) <= _perfect_keys(resume_at)
    resumed = CompactRange.from_nodes(resume_at, produced)
    assert resumed.size == resume_at
    for i in range(resume_at, total):
        for level, index, value in resumed.append(leaves[i]):
            assert produced[level, index] == value
    assert resumed.root() == compact.root()


# --- edges ------------------------------------------------------------------------------------


def test_a_proof_is_not_built_for_a_leaf_beyond_the_tree():
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(5, 5, SMALL_NODES)
    with pytest.raises(ValueError, match="outside"):
        inclusion_keys(-1, 5)


def test_a_consistency_proof_is_not_built_from_the_empty_tree_or_backwards():
    with pytest.raises(ValueError):
        consistency_keys(0, 5)
    with pytest.raises(ValueError):
        consistency_proof(6, 5, SMALL_NODES)
    assert consistency_proof(5, 5, SMALL_NODES) == []


def test_a_flipped_bit_in_the_path_fails_inclusion():
    root = root_at(13, SMALL_NODES)
    proof = inclusion_proof(6, 13, SMALL_NODES)
    with pytest.raises(ProofError, match="does not lead to the root"):
        verify_inclusion(6, 13, SMALL_LEAVES[6], [proof[0], _flip(proof[1], 77), *proof[2:]], root)


def test_hashes_of_the_wrong_length_are_refused_before_any_hashing():
    root = root_at(13, SMALL_NODES)
    proof = inclusion_proof(6, 13, SMALL_NODES)
    with pytest.raises(ProofError, match=r"proof\[1\] is 31 bytes"):
        verify_inclusion(6, 13, SMALL_LEAVES[6], [proof[0], proof[1][:31], *proof[2:]], root)
    with pytest.raises(ProofError, match="leaf hash is 33 bytes"):
        verify_inclusion(6, 13, SMALL_LEAVES[6] + b"\x00", proof, root)
    old_root = root_at(3, SMALL_NODES)
    with pytest.raises(ProofError, match="new root is 0 bytes"):
        verify_consistency(3, 13, old_root, b"", consistency_proof(3, 13, SMALL_NODES))


def test_a_proof_of_the_wrong_length_is_named_as_such():
    root = root_at(13, SMALL_NODES)
    proof = inclusion_proof(6, 13, SMALL_NODES)
    with pytest.raises(ProofError, match="too few"):
        verify_inclusion(6, 13, SMALL_LEAVES[6], proof[:-1], root)
    with pytest.raises(ProofError, match="too many"):
        verify_inclusion(6, 13, SMALL_LEAVES[6], proof + [root], root)


def test_a_shrinking_or_forked_history_fails_consistency():
    old_root, new_root = root_at(7, SMALL_NODES), root_at(13, SMALL_NODES)
    proof = consistency_proof(7, 13, SMALL_NODES)
    with pytest.raises(ProofError, match="went down"):
        verify_consistency(13, 7, new_root, old_root, proof)
    forked = rfc.mth(SMALL_LEAVES[:6] + [rfc.HASH(b"rewritten")])
    with pytest.raises(ProofError, match="root of size 7"):
        verify_consistency(7, 13, forked, new_root, proof)
    with pytest.raises(ProofError, match="different roots"):
        verify_consistency(7, 7, old_root, forked, [])


def test_a_compact_range_refuses_a_leaf_hash_of_the_wrong_length():
    with pytest.raises(ValueError, match="31 bytes"):
        CompactRange().append(b"\x00" * 31)


def test_a_compact_range_refuses_stored_nodes_of_the_wrong_length():
    nodes = dict(SMALL_NODES)
    nodes[2, 0] = b"short"
    with pytest.raises(ValueError, match=r"node \(2, 0\)"):
        CompactRange.from_nodes(5, nodes)
