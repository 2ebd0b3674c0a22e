"""Cases and commands: apply a batch, show a case, export the log."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import msgspec

from ledger.access import EXPORTERS, require_role
from ledger.cli import Context, handles_errors
from ledger.cli.output import EXIT_REFUSED, console, errors, print_json, progress, table, wide_table
from ledger.domain.case import CHINA
from ledger.errors import InvalidInput
from ledger.imports import import_lines
from ledger.log import iter_log
from ledger.narrative import Names
from schemas.common import ROLE_NAMES, Actor, Code
from schemas.views import CaseDetail


def make_actor(actor_id: str, actor_unit: str, role: str) -> Actor:
    try:
        msgspec.convert([actor_id, actor_unit], tuple[Code, Code])  # new actors are held to the input patterns
        return msgspec.convert({"id": actor_id, "unit": actor_unit, "role": role}, Actor)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"操作人信息无效：{exc}", code="invalid_actor") from exc


@click.command("apply")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch", default=None, help="导入批次名；默认取文件内容摘要")
@click.option("--migration", default=None,
              help="已声明的迁移编号：本批是旧系统的历史（截止时间前发生，可注明原系统经办人 original_actor），不计补录")
@click.pass_obj
@handles_errors
def apply_file(ctx: Context, file: Path, batch: str | None, migration: str | None) -> None:
    """导入一批命令（JSONL，每行一条）：逐行报告错误，正确的照常写入，不会写入半条。

    每一行都像经由接口提交一样经过权限检查，操作人（--token 或 --operator）记入每个事件。导入的记录是普通记录：
    记录时间晚于发生时间的照样计为补录。只有用 --migration 指明、由管理员事先声明（DeclareMigration）的迁移，
    其截止时间之前发生的历史不计补录。
    """
    actor = ctx.actor()
    report = import_lines(
        file.read_bytes(),
        lambda commands, name: progress(ctx.services.execute_many(commands, actor, batch=name, migration=migration),
                                        len(commands), "导入中"),
        batch=batch, migration=migration,
    )
    if ctx.as_json:
        print_json(report)
    else:
        console.print(f"导入批次 {report.batch}{f'（迁移 {migration}）' if migration else ''}：写入 {report.applied} 条，"
                      f"重复（未重复写入）{report.repeated} 条，拒绝 {len(report.refused)} 条。")
        if report.refused:
            table("被拒绝的行", ["行号", "代码", "原因"], [(r.line, r.code, r.message) for r in report.refused])
    if report.refused:
        sys.exit(EXIT_REFUSED)


def operator(entry: TimelineEntry, names: Names) -> str:
    """Who recorded the entry; for a migrated step, who did it in the source system first."""
    recorder = f"{names.official(entry.actor.id)}（{ROLE_NAMES[entry.actor.role]}，{names.unit(entry.actor.unit)}）"
    source = entry.original_actor
    if source is None:
        return recorder
    return f"{source.name or names.official(source.official)}（原系统，{names.unit(source.unit)}）；导入：{recorder}"


@click.group("case")
def case_group() -> None:
    """查看案件。"""


@case_group.command("show")
@click.argument("number")
@click.pass_obj
@handles_errors
def show_case(ctx: Context, number: str) -> None:
    """案件时间线：每个事件的发生时间、记录时间、操作人和叶子序号。"""
    ctx.services.access.require_case(ctx.viewer(), number)
    view = ctx.ledger.case_view(number)
    timeline = ctx.ledger.timeline(number)
    if ctx.as_json:
        print_json(CaseDetail(case=view, timeline=timeline))
        return
    names = ctx.ledger.names()
    console.print(f"[bold]案件 {view.number}[/]　状态：{view.stage}　版本：{view.version}　"
                  f"责任单位：{names.unit(view.current_unit)}　包案领导：{names.official(view.leader)}")
    console.print(f"渠道：{view.channel}　类别：{view.subject}　属地：{names.unit(view.home_township)}　"
                  f"标记：{'、'.join(view.flags) or '—'}")
    rows = []
    for entry in timeline:
        delay = entry.recorded_at - entry.occurred_at
        rows.append((entry.seq, entry.version, entry.name, entry.text,
                     f"{entry.occurred_at.astimezone(CHINA):%Y-%m-%d %H:%M}",
                     f"{entry.recorded_at.astimezone(CHINA):%Y-%m-%d %H:%M}",
                     f"{delay.days}天" if delay.days >= 1 else "",
                     operator(entry, names), entry.migration or entry.batch or ""))
    wide_table("时间线", ["序号", "版本", "事件", "内容", "发生时间", "记录时间", "补录间隔", "操作人", "迁移或导入批次"], rows)
    clock_rows = [(c.label, c.basis, c.started_on, f"{c.due}{'（暂定）' if c.provisional else ''}",
                   c.stopped_on or "进行中",
                   ("按期" if not c.overdue else
                    f"未达本地目标 {c.days_late} 天（提醒）" if c.kind == "target" else f"超期 {c.days_late} 天"))
                  for c in view.clocks]
    if clock_rows:
        table("期限", ["事项", "依据", "起算", "到期", "完成", "情况"], clock_rows)
    today = ctx.ledger.today()
    window_rows = [(w.label, w.basis, w.started_on, f"{w.due}{'（暂定）' if w.provisional else ''}",
                    f"已于 {w.stopped_on} 提出" if w.stopped_on else "已届满" if today > w.due
                    else f"可以提出（还剩 {(w.due - today).days} 天）")
                   for w in view.windows]
    if window_rows:
        table("提出期限（逾期提出将被拒绝）", ["事项", "依据", "起算", "届满", "情况"], window_rows)


@click.command("export")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="输出文件；默认标准输出")
@click.pass_obj
@handles_errors
def export(ctx: Context, out: Path | None) -> None:
    """按序号导出全部事件（JSONL），每行是存储的事件加上序号 seq（限本机操作员与纪检监察人员）。"""
    require_role(ctx.actor(), EXPORTERS, "导出全部事件")
    recorder = ctx.ledger.recorder
    total = recorder.tree_size()
    sink = out.open("wb") if out else sys.stdout.buffer
    try:
        for row in progress(iter_log(recorder), total, "导出中"):
            sink.write(b'{"seq":%d,' % row.seq + row.state[1:] + b"\n")
    finally:
        if out:
            sink.close()
    if out:
        errors.print(f"已导出 {total} 条事件到 {out}")


COMMANDS = (apply_file, case_group, export)
