"""Integrity: the signed checkpoint, the verifier key, inclusion and consistency proofs.

Proofs come from :class:`ledger.integrity.proofs.Proofs` in the shapes of :mod:`schemas.proofs`,
exactly as ``xinfang proof`` prints them (RFC 9162 names, every binary value in hex).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from api.cases.controllers import visible_case
from api.context import ApiContext
from api.integrity.service import Integrity
from api.params import path
from api.problems import ApiProblem, responses
from ledger.codec import decode_envelope
from schemas.common import Actor, CaseNumber
from schemas.proofs import CaseProof, ConsistencyProof, InclusionProof

Size = Annotated[int | None, QueryParameter(ge=0, le=1 << 50, description="树大小；默认账本当前大小")]
TEXT = "text/plain; charset=utf-8"


def integrity(ctx: ApiContext) -> Integrity:
    if ctx.integrity is None:
        ctx.integrity = Integrity(ctx.ledger)
    service: Integrity = ctx.integrity
    return service


class IntegrityController(Controller):
    path = "/integrity"
    tags = ["完整性 integrity"]

    @get(
        "/checkpoint",
        summary="最新检查点（签名）",
        description="C2SP tlog-checkpoint 签名注记：来源、树大小、base64 根哈希、签名。用 verifier-key 验证。",
        media_type=TEXT,
        sync_to_thread=True,
        responses=responses(401, 404),
    )
    def checkpoint(self, ctx: NamedDependency[ApiContext]) -> str:
        return integrity(ctx).checkpoint()

    @get(
        "/verifier-key",
        summary="检查点验证公钥",
        description="签名注记验证公钥格式：<名称>+<十六进制密钥编号>+<base64(0x01‖Ed25519 公钥)>。",
        media_type=TEXT,
        sync_to_thread=True,
        responses=responses(401, 404),
    )
    def verifier_key(self, ctx: NamedDependency[ApiContext]) -> str:
        return integrity(ctx).verifier_key()

    @get(
        "/inclusion",
        summary="事件的包含证明",
        description="序号 seq 的事件在大小为 size 的树中的 RFC 9162 包含证明（leaf_index = seq；叶子字节、"
        "哈希均为十六进制），与 xinfang proof --seq 相同；事件须在你的可见范围内。",
        sync_to_thread=True,
        responses=responses(400, 401, 404),
    )
    def inclusion(
        self,
        ctx: NamedDependency[ApiContext],
        actor: NamedDependency[Actor],
        seq: Annotated[int, QueryParameter(ge=0, le=1 << 50, description="事件序号（从 0 起）")],
        size: Size = None,
    ) -> InclusionProof:
        rows = ctx.ledger.recorder.select_events_by_seq(seq, 1)  # type: ignore[attr-defined]
        if not rows or rows[0].seq != seq:
            raise ApiProblem("not-found", f"没有序号为 {seq} 的事件", code="unknown_seq")
        if not ctx.access.event_visible(ctx.viewer(actor), decode_envelope(rows[0].state)):
            raise ApiProblem("not-found", f"没有序号为 {seq} 的事件", code="unknown_seq")
        return integrity(ctx).proofs.inclusion(seq, size)

    @get(
        "/consistency",
        summary="一致性证明",
        description="大小为 second 的树是大小为 first 的树的延续（RFC 9162 §2.1.4；参数名同 §5.3），"
        "与 xinfang proof --from/--to 相同。监察人员用它接受新的检查点。",
        sync_to_thread=True,
        responses=responses(400, 401),
    )
    def consistency(
        self,
        ctx: NamedDependency[ApiContext],
        first: Annotated[int, QueryParameter(ge=1, le=1 << 50, description="旧树大小")],
        second: Annotated[int | None, QueryParameter(ge=1, le=1 << 50, description="新树大小；默认账本当前大小")]
        = None,
    ) -> ConsistencyProof:
        return integrity(ctx).proofs.consistency(first, second)


class CaseProofController(Controller):
    path = "/cases/{number:str}/proof"
    tags = ["完整性 integrity"]

    @get(
        "/",
        summary="整件案件的包含证明",
        description="案件每个事件存储的原始字节及其在同一棵树（大小 size，默认当前）中的包含证明，"
        "与 xinfang proof --case 相同。",
        sync_to_thread=True,
        responses=responses(400, 401, 404),
    )
    def case_proof(
        self,
        ctx: NamedDependency[ApiContext],
        actor: NamedDependency[Actor],
        number: Annotated[str, path(CaseNumber, "案件编号")],
        size: Size = None,
    ) -> CaseProof:
        visible_case(ctx, actor, number)
        return integrity(ctx).proofs.case_proof(number, size)
