"""Setting up: create the ledger and its key, build the demo county, summarise what is there."""

from __future__ import annotations

from collections import Counter

import click

from ledger.cli import Context, handles_errors
from ledger.cli.output import console, print_json, progress, table
from ledger.integrity.keys import create_key, key_path
from ledger.log import iter_log
from ledger.vault import Vault
from ledger.vault_key import VALUE_VARIABLE, create_master_key
from schemas.events import EVENTS_BY_NAME, chinese_name
from schemas.views import LogSummary, SetupAnswer


@click.command("init")
@click.pass_obj
@handles_errors
def init(ctx: Context) -> None:
    """建立账本数据表、签名密钥和身份信息库主密钥（密钥文件权限 0600，不入数据库）。"""
    ledger = ctx.ledger
    path = key_path(ledger.url)
    made = create_key(path)
    vault_key, vault_key_made = create_master_key(ledger.url)
    with Vault.open(ledger.url) as vault:  # creates its tables; wraps keys stored before the master key
        migrated = vault.migrated
    if ctx.as_json:
        print_json(SetupAnswer(database=ledger.url.split("@")[-1], key_file=str(path), key_created=made,
                               vault_key_file=None if vault_key is None else str(vault_key),
                               vault_key_created=vault_key_made, vault_keys_migrated=migrated))
        return
    console.print(f"账本已就绪。签名密钥：{path}（{'新建' if made else '已存在，未改动'}）")
    if vault_key is None:
        console.print(f"身份信息库主密钥：取自环境变量 {VALUE_VARIABLE}")
    else:
        console.print(f"身份信息库主密钥：{vault_key}（{'新建' if vault_key_made else '已存在，未改动'}）"
                      "——请另行妥善备份，切勿与数据库备份放在一起；丢失后已存的身份信息无法读取")
    if migrated:
        console.print(f"已用主密钥重新封装此前存入的 {migrated} 把身份密钥。")


@click.command("demo")
@click.option("--cases", "count", default=2000, show_default=True, help="信访事项数量")
@click.option("--seed", default=1, show_default=True, help="随机种子：同一种子得到同样的账本")
@click.pass_obj
@handles_errors
def demo(ctx: Context, count: int, seed: int) -> None:
    """生成演示县 2021 年全年的账本（经由真实命令路径，模拟时钟）。"""
    from ledger.demo import build_demo

    summary = build_demo(ctx.db, cases=count, seed=seed, rules_file=ctx.rules_file,
                         progress=lambda items, total: progress(items, total, "生成演示数据"))
    create_key(key_path(ctx.ledger.url))
    create_master_key(ctx.ledger.url)
    if ctx.as_json:
        print_json(summary)
    else:
        console.print(f"演示账本已生成：{summary.events} 条事件，{summary.cases} 件信访事项。")


@click.command("summary")
@click.pass_obj
@handles_errors
def summary(ctx: Context) -> None:
    """账本概况：事件总数和各类事件数量。"""
    recorder = ctx.ledger.recorder
    total = recorder.tree_size()
    counts = Counter(row.topic for row in progress(iter_log(recorder), total, "统计中"))
    if ctx.as_json:
        print_json(LogSummary(events=total, by_type=dict(sorted(counts.items()))))
        return
    console.print(f"账本共有 {total} 条事件。")
    rows = [(chinese_name(EVENTS_BY_NAME[t]), t, n) for t, n in counts.most_common()]
    table("事件类型", ["事件", "类型", "数量"], rows)


COMMANDS = (init, demo, summary)
