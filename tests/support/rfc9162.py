"""An outside verifier, written from the texts of RFC 9162 §2.1 and C2SP signed-note/tlog-checkpoint.

It imports nothing from the ledger: its own SHA-256 leaf and node hashing, the recursive
definitions (MTH §2.1.1, PATH §2.1.3.1, PROOF §2.1.4.1) and the two verification procedures
(§2.1.3.2, §2.1.4.2) transcribed step by step, so a misreading shared with the production code
would have to be made twice, differently. The ``check_*`` functions read the ledger's proof
payloads (as documented in the README: hex everywhere, RFC 9162 field names) the way a
verifier in another language would, and fail with an ``AssertionError`` naming what is wrong.
The same functions check what the CLI prints and what the HTTP API answers.
"""

from __future__ import annotations

import base64
import json
from hashlib import sha256
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ZERO = "0" * 64

# ── RFC 9162 §2.1, by the letter ─────────────────────────────────────────────


def HASH(data: bytes) -> bytes:  # noqa: N802 (the RFC's name)
    return sha256(data).digest()


def leaf_hash(leaf: bytes) -> bytes:
    """§2.1.1: MTH({d(0)}) = HASH(0x00 || d(0))."""
    return HASH(b"\x00" + leaf)


def split(n: int) -> int:
    """k of §2.1.1: the largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(hashes: list[bytes]) -> bytes:
    """§2.1.1 MTH over the leaf hashes ``HASH(0x00 || d(i))``: HASH() for none,
    HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])) above one."""
    n = len(hashes)
    if n == 0:
        return HASH(b"")
    if n == 1:
        return hashes[0]
    k = split(n)
    return HASH(b"\x01" + mth(hashes[:k]) + mth(hashes[k:]))


def MTH(leaves: list[bytes]) -> bytes:  # noqa: N802, N803
    """§2.1.1 MTH(D[n]) over the leaves themselves."""
    return mth([leaf_hash(d) for d in leaves])


def path(m: int, hashes: list[bytes]) -> list[bytes]:
    """§2.1.3.1 PATH(m, D[n]) (over leaf hashes)."""
    n = len(hashes)
    if n == 1:
        return []
    k = split(n)
    if m < k:
        return path(m, hashes[:k]) + [mth(hashes[k:])]
    return path(m - k, hashes[k:]) + [mth(hashes[:k])]


def _subproof(m: int, hashes: list[bytes], b: bool) -> list[bytes]:
    """§2.1.4.1 SUBPROOF(m, D[n], b)."""
    n = len(hashes)
    if m == n:
        return [] if b else [mth(hashes)]
    k = split(n)
    if m <= k:
        return _subproof(m, hashes[:k], b) + [mth(hashes[k:])]
    return _subproof(m - k, hashes[k:], False) + [mth(hashes[:k])]


def proof(m: int, hashes: list[bytes]) -> list[bytes]:
    """§2.1.4.1 PROOF(m, D[n]) (over leaf hashes)."""
    return _subproof(m, hashes, True)


def LSB(x: int) -> int:  # noqa: N802
    return x & 1


def verify_inclusion(leaf_index: int, tree_size: int, hash_: bytes, inclusion_path: list[bytes],
                     root_hash: bytes) -> bool:
    """§2.1.3.2, step by step."""
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
    """§2.1.4.2, step by step (first == second needs no proof: equal roots and an empty path)."""
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


# ── C2SP signed note + tlog-checkpoint ───────────────────────────────────────


def open_checkpoint(text: str, verifier_key: str) -> tuple[str, int, bytes]:
    """Check the Ed25519 signature of the key named in the verifier key (key ID =
    SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key)[:4]) over the note text up to and including the
    blank line's first newline; return (origin, size, root)."""
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


# ── the ledger's proof payloads ──────────────────────────────────────────────

INCLUSION_FIELDS = {"leaf_index", "tree_size", "leaf", "leaf_hash", "inclusion_path", "root_hash"}
CONSISTENCY_FIELDS = {"first", "second", "first_hash", "second_hash", "consistency_path"}
CASE_FIELDS = {"case", "aggregate_id", "tree_size", "root_hash", "events"}
LEAF_FIELDS = {"seq", "aggregate_id", "version", "type", "recorded_at", "actor", "payload_sha256", "prev"}


