"""Petitioner identities in the vault: store, read (recorded), erase (crypto-shredding)."""

from __future__ import annotations

from pathlib import Path

import click
import msgspec

from ledger import identities
from ledger.access import ERASURE_FINISHERS, require_role
from ledger.cli import Context, handles_errors
from ledger.cli.output import console, print_json
from ledger.errors import InvalidInput
from ledger.inputs import explain
from schemas.identity import ErasureAnswer, IdentityWritten, PetitionerIdentity


@click.group("petitioner")
def petitioner() -> None:
    """信访人身份信息（加密存放，可销毁）。"""


@petitioner.command("put")
@click.argument("ref")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--case", default=None, help="因哪件案件登记（记入账本）")
@click.pass_obj
@handles_errors
def put(ctx: Context, ref: str, file: Path, case: str | None) -> None:
    """从 JSON 文件登记或更新信访人身份（name、id_number、phone、address）；写入记入账本（只记摘要）。"""
    try:
        identity = msgspec.json.decode(file.read_bytes(), type=PetitionerIdentity)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvalidInput(f"身份信息无效：{explain(exc)}", code="invalid_identity") from exc
    digest = identities.store(ctx.services, ctx.viewer(), ref, identity, case=case)
    if ctx.as_json:
        print_json(IdentityWritten(ref=ref, status="present", digest=digest))
    else:
        console.print(f"已加密保存信访人 {ref} 的身份信息，并记入账本（存储摘要 {digest[:16]}…）。")


@petitioner.command("show")
@click.argument("ref")
@click.option("--case", default=None, help="因哪件案件查阅（记入账本）")
@click.option("--purpose", required=True, help="查阅目的（必填，记入账本）")
@click.pass_obj
@handles_errors
def show(ctx: Context, ref: str, case: str | None, purpose: str) -> None:
    """读取信访人身份：每次读取都作为事件记入账本；已销毁的显示为“已销毁”。"""
    viewer = ctx.viewer()
    if case is not None:
        ctx.services.access.require_case(viewer, case)
    seen = identities.disclose(ctx.services, viewer, ref, case=case, purpose=purpose)
    if ctx.as_json:
        print_json(seen)
    elif seen.identity is None:
        console.print(f"信访人 {ref}：身份信息已销毁。")
    else:
        i = seen.identity
        console.print(f"信访人 {ref}：{i.name}　证件号：{i.id_number}　电话：{i.phone}　地址：{i.address}")


@petitioner.command("erase")
@click.argument("ref", required=False)
@click.option("--reason", default="信访人依法要求删除个人信息", show_default=True, help="销毁理由（记入账本）")
@click.option("--finish", is_flag=True, help="不销毁新的密钥，只完成此前尚未完成的销毁（清除数据库文件中残留的副本）")
@click.pass_obj
@handles_errors
def erase_identity(ctx: Context, ref: str | None, reason: str, finish: bool) -> None:
    """销毁信访人身份密钥：账本照常重放和验证，身份显示为“已销毁”。

    只有数据库文件中再无该密钥的副本时才报告“已彻底销毁”；有其他连接持有销毁之前的读快照时报告“尚未完成”，
    之后自动完成，或用 --finish 完成。
    """
    if (ref is None) != finish:
        raise InvalidInput("请给出信访人编号（销毁其密钥），或只用 --finish（完成此前的销毁），二者选一", code="erase_usage")
    viewer = ctx.viewer()
    vault = ctx.services.vault
    if ref is None:
        require_role(viewer.actor, ERASURE_FINISHERS, "完成此前的销毁")
        residue = vault.finish()
        if ctx.as_json:
            print_json({"pending": residue.pending, "detail": residue.detail})
        else:
            console.print(f"{'销毁仍未完成' if residue.pending else '没有未完成的销毁'}：{residue.detail}")
        return
    destroyed = identities.erase(ctx.services, viewer, ref, reason)
    residue = vault.finish()
    if ctx.as_json:
        print_json(ErasureAnswer(ref=ref, status="erased", erased_now=destroyed and not residue.pending,
                                 pending=residue.pending, detail=residue.detail))
    elif residue.pending:
        console.print(f"信访人 {ref} 的身份密钥{'已从表中删除' if destroyed else '此前已删除'}，但销毁尚未完成：{residue.detail}")
    else:
        console.print(f"信访人 {ref} 的身份密钥{'已彻底销毁' if destroyed else '此前已销毁，未重复操作'}。{residue.detail}")


COMMANDS = (petitioner,)
