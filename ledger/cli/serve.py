"""``xinfang serve``: the HTTP API (Litestar under uvicorn) over this ledger."""

from __future__ import annotations

import os

import click

from ledger.access import MAINTAINERS, require_role
from ledger.cli import Context, handles_errors
from ledger.cli.output import console, print_json
from schemas.common import Actor
from schemas.tokens import IssuedToken

DEMO_LABEL = "demo"
APP_FACTORY = "api.app:app_from_environment"
"""Imported by uvicorn in each worker; the core itself never imports the API. Workers are separate
processes, so they receive the ledger's configuration as the documented variables the command
line reads too (``XINFANG_DATABASE_URL``, ``XINFANG_RULES``) and bootstrap from them."""


def issue_demo_tokens(ctx: Context) -> list[tuple[Actor, str]]:
    """Fresh tokens for every role of the demo county (earlier demo tokens are revoked); the operator's act."""
    require_role(ctx.actor(), MAINTAINERS, "签发演示令牌")
    units = ctx.services.read.units()
    root = next((u.code for u in units if u.parent is None), "county")
    bureau = next((u.code for u in units if u.kind == "部门" and "信访" in u.name), root)
    township = next((u.code for u in units if u.kind == "乡镇"), root)
    plan = [("admin", root), ("clerk", bureau), ("handler", township), ("leader", root),
            ("inspector", root), ("appraiser", root)]
    issued = []
    store = ctx.services.tokens
    store.revoke_labelled(DEMO_LABEL)
    for role, unit in plan:
        actor = Actor(id=f"demo-{role}", unit=unit, role=role)  # type: ignore[arg-type]
        issued.append((actor, store.create(actor, label=DEMO_LABEL)))
    return issued


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="端口")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="工作进程数（PostgreSQL 上可多进程；SQLite 建议 1）")
@click.option("--demo-tokens", is_flag=True,
              help="为演示账本签发各角色令牌并打印（吊销之前的演示令牌）；make run 使用")
@click.option("--access-log/--no-access-log", default=False, show_default=True, help="逐条打印请求日志")
@click.pass_obj
@handles_errors
def serve(ctx: Context, host: str, port: int, workers: int, demo_tokens: bool, access_log: bool) -> None:
    """启动服务：网页在 / 下（令牌登录），JSON 接口在 /api 下，OpenAPI 文档在 /schema/openapi.json。"""
    import uvicorn

    url = ctx.ledger.url
    if demo_tokens:
        issued = issue_demo_tokens(ctx)
        if ctx.as_json:
            print_json([IssuedToken(token=t, actor=a) for a, t in issued])
        else:
            console.print("演示令牌（请求头 Authorization: Bearer <令牌>；重新启动会换发）：")
            console.print("  角色       单位       令牌")
            for actor, secret in issued:
                console.print(f"  {actor.role:<10} {actor.unit:<10} {secret}")
    ctx.close()
    console.print(f"网页：http://{host}:{port}/　HTTP 接口：http://{host}:{port}/api　"
                  f"OpenAPI：http://{host}:{port}/schema/openapi.json")
    os.environ["XINFANG_DATABASE_URL"] = url
    if ctx.rules_file:
        os.environ["XINFANG_RULES"] = str(ctx.rules_file)
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers, access_log=access_log,
                log_level="info", timeout_graceful_shutdown=5)


COMMANDS = (serve,)
