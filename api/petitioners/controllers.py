"""Petitioner identity: stored encrypted in the vault, disclosed only to roles that need it.

Every disclosure is first recorded in the ledger as an ``IdentityRead`` event (who, when, which
case, which petitioner); if that write fails, nothing is disclosed.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import roles
from api.cases.controllers import visible_case
from api.context import ApiContext
from api.policy import IDENTITY_READERS, can_see_case
from api.problems import not_found, responses
from ledger.identities import disclose, erase
from schemas.common import Actor, CaseNumber, Code, Text
from schemas.identity import ErasureAnswer, IdentityAnswer, PetitionerIdentity

READERS = tuple(sorted(IDENTITY_READERS))


def _petitioner_of(ctx: ApiContext, actor: Actor, number: str, ref: str) -> None:
    case = visible_case(ctx, actor, number)
    if ref not in case.petitioners:
        raise not_found(f"案件 {number} 没有编号为 {ref} 的信访人", code="unknown_petitioner")


class CasePetitionerController(Controller):
    path = "/cases/{number:str}/petitioners"
    tags = ["信访人 petitioners"]

    @get(
        "/{ref:str}",
        summary="读取信访人身份（记录查阅）",
        description="仅限登记员、承办人、领导，且案件须在可见范围内。每次读取先在账本中记录 IdentityRead 事件。",
        guards=[roles(*READERS)],
        sync_to_thread=True,
        responses=responses(400, 401, 403, 404),
    )
    def read(
        self,
        ctx: NamedDependency[ApiContext],
        actor: NamedDependency[Actor],
        number: FromPath[CaseNumber],
        ref: FromPath[Code],
        purpose: Annotated[Text, QueryParameter(description="查阅目的（记入账本）", max_length=200)] = "",
    ) -> IdentityAnswer:
        _petitioner_of(ctx, actor, number, ref)
        with ctx.write_lock:
            return disclose(ctx.ledger, ctx.vault, ref, actor, ctx.clock(), case=number, purpose=purpose)

    @put(
        "/{ref:str}",
        summary="登记或更新信访人身份",
        description="加密存入身份信息库；仅限登记员、承办人、领导，案件须可见。",
        guards=[roles(*READERS)],
        sync_to_thread=True,
        responses=responses(400, 401, 403, 404, 409, 413),
    )
    def store(
        self,
        ctx: NamedDependency[ApiContext],
        actor: NamedDependency[Actor],
        number: FromPath[CaseNumber],
        ref: FromPath[Code],
        data: JSONBody[PetitionerIdentity],
    ) -> IdentityAnswer:
        _petitioner_of(ctx, actor, number, ref)
        ctx.vault.put(ref, data)
        return IdentityAnswer(ref=ref, status="present")


class PetitionerController(Controller):
    path = "/petitioners"
    tags = ["信访人 petitioners"]

    @delete(
        "/{ref:str}",
        summary="销毁信访人身份（管理员）",
        description="在账本中记录 PetitionerIdentityErased，并销毁该信访人的密钥；账本照常验证。"
        "信访人须出现在你可见的案件中。重复销毁返回 erased_now=false。",
        guards=[roles("admin")],
        sync_to_thread=True,
        status_code=200,
        responses=responses(400, 401, 403, 404, 409),
    )
    def erase(
        self,
        ctx: NamedDependency[ApiContext],
        actor: NamedDependency[Actor],
        ref: FromPath[Code],
        reason: Annotated[Text, QueryParameter(description="销毁理由（记入账本）", min_length=1, max_length=500)]
        = "信访人依法要求删除个人信息",
    ) -> ErasureAnswer:
        ctx.index.catch_up()
        cases = [ctx.index.cases[n] for n in ctx.index.petitioner_cases.get(ref, []) if n in ctx.index.cases]
        if not any(can_see_case(actor, case, ctx.index) for case in cases):
            raise not_found(f"信访人 {ref} 不存在", code="unknown_petitioner")
        with ctx.write_lock:
            erased_now = erase(ctx.ledger, ctx.vault, ref, actor, ctx.clock(), reason)
        return ErasureAnswer(ref=ref, status="erased", erased_now=erased_now)
