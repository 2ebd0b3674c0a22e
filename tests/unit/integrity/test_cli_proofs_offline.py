"""Proofs printed by ``xinfang proof`` check out with a separate, minimal RFC 9162 verifier.

The verifier below is written from the text of RFC 9162 (§2.1.1 MTH, §2.1.3.2 verifying an
inclusion proof, §2.1.4.2 verifying a consistency proof) and C2SP signed-note, and imports
nothing from the production code: if both had the same misreading of the RFC, the expected
roots, computed here from the raw leaves by the RFC's recursive definition, would still differ.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from collections.abc import Iterator
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from support.tamper import build_county

from ledger.cli import main
from ledger.integrity.keys import create_key

# ── RFC 9162, by the letter ──────────────────────────────────────────────────


def HASH(data: bytes) -> bytes:  # noqa: N802 (the RFC's name)
    return sha256(data).digest()


def MTH(D: list[bytes]) -> bytes:  # noqa: N802, N803
    """§2.1.1: MTH({}) = HASH(); MTH({d(0)}) = HASH(0x00 || d(0));
    MTH(D_n) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])), k the largest power of two < n."""
    n = len(D)
    if n == 0:
        return HASH(b"")
    if n == 1:
        return HASH(b"\x00" + D[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return HASH(b"\x01" + MTH(D[:k]) + MTH(D[k:]))


def LSB(x: int) -> int:  # noqa: N802
    return x & 1


def verify_inclusion(leaf_index: int, tree_size: int, hash_: bytes, inclusion_path: list[bytes],
                     root_hash: bytes) -> bool:
    """§2.1.3.2."""
    if leaf_index >= tree_size:  # 1
        return False
    fn, sn = leaf_index, tree_size - 1  # 2
    r = hash_  # 3
    for p in inclusion_path:  # 4
        if sn == 0:  # a
            return False
        if LSB(fn) or fn == sn:  # b
            r = HASH(b"\x01" + p + r)  # i
            if not LSB(fn):  # ii
                while not (LSB(fn) or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = HASH(b"\x01" + r + p)  # i
        fn >>= 1  # c
        sn >>= 1
    return sn == 0 and r == root_hash  # 5


def verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes,
                       consistency_path: list[bytes]) -> bool:
    """§2.1.4.2 (first == second needs no proof: equal roots and an empty path)."""
    if first == second:
        return not consistency_path and first_hash == second_hash
    if not consistency_path:  # 1
        return False
    if first & (first - 1) == 0:  # 2: first is an exact power of 2
        consistency_path = [first_hash, *consistency_path]
    fn, sn = first - 1, second - 1  # 3
    if LSB(fn):  # 4
        while LSB(fn):
            fn >>= 1
            sn >>= 1
    fr = sr = consistency_path[0]  # 5
    for c in consistency_path[1:]:  # 6
        if sn == 0:  # a
            return False
        if LSB(fn) or fn == sn:  # b
            fr = HASH(b"\x01" + c + fr)  # i
            sr = HASH(b"\x01" + c + sr)  # ii
            if not LSB(fn):  # iii
                while not (LSB(fn) or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = HASH(b"\x01" + sr + c)  # i
        fn >>= 1  # c
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0  # 7


def open_checkpoint(text: str, verifier_key: str) -> tuple[str, int, bytes]:
    """C2SP signed-note + tlog-checkpoint: check the Ed25519 signature of the key named in the
    verifier key (key ID = SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key)[:4]) over the note text up to
    and including the blank line's first newline; return (origin, size, root)."""
    name, key_id, key_b64 = verifier_key.split("+", 2)
    raw = base64.b64decode(key_b64)
    assert raw[0] == 1 and len(raw) == 33
    assert sha256(name.encode() + b"\n" + raw).digest()[:4].hex() == key_id
    body, _, signatures = text.partition("\n\n")
    body += "\n"
    found = False
    for line in signatures.splitlines():
        assert line.startswith("\u2014 ")
        signer, encoded = line[2:].split(" ")
        signature = base64.b64decode(encoded)
        if signer == name and signature[:4].hex() == key_id:
            Ed25519PublicKey.from_public_bytes(raw[1:]).verify(signature[4:], body.encode())
            found = True
    assert found, "no signature by the verifier key"
    origin, size, root = body.splitlines()
    assert origin == name
    return origin, int(size), base64.b64decode(root)


# ── the ledger and its CLI ───────────────────────────────────────────────────


