"""``xinfang schema [NAME]``: the JSON Schema of every payload the CLI or the API emits or accepts."""

from __future__ import annotations

import click
import msgspec

from ledger.cli import Context, handles_errors
from ledger.cli.output import print_json, table
from ledger.errors import InvalidInput
from schemas.catalog import CATALOG


@click.command("schema")
@click.argument("name", required=False)
@click.pass_obj
@handles_errors
def schema(ctx: Context, name: str | None) -> None:
    """打印 NAME 的 JSON Schema（如 commands、events、inclusion-proof），供其他系统使用；不给 NAME 则列出全部名称。"""
    if name is None:
        if ctx.as_json:
            print_json({key: description for key, (_, description) in CATALOG.items()})
        else:
            table("可导出的数据结构（xinfang schema 名称）", ["名称", "说明"],
                  [(key, description) for key, (_, description) in CATALOG.items()])
        return
    if name not in CATALOG:
        raise InvalidInput(f"没有名为 {name} 的数据结构；可用：{'、'.join(CATALOG)}", code="unknown_schema")
    print_json(msgspec.json.schema(CATALOG[name][0]))


COMMANDS = (schema,)
