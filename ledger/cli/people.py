"""Petitioner identities in the vault: store, read (recorded), erase (crypto-shredding)."""

from __future__ import annotations

from pathlib import Path

import click
import msgspec

from ledger.cli import Context, handles_errors
from ledger.cli.cases import actor_options, make_actor
from ledger.cli.output import console, print_json
from ledger.application import china_now
from ledger.errors import InvalidInput
from ledger.identities import disclose, erase
from ledger.inputs import explain
from ledger.vault import Vault
from schemas.identity import ErasureAnswer, PetitionerIdentity


@click.group("petitioner")
def petitioner() -> None:
    """信访人身份信息（加密存放，可销毁）。"""


@petitioner.command("put")
@click.argument("ref")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
@handles_errors
def put(ctx: Context, ref: str, file: Path) -> None:
    """从 JSON 文件登记或更新信访人身份（name、id_number、phone、address）。"""
    try:
        identity = msgspec.json.decode(file.read_bytes(), type=PetitionerIdentity)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvalidInput(f"身份信息无效：{explain(exc)}", code="invalid_identity") from exc
    with Vault.open(ctx.ledger.url) as vault:
        vault.put(ref, identity)
    console.print(f"已加密保存信访人 {ref} 的身份信息。")


@petitioner.command("show")
@click.argument("ref")
@click.option("--case", default=None, help="因哪件案件查阅（记入账本）")
@click.option("--purpose", default="", help="查阅目的（记入账本）")
@actor_options
@click.pass_obj
@handles_errors
def show(ctx: Context, ref: str, case: str | None, purpose: str, actor_id: str, actor_unit: str, role: str) -> None:
    """读取信访人身份：每次读取都作为事件记入账本；已销毁的显示为“已销毁”。"""
    actor = make_actor(actor_id, actor_unit, role)
    with Vault.open(ctx.ledger.url) as vault:
        seen = disclose(ctx.ledger, vault, ref, actor, china_now(), case=case, purpose=purpose)
    if ctx.as_json:
        print_json(seen)
    elif seen.identity is None:
        console.print(f"信访人 {ref}：身份信息已销毁。")
    else:
        i = seen.identity
        console.print(f"信访人 {ref}：{i.name}　证件号：{i.id_number}　电话：{i.phone}　地址：{i.address}")


@petitioner.command("erase")
@click.argument("ref")
@click.option("--reason", default="信访人依法要求删除个人信息", show_default=True, help="销毁理由（记入账本）")
@actor_options
@click.pass_obj
@handles_errors
def erase_identity(ctx: Context, ref: str, reason: str, actor_id: str, actor_unit: str, role: str) -> None:
    """销毁信访人身份密钥：账本照常重放和验证，身份显示为“已销毁”。"""
    actor = make_actor(actor_id, actor_unit, role)
    with Vault.open(ctx.ledger.url) as vault:
        erased_now = erase(ctx.ledger, vault, ref, actor, china_now(), reason)
    if ctx.as_json:
        print_json(ErasureAnswer(ref=ref, status="erased", erased_now=erased_now))
    else:
        console.print(f"信访人 {ref} 的身份密钥{'已销毁' if erased_now else '此前已销毁，未重复操作'}。")


COMMANDS = (petitioner,)