@pytest.fixture(scope="module")
def ledger_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, list[bytes]]]:
    directory = tmp_path_factory.mktemp("offline")
    url = f"sqlite:///{directory}/ledger.sqlite3"
    build_county(url)
    key = directory / "ledger.key"
    create_key(key)
    with sqlite3.connect(directory / "ledger.sqlite3") as db:
        leaves = [bytes(r[0]) for r in db.execute("SELECT leaf FROM ledger_leaves ORDER BY seq")]
    yield url, key, leaves


def cli(url: str, key: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--db", url, "--operator", "ops-1", *args], env={**os.environ, "XINFANG_KEY_FILE": str(key)},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def proof(url: str, key: Path, *args: str) -> dict[str, Any]:
    return json.loads(cli(url, key, "proof", *args))


def test_inclusion_proofs_verify_offline(ledger_file: tuple[str, Path, list[bytes]]) -> None:
    url, key, leaves = ledger_file
    n = len(leaves)
    assert n == 22
    for seq, size in [(0, 1), (0, n), (5, 8), (7, 8), (8, 9), (12, 13), (13, 16), (20, 21), (21, n), (9, 17)]:
        printed = proof(url, key, "--seq", str(seq), "--size", str(size))
        assert set(printed) == {"tree_size", "leaf_index", "leaf", "leaf_hash", "path", "root"}
        assert (printed["tree_size"], printed["leaf_index"]) == (size, seq)
        leaf = base64.b64decode(printed["leaf"])
        assert leaf == leaves[seq]
        assert bytes.fromhex(printed["leaf_hash"]) == HASH(b"\x00" + leaf)
        root = bytes.fromhex(printed["root"])
        assert root == MTH(leaves[:size])
        path = [bytes.fromhex(h) for h in printed["path"]]
        assert verify_inclusion(seq, size, HASH(b"\x00" + leaf), path, root)
        assert not verify_inclusion(seq, size, HASH(b"\x00" + leaf + b" "), path, root)
    default = proof(url, key, "--seq", "3")
    assert default["tree_size"] == n and bytes.fromhex(default["root"]) == MTH(leaves)


def test_consistency_proofs_verify_offline(ledger_file: tuple[str, Path, list[bytes]]) -> None:
    url, key, leaves = ledger_file
    n = len(leaves)
    for old, new in [(1, 2), (1, n), (3, 7), (4, 8), (5, 16), (8, 22), (13, 21), (16, 22), (21, 22), (22, 22)]:
        printed = proof(url, key, "--from", str(old), "--to", str(new))
        assert set(printed) == {"old_size", "new_size", "old_root", "new_root", "path"}
        old_root, new_root = bytes.fromhex(printed["old_root"]), bytes.fromhex(printed["new_root"])
        assert old_root == MTH(leaves[:old]) and new_root == MTH(leaves[:new])
        path = [bytes.fromhex(h) for h in printed["path"]]
        assert verify_consistency(old, new, old_root, new_root, path), (old, new)
        if path:
            assert not verify_consistency(old, new, old_root, new_root, path[:-1])
    to_now = proof(url, key, "--from", "6")
    assert to_now["new_size"] == n


def test_a_case_proof_and_a_signed_checkpoint_check_out_offline(ledger_file: tuple[str, Path, list[bytes]]) -> None:
    url, key, leaves = ledger_file
    verifier = cli(url, key, "checkpoint", "--verifier-key").strip()
    origin, size, root = open_checkpoint(cli(url, key, "checkpoint"), verifier)
    assert origin.startswith("xinfang-ledger/") and size == len(leaves) and root == MTH(leaves)
    case = proof(url, key, "--case", "2021-000002")
    assert case["case"] == "2021-000002" and case["tree_size"] == size
    assert bytes.fromhex(case["root"]) == root
    prev = "0" * 64
    for version, event in enumerate(case["events"], start=1):
        leaf = base64.b64decode(event["proof"]["leaf"])
        fields = json.loads(leaf)
        assert fields["version"] == event["version"] == version
        assert fields["prev"] == prev, "the case's events form one unbroken chain"
        assert fields["payload_sha256"] == sha256(base64.b64decode(event["payload"])).hexdigest()
        assert json.loads(base64.b64decode(event["payload"]))["recorded_at"] == fields["recorded_at"]
        hashed = HASH(b"\x00" + leaf)
        assert verify_inclusion(fields["seq"], size, hashed, [bytes.fromhex(h) for h in event["proof"]["path"]], root)
        prev = hashed.hex()
    assert [e["proof"]["leaf_index"] for e in case["events"]] == list(range(13, 19))
