"""Rule plugins: which are active (``xinfang plugins``) and what they award (``xinfang awards``)."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

import click
import msgspec
from rich.table import Table

from ledger.access import AWARD_READERS, require_role
from ledger.awards import award_report
from ledger.canonical import canonical_json
from ledger.cli import Context, handles_errors
from ledger.cli.output import console, print_json, table
from ledger.domain.case import CHINA
from ledger.facts import parse_as_of, parse_period
from schemas.rules import RuleSetInfo


def json_flag(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--json`` after the subcommand, the same as the global one."""
    return click.option("--json", "local_json", is_flag=True, help="以 JSON 输出，供程序读取")(func)


def _settings(config: dict[str, Any], prefix: str = "") -> list[str]:
    """``key = value`` lines, nested tables flattened to dotted keys."""
    lines = []
    for key, value in sorted(config.items()):
        if isinstance(value, dict) and value:
            lines.extend(_settings(value, f"{prefix}{key}."))
        else:
            lines.append(f"{prefix}{key} = {msgspec.json.encode(value).decode()}")
    return lines


@click.command("plugins")
@json_flag
@click.pass_obj
@handles_errors
def plugins(ctx: Context, local_json: bool) -> None:
    """列出生效的规则插件：版本、实现的钩子、配置和规则集指纹。"""
    rules = ctx.rules
    if ctx.as_json or local_json:
        print_json(RuleSetInfo(fingerprint=rules.fingerprint, rules_file=rules.source, blocked=rules.blocked,
                               plugins=rules.plugins))
        return
    grid = Table(title="规则插件", title_justify="left")
    for header in ("插件", "版本", "钩子", "配置"):
        grid.add_column(header, overflow="fold")
    for p in rules.plugins:
        hooks = "\n".join(h.removeprefix("xinfang_") for h in p.hooks)
        grid.add_row(p.name, p.version, hooks, "\n".join(_settings(p.config)) or "—")
    console.print(grid)
    for p in rules.plugins:
        scope = rules.scope_of(p.name)
        if scope is not None:
            console.print(f"「{p.name}」只适用于 {'、'.join(sorted(scope))} 及其下级单位" if scope else
                          f"「{p.name}」是本地插件，规则配置中未指定适用单位（[plugins.{p.name}] units），不生效")
    console.print(f"规则配置文件：{rules.source or '无（全部使用默认配置）'}")
    if rules.blocked:
        console.print(f"已屏蔽：{'、'.join(rules.blocked)}")
    console.print(f"规则集指纹：{rules.fingerprint}")


@click.command("awards")
@click.option("--period", required=True, help="考核期：2021、2021-03 或 2021-01-01..2021-06-30（按发生时间）")
@click.option("--as-of", "as_of", default=None, help="只计入此时或之前记录的事件：2022-01-15 或 2022-01-15T18:00:00+08:00")
@json_flag
@click.pass_obj
@handles_errors
def awards(ctx: Context, period: str, as_of: str | None, local_json: bool) -> None:
    """评定考核期的“三无”等奖励：逐个乡镇、村（社区）和单位列出是否通过、未通过的原因和奖励金额。"""
    require_role(ctx.actor(), AWARD_READERS, "查看奖励评定")
    report = award_report(ctx.services.projector, parse_period(period), as_of=parse_as_of(as_of) if as_of else None,
                          today=ctx.services.today())
    if ctx.as_json or local_json:
        sys.stdout.buffer.write(canonical_json(report) + b"\n")
        sys.stdout.flush()
        return
    for title in dict.fromkeys(v.title for v in report.verdicts):
        rows = [(f"{v.name}（{v.unit}）", v.township_class or v.kind, v.result,
                 "\n".join([*(f"{f.criterion}：{f.reason}" for f in v.failures), *([v.note] if v.note else [])]),
                 f"{v.amount:,}" if v.passed else "—")
                for v in report.verdicts if v.title == title]
        table(f"{report.period}「{title}」评定", ["单位", "类别", "结果", "原因或说明", "奖励（元）"], rows)
    results = Counter(v.result for v in report.verdicts)
    console.print(f"奖励合计：{report.total:,} 元（共 {len(report.verdicts)} 项："
                  f"{'，'.join(f'{word} {results[word]} 项' for word in ('通过', '未通过', '待定', '不适用') if results[word])}）")
    known = f"截至 {report.as_of.astimezone(CHINA):%Y-%m-%d %H:%M} 记录的前" if report.as_of else "全部"
    console.print(f"依据：账本{known} {report.tree_size} 条事件；规则集指纹 {report.rules_fingerprint}")

COMMANDS = (plugins, awards)
