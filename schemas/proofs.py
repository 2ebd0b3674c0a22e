"""Proofs and checkpoints: what an outside verifier is given (one shape for the CLI and the API).

The names are RFC 9162's: ``leaf_index``, ``tree_size``, ``inclusion_path`` and ``root_hash``
as in §2.1.3.2 (verifying an inclusion proof), ``first``, ``second``, ``first_hash``,
``second_hash`` and ``consistency_path`` as in §2.1.4.2 (verifying a consistency proof).
Every binary value — leaf bytes, stored payloads and hashes — is lowercase hex, the encoding of
the hashes inside the leaf (``payload_sha256``, ``prev``), so a chain of leaves is checked by
comparing strings. Only the signed checkpoint note keeps its base64 root (C2SP format).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

__all__ = [
    "CaseEvent",
    "CaseProof",
    "CheckpointAnswer",
    "ConsistencyProof",
    "Hash",
    "Hex",
    "InclusionProof",
    "Leaf",
    "StoredCheckpoint",
    "VerifierKeyAnswer",
]

Hex = Annotated[str, msgspec.Meta(pattern=r"^(?:[0-9a-f]{2})*$", description="字节串，小写十六进制")]
Hash = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$", description="SHA-256 摘要，64 位小写十六进制")]
TreeSize = Annotated[int, msgspec.Meta(ge=0, description="树的叶子数（日志前缀的事件数）")]


class Leaf(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """叶子：每个存储事件一个，按提交顺序编号；其规范 JSON（键排序、UTF-8、无空白）就是被哈希的字节。

    Leaf hash = SHA-256(0x00 ‖ bytes). ``prev`` chains the events of one aggregate (a case), so
    nothing inside a case's shown history can be left out.
    """

    actor: dict[str, Any]
    """操作人 ``{id, unit, role}``, as stored in the event."""
    aggregate_id: str
    """聚合编号（UUID）：案件或其他对象。"""
    payload_sha256: str
    """SHA-256 of the stored event bytes (the envelope JSON), hex."""
    prev: str
    """Leaf hash of the same aggregate's previous event; 64 zeros for its first."""
    recorded_at: str
    """记录时间（服务器时钟，ISO 8601，带时区）；沿 seq 不减。"""
    seq: int
    """事件序号，从 0 起，连续：等于 ``leaf_index``。"""
    type: str
    """事件类型名（如 ``CaseAccepted``）。"""
    version: int
    """该聚合的第几个事件，从 1 起，连续。"""


class InclusionProof(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """包含证明（RFC 9162 §2.1.3）：序号 ``leaf_index`` 的事件是大小为 ``tree_size`` 的树中的这片叶子。

    A verifier hashes ``leaf`` itself (SHA-256(0x00 ‖ leaf)), runs §2.1.3.2 with ``leaf_index``,
    ``tree_size`` and ``inclusion_path``, and compares the result with a root it trusts (a signed
    checkpoint of the same size), not only with ``root_hash``.
    """

    leaf_index: Annotated[int, msgspec.Meta(ge=0)]
    """叶子位置 = 事件序号 seq。"""
    tree_size: TreeSize
    leaf: Hex
    """叶子字节（规范 JSON，见 ``xinfang schema leaf``），十六进制：seq、聚合、版本、类型等从中读取。"""
    leaf_hash: Hash
    """SHA-256(0x00 ‖ leaf)."""
    inclusion_path: list[Hash]
    """审计路径：兄弟节点哈希，从叶子向上到根。"""
    root_hash: Hash
    """大小为 tree_size 的树的根。"""


class ConsistencyProof(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """一致性证明（RFC 9162 §2.1.4）：大小为 ``second`` 的树是大小为 ``first`` 的树的延续。"""

    first: Annotated[int, msgspec.Meta(ge=1)]
    """旧树大小。"""
    second: Annotated[int, msgspec.Meta(ge=1)]
    """新树大小（≥ first）。"""
    first_hash: Hash
    """旧树的根。"""
    second_hash: Hash
    """新树的根。"""
    consistency_path: list[Hash]
    """RFC 9162 §2.1.4.1 的 PROOF(first, D[second])；两树相同时为空。"""


class CaseEvent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """案件的一个事件：存储的原始字节及其包含证明。"""

    payload: Hex
    """存储的事件字节（信封 JSON），十六进制；其 SHA-256 即叶子中的 ``payload_sha256``。"""
    proof: InclusionProof


class CaseProof(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """整件案件（或任一聚合）的证明：每个事件都在同一棵树（``tree_size``、``root_hash``）中。

    Events come in version order and chain through ``prev``; events recorded after ``tree_size``
    are not covered (a Merkle log proves presence, not absence).
    """

    case: str | None
    """案件编号；不是案件的聚合为 null。"""
    aggregate_id: str
    tree_size: TreeSize
    root_hash: Hash
    events: list[CaseEvent]


class CheckpointAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """新签发的检查点：签名注记原文，及从中读出的来源、树大小和根（``xinfang checkpoint --json``）。"""

    origin: str
    tree_size: TreeSize
    root_hash: Hash
    note: str
    """C2SP tlog-checkpoint 签名注记原文（根哈希在其中为 base64）。"""


class VerifierKeyAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """检查点验证公钥：``<来源>+<十六进制密钥编号>+<base64(0x01‖Ed25519 公钥)>``。"""

    origin: str
    verifier_key: str


class StoredCheckpoint(msgspec.Struct, frozen=True, kw_only=True):
    """账本保存的一个已签发检查点（``ledger_checkpoints`` 的一行）。"""

    id: int
    tree_size: TreeSize
    root: Hash
    note: str
    issued_at: str
