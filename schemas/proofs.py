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
TreeSize = Annotated[int, msgspec.Meta(ge=0, description="树的大小：日志前 tree_size 条事件")]


def _doc(text: str) -> msgspec.Meta:
    """A field's description, shown in ``xinfang schema`` and the OpenAPI document."""
    return msgspec.Meta(description=text)


class Leaf(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """叶子：每个存储事件一个，按提交顺序编号；其规范 JSON（键排序、UTF-8、无空白）就是被哈希的字节。

    Leaf hash = SHA-256(0x00 ‖ bytes). ``prev`` chains the events of one aggregate (a case), so
    nothing inside a case's shown history can be left out.
    """

    actor: Annotated[dict[str, Any], _doc("操作人 {id, unit, role}，与事件中记录的相同")]
    aggregate_id: Annotated[str, _doc("聚合编号（UUID）：案件或其他对象")]
    payload_sha256: Annotated[str, _doc("事件存储字节（信封 JSON）的 SHA-256，十六进制")]
    prev: Annotated[str, _doc("同一聚合上一事件的叶子哈希，十六进制；首个事件为 64 个 0")]
    recorded_at: Annotated[str, _doc("记录时间（服务器时钟，ISO 8601，带时区）；沿 seq 不减")]
    seq: Annotated[int, _doc("事件序号，从 0 起，连续；即 leaf_index")]
    type: Annotated[str, _doc("事件类型名，如 CaseAccepted")]
    version: Annotated[int, _doc("该聚合的第几个事件，从 1 起，连续")]


class InclusionProof(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """包含证明（RFC 9162 §2.1.3）：序号 ``leaf_index`` 的事件是大小为 ``tree_size`` 的树中的这片叶子。

    A verifier hashes ``leaf`` itself (SHA-256(0x00 ‖ leaf)), runs §2.1.3.2 with ``leaf_index``,
    ``tree_size`` and ``inclusion_path``, and compares the result with a root it trusts (a signed
    checkpoint of the same size), not only with ``root_hash``.
    """

    leaf_index: Annotated[int, msgspec.Meta(ge=0, description="叶子位置，即事件序号 seq")]
    tree_size: TreeSize
    leaf: Annotated[Hex, _doc("叶子字节（十六进制）：规范 JSON，见 xinfang schema leaf；seq、聚合、版本等从中读取")]
    leaf_hash: Annotated[Hash, _doc("SHA-256(0x00 ‖ 叶子字节)")]
    inclusion_path: Annotated[list[Hash], _doc("审计路径：兄弟节点哈希，从叶子向上到根")]
    root_hash: Annotated[Hash, _doc("大小为 tree_size 的树的根")]


class ConsistencyProof(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """一致性证明（RFC 9162 §2.1.4）：大小为 ``second`` 的树是大小为 ``first`` 的树的延续。"""

    first: Annotated[int, msgspec.Meta(ge=1, description="旧树大小")]
    second: Annotated[int, msgspec.Meta(ge=1, description="新树大小（≥ first）")]
    first_hash: Annotated[Hash, _doc("旧树的根")]
    second_hash: Annotated[Hash, _doc("新树的根")]
    consistency_path: Annotated[list[Hash], _doc("RFC 9162 §2.1.4.1 的 PROOF(first, D[second])；两树相同时为空")]


class CaseEvent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """案件的一个事件：存储的原始字节及其包含证明。"""

    payload: Annotated[Hex, _doc("事件存储的字节（信封 JSON），十六进制；其 SHA-256 即叶子中的 payload_sha256")]
    proof: InclusionProof


class CaseProof(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """整件案件（或任一聚合）的证明：按版本排列的每个事件，都在同一棵树（``tree_size``、``root_hash``）中。

    Events chain through ``prev``; events recorded after ``tree_size`` are not covered (a Merkle
    log proves presence, not absence).
    """

    case: Annotated[str | None, _doc("案件编号；不是案件的聚合为 null")]
    aggregate_id: Annotated[str, _doc("聚合编号（UUID）")]
    tree_size: TreeSize
    root_hash: Annotated[Hash, _doc("大小为 tree_size 的树的根")]
    events: list[CaseEvent]


class CheckpointAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """新签发的检查点：签名注记原文，及从中读出的来源、树大小和根（``xinfang checkpoint --json``）。"""

    origin: str
    tree_size: TreeSize
    root_hash: Hash
    note: Annotated[str, _doc("C2SP tlog-checkpoint 签名注记原文（其中的根哈希为 base64）")]


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
