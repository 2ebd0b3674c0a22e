"""Petitioner identity: stored encrypted in the vault, disclosed only to whom the core policy allows.

Who may write, read or erase an identity is decided by :mod:`ledger.access` (the unit holding it,
the units above it, the 纪检监察 side, handlers of the holder's cases — never anyone a 检举 accuses);
every write and every read is recorded in the ledger first (:mod:`ledger.identities`).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from api.context import ApiContext
from api.params import path, query
from api.problems import responses
from ledger import identities
from schemas.common import Actor, CaseNumber, Code, Text
from schemas.identity import ErasureAnswer, IdentityAnswer, IdentityWritten, PetitionerIdentity


class CasePetitionerController(Controller):
    path = "/cases/{number:str}/petitioners"
    tags = ["信访人 petitioners"]

    @get(
        "/{ref:str}",
        summary="读取信访人身份（记录查阅）",
        description="须说明查阅目的（purpose）。可读者：纪检监察；持有该身份信息的单位（登记首件案件的单位）及其上级；"
        "能看到持有单位所登记的非检举案件的单位。被检举的单位、其下级单位和干部一律不可读。"
        "每次读取先在账本中记录 IdentityRead 事件。无权读取与不存在的回答相同（404）。",
        sync_to_thread=True,
        responses=responses(400, 401, 403, 404, described={
            409: "身份信息已损坏（identity-damaged）：密钥或密文校验失败，无法解密"}),
    )
    def read(
        self,
        ctx: NamedDependency[ApiContext],
        actor: NamedDependency[Actor],
        number: Annotated[str, path(CaseNumber, "案件编号")],
        ref: Annotated[str, path(Code, "信访人编号")],
        purpose: Annotated[str, query(Text, "查阅目的（必填，记入账本）", min_length=1, max_length=200)],
    ) -> IdentityAnswer:
        viewer = ctx.viewer(actor)
        ctx.access.require_case(viewer, number)
        return identities.disclose(ctx.services, viewer, ref, case=number, purpose=purpose)

    @put(
        "/{ref:str}",
        summary="登记或更新信访人身份",
        description="加密存入身份信息库，并在账本中记录 PetitionerIdentityRecorded（只记存储摘要）。首次写入仅限登记"
        "首件列出该信访人的案件的单位及其上级单位；此后由持有单位及其上级更新。无权与不存在的回答相同（404）。",
        sync_to_thread=True,
        responses=responses(400, 401, 403, 404, 409, 413),
    )
    def store(
        self,
        ctx: NamedDependency[ApiContext],
        actor: NamedDependency[Actor],
        number: Annotated[str, path(CaseNumber, "案件编号")],
        ref: Annotated[str, path(Code, "信访人编号")],
        data: JSONBody[PetitionerIdentity],
    ) -> IdentityWritten:
        viewer = ctx.viewer(actor)
        ctx.access.require_case(viewer, number)
        digest = identities.store(ctx.services, viewer, ref, data, case=number)
        return IdentityWritten(ref=ref, status="present", digest=digest)


class PetitionerController(Controller):
    path = "/petitioners"
    tags = ["信访人 petitioners"]

    @delete(
        "/{ref:str}",
        summary="销毁信访人身份",
        description="在账本中记录 PetitionerIdentityErased，并销毁该信访人的密钥；账本照常验证。"
        "仅限持有该身份信息的单位，或其上级单位的管理员。无权与不存在的回答相同（404）。重复销毁返回 erased_now=false。"
        "只有数据库文件中已无该密钥的任何副本时 erased_now 才为 true；有其他连接持有销毁之前的读快照时 pending=true，"
        "detail 说明还剩什么，之后自动完成。",
        sync_to_thread=True,
        status_code=200,
        responses=responses(400, 401, 403, 404, 409),
    )
    def erase(
        self,
        ctx: NamedDependency[ApiContext],
        actor: NamedDependency[Actor],
        ref: Annotated[str, path(Code, "信访人编号")],
        reason: Annotated[str, query(Text, "销毁理由（记入账本）", min_length=1, max_length=500)]
        = "信访人依法要求删除个人信息",
    ) -> ErasureAnswer:
        destroyed = identities.erase(ctx.services, ctx.viewer(actor), ref, reason)
        residue = ctx.services.vault.finish()
        return ErasureAnswer(ref=ref, status="erased", erased_now=destroyed and not residue.pending,
                             pending=residue.pending, detail=residue.detail)
