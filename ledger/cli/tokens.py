"""API tokens: issue (shown once, stored hashed), list, revoke."""

from __future__ import annotations

import click

from ledger.cli import Context, handles_errors
from ledger.cli.cases import make_actor
from ledger.cli.output import console, errors, print_json, table
from ledger.access import TOKEN_ADMINS, Viewer, require_role
from ledger.errors import Forbidden
from ledger.tokens import ISSUABLE_ROLES
from schemas.common import ROLE_NAMES
from schemas.tokens import IssuedToken, RevokedTokens


def token_admin(ctx: Context) -> Viewer:
    viewer = ctx.viewer()
    require_role(viewer.actor, TOKEN_ADMINS, "管理令牌")
    return viewer


@click.group("token")
def token() -> None:
    """HTTP 接口令牌（只保存哈希，明文仅在签发时显示一次）。"""


@token.command("create")
@click.option("--role", required=True, type=click.Choice(ISSUABLE_ROLES), help="角色")
@click.option("--unit", required=True, help="所在单位编码：决定可见和可办理的案件范围")
@click.option("--actor", "actor_id", default=None, help="操作人编码（记入每个事件）；默认 <单位>-<角色>")
@click.option("--label", default="", help="备注，例如使用者或系统名称")
@click.pass_obj
@handles_errors
def create(ctx: Context, role: str, unit: str, actor_id: str | None, label: str) -> None:
    """签发令牌：请求时用 Authorization: Bearer <令牌>（限管理员令牌或本机操作员；管理员只能为本单位及下级单位签发）。"""
    viewer = token_admin(ctx)
    actor = make_actor(actor_id or f"{unit}-{role}", unit, role)
    known = ctx.services.read.unit(unit)
    if known is None:
        errors.print(f"[yellow]注意[/]：单位 {unit} 尚未在账本中登记，令牌暂时看不到任何案件。")
    if not viewer.scope.everything and viewer.role != "operator" and not viewer.covers(known):
        raise Forbidden(f"只能为本单位（{viewer.actor.unit}）及下级单位签发令牌", code="forbidden")
    secret = ctx.services.tokens.create(actor, label=label)
    if ctx.as_json:
        print_json(IssuedToken(token=secret, actor=actor))
    else:
        console.print(f"已签发令牌（{ROLE_NAMES[role]}，单位 {unit}，操作人 {actor.id}）。只显示这一次，请妥善保存：")
        console.print(secret)


@token.command("list")
@click.pass_obj
@handles_errors
def list_tokens(ctx: Context) -> None:
    """列出已签发的令牌（不含明文）。"""
    token_admin(ctx)
    tokens = ctx.services.tokens.list()
    if ctx.as_json:
        print_json(tokens)
        return
    table("令牌", ["编号", "操作人", "单位", "角色", "备注", "签发时间", "状态"],
          [(t.id, t.actor.id, t.actor.unit, ROLE_NAMES[t.actor.role], t.label, t.created_at,
            "已吊销" if t.revoked else "有效") for t in tokens])


@token.command("revoke")
@click.argument("token_id")
@click.pass_obj
@handles_errors
def revoke(ctx: Context, token_id: str) -> None:
    """吊销令牌（编号见 xinfang token list）；服务最多 5 秒内生效，已打开的实时推送随之结束。"""
    token_admin(ctx)
    count = ctx.services.tokens.revoke(token_id)
    if ctx.as_json:
        print_json(RevokedTokens(revoked=count))
    else:
        console.print(f"已吊销 {count} 个令牌。")


COMMANDS = (token,)