def _hex(value: Any, size: int | None = 32) -> bytes:
    assert isinstance(value, str) and value == value.lower(), f"not lowercase hex: {value!r}"
    data = bytes.fromhex(value)
    assert size is None or len(data) == size, f"{value!r} is not {size} bytes"
    return data


def check_inclusion(printed: dict[str, Any], trusted_root: bytes | None = None) -> dict[str, Any]:
    """Verify an inclusion proof from the leaf bytes up; return the leaf's fields.

    The leaf is hashed here (the ``leaf_hash`` given must agree), the path is walked by §2.1.3.2
    to ``root_hash`` and, when given, to a root the verifier trusts (a signed checkpoint's).
    """
    assert set(printed) == INCLUSION_FIELDS, sorted(printed)
    leaf = _hex(printed["leaf"], None)
    hashed = leaf_hash(leaf)
    assert _hex(printed["leaf_hash"]) == hashed, "leaf_hash is not SHA-256(0x00 || leaf)"
    index, size = printed["leaf_index"], printed["tree_size"]
    audit = [_hex(h) for h in printed["inclusion_path"]]
    root = _hex(printed["root_hash"])
    assert verify_inclusion(index, size, hashed, audit, root), f"inclusion of {index} in {size} fails"
    if trusted_root is not None:
        assert verify_inclusion(index, size, hashed, audit, trusted_root), "inclusion fails against the trusted root"
    fields = json.loads(leaf)
    assert set(fields) == LEAF_FIELDS, sorted(fields)
    assert leaf == json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(), \
        "leaf bytes are not canonical JSON"
    assert fields["seq"] == index, "the leaf's seq is not its index"
    return dict(fields)


def check_consistency(printed: dict[str, Any], first_root: bytes | None = None,
                      second_root: bytes | None = None) -> None:
    """Verify a consistency proof by §2.1.4.2, against the roots given (trusted ones when supplied)."""
    assert set(printed) == CONSISTENCY_FIELDS, sorted(printed)
    first, second = printed["first"], printed["second"]
    first_hash, second_hash = _hex(printed["first_hash"]), _hex(printed["second_hash"])
    audit = [_hex(h) for h in printed["consistency_path"]]
    assert verify_consistency(first, second, first_hash, second_hash, audit), f"{first} → {second} fails"
    if first_root is not None or second_root is not None:
        assert verify_consistency(first, second, first_root or first_hash, second_root or second_hash, audit), \
            "consistency fails against the trusted roots"


def check_case(printed: dict[str, Any], trusted_root: bytes | None = None) -> list[dict[str, Any]]:
    """Verify a whole-case proof: every event's stored bytes hash to its leaf's ``payload_sha256``,
    versions run 1, 2, … of one aggregate, each ``prev`` is the previous leaf's hash (64 zeros
    first), and every leaf is included in the one tree named. Returns the leaves' fields."""
    assert set(printed) == CASE_FIELDS, sorted(printed)
    size, root = printed["tree_size"], _hex(printed["root_hash"])
    leaves, prev = [], ZERO
    for version, event in enumerate(printed["events"], start=1):
        assert set(event) == {"payload", "proof"}, sorted(event)
        inclusion = event["proof"]
        assert (inclusion["tree_size"], inclusion["root_hash"]) == (size, printed["root_hash"])
        fields = check_inclusion(inclusion, trusted_root or root)
        payload = _hex(event["payload"], None)
        assert fields["payload_sha256"] == sha256(payload).hexdigest(), "stored payload does not match its leaf"
        assert json.loads(payload)["recorded_at"] == fields["recorded_at"]
        assert fields["aggregate_id"] == printed["aggregate_id"] and fields["version"] == version
        assert fields["prev"] == prev, "the case's events do not form one unbroken chain"
        prev = inclusion["leaf_hash"]
        leaves.append(fields)
    return leaves
