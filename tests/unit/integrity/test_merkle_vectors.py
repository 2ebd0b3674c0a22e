"""Published RFC 6962 / RFC 9162 vectors (transparency-dev/merkle), golden probes included."""

import json
from pathlib import Path

import pytest

from ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    consistency_keys,
    consistency_proof,
    inclusion_keys,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_at,
    root_keys,
    root_of,
    verify_consistency,
    verify_inclusion,
)

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "data" / "rfc9162.json").read_text(encoding="utf-8")
)
LEAVES = [bytes.fromhex(leaf) for leaf in VECTORS["leaves"]]


def _hexes(values):
    return [bytes.fromhex(value) for value in values]


def _nodes_for(leaves):
    """Every perfect node of the tree over ``leaves``, as the database layer would store them."""
    compact = CompactRange()
    nodes = {}
    for leaf in leaves:
        for level, index, value in compact.append(leaf_hash(leaf)):
            nodes[level, index] = value
    return nodes


NODES = _nodes_for(LEAVES)


def _probe_id(probe):
    return probe["file"].removeprefix("testdata/").removesuffix(".json")


def test_the_leaf_hash_of_empty_data_matches_the_known_answer():
    kat = VECTORS["hasher_kats"]["leaf_hash_of_empty"]
    assert leaf_hash(bytes.fromhex(kat["leaf_hex"])).hex() == kat["want"]


def test_the_leaf_hash_matches_the_known_answer():
    kat = VECTORS["hasher_kats"]["leaf_hash"]
    assert leaf_hash(bytes.fromhex(kat["leaf_hex"])).hex() == kat["want"]


def test_the_node_hash_matches_the_known_answer():
    kat = VECTORS["hasher_kats"]["node_hash"]
    left, right = bytes.fromhex(kat["left_hex"]), bytes.fromhex(kat["right_hex"])
    assert node_hash(left, right).hex() == kat["want"]


def test_the_empty_tree_root_is_the_hash_of_nothing_everywhere():
    want = VECTORS["hasher_kats"]["empty_tree_root"]["want"]
    assert EMPTY_ROOT.hex() == want
    assert root_of([]).hex() == want
    assert CompactRange().root().hex() == want
    assert root_at(0, {}).hex() == want


@pytest.mark.parametrize("size", sorted(int(size) for size in VECTORS["roots_by_size"]))
def test_every_published_root_is_reproduced_by_each_way_of_computing_it(size):
    want = VECTORS["roots_by_size"][str(size)]
    hashes = [leaf_hash(leaf) for leaf in LEAVES[:size]]
    compact = CompactRange()
    for value in hashes:
        compact.append(value)
    assert root_of(hashes).hex() == want
    assert compact.root().hex() == want
    assert root_at(size, {key: NODES[key] for key in root_keys(size)}).hex() == want
    assert CompactRange.from_nodes(size, NODES).root().hex() == want


def test_every_published_perfect_node_is_produced_by_appending_the_leaves():
    for level, hashes in enumerate(VECTORS["node_hashes_by_level"]):
        for index, want in enumerate(hashes):
            assert NODES[level, index].hex() == want
    assert len(NODES) == sum(len(hashes) for hashes in VECTORS["node_hashes_by_level"])


@pytest.mark.parametrize(
    "case", VECTORS["inclusion"], ids=lambda c: f"leaf{c['leaf_index']}-of-{c['tree_size']}"
)
def test_every_published_inclusion_proof_is_built_and_verified(case):
    index, size = case["leaf_index"], case["tree_size"]
    keys = inclusion_keys(index, size)
    proof = inclusion_proof(index, size, {key: NODES[key] for key in keys})
    assert [value.hex() for value in proof] == case["path"]
    leaf = leaf_hash(bytes.fromhex(case["leaf_hex"]))
    verify_inclusion(index, size, leaf, proof, bytes.fromhex(case["root"]))


@pytest.mark.parametrize(
    "case", VECTORS["consistency"], ids=lambda c: f"{c['size1']}-to-{c['size2']}"
)
def test_every_published_consistency_proof_is_built_and_verified(case):
    old, new = case["size1"], case["size2"]
    keys = consistency_keys(old, new)
    proof = consistency_proof(old, new, {key: NODES[key] for key in keys})
    assert [value.hex() for value in proof] == case["path"]
    verify_consistency(old, new, bytes.fromhex(case["root1"]), bytes.fromhex(case["root2"]), proof)


@pytest.mark.parametrize("probe", VECTORS["inclusion_probes"], ids=_probe_id)
def test_every_inclusion_probe_is_judged_as_upstream_expects(probe):
    args = (
        probe["leafIdx"],
        probe["treeSize"],
        bytes.fromhex(probe["leafHash"]),
        _hexes(probe["proof"]),
        bytes.fromhex(probe["root"]),
    )
    if probe["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("probe", VECTORS["consistency_probes"], ids=_probe_id)
def test_every_consistency_probe_is_judged_as_upstream_expects(probe):
    args = (
        probe["size1"],
        probe["size2"],
        bytes.fromhex(probe["root1"]),
        bytes.fromhex(probe["root2"]),
        _hexes(probe["proof"]),
    )
    if probe["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_the_vectors_cover_both_outcomes_of_the_probes():
    probes = VECTORS["inclusion_probes"] + VECTORS["consistency_probes"]
    assert len(probes) == VECTORS["cross_check"]["probes_total"]
    assert {probe["wantErr"] for probe in probes} == {True, False}
