"""Reports, projections and appraisals on the command line.

``xinfang report NAME`` prints a report (table, JSON, CSV for Excel, or XLSX with one sheet
per section); ``xinfang rebuild`` rebuilds the projections from zero; ``xinfang
projections`` shows where they stand and ``--follow`` keeps them caught up;
``xinfang appraise`` writes a signed year-end appraisal and ``--check`` re-derives one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import msgspec
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ledger import appraisal
from ledger.access import APPRAISERS, MAINTAINERS, require_role
from ledger.canonical import canonical_json
from ledger.cli import Context, handles_errors
from ledger.integrity.keys import key_path, load_key
from ledger.cli.output import EXIT_INTEGRITY, console, errors, print_json, table, wide_table
from ledger.errors import InvalidInput
from ledger.facts import parse_as_of
from ledger.projections.export import case_lists, cells, csv_bytes, percent, ratio_text, sections_of, write_xlsx
from ledger.projections.reports import REPORTS, Inputs, make_report, period_of, report_period
from ledger.projections.runner import Projector
from ledger.projections.state import PROJECTIONS
from schemas.reports import AppraisalWritten, Basis, CheckResult, Parameters
from schemas.views import ProjectionsAnswer, ProjectionStatus, RebuildAnswer

PROJECTION_NAMES = {"cases": "案件", "records": "其他记录（单位、函件、纠纷、事件…）", "backfill": "补录与录入量"}


# ── Small helpers ────────────────────────────────────────────────────────────


@contextmanager
def fold_progress(label: str, projector: Projector) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on the terminal (stderr) over the log's events; nothing when not interactive.

    The bar counts up to the length of the log: catching up folds only the new events (the
    bar closes early), an as-of report or a check folds its whole prefix.
    """
    if not errors.is_terminal:
        yield None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=errors, transient=True) as bar:
        task = bar.add_task(label, total=projector.tree_size())

        def advance(n: int) -> None:
            bar.advance(task, n)

        yield advance


def projector_of(ctx: Context) -> Projector:
    return ctx.services.projector


def as_of_of(text: str | None) -> datetime | None:
    return parse_as_of(text) if text else None


# ── Writers ──────────────────────────────────────────────────────────────────


def write_table(report: Any, with_cases: bool) -> None:
    basis: Basis = report.basis
    console.print(f"[bold]{REPORTS[basis.report]}[/]　考核期 {basis.period}（{basis.period_start} 至 {basis.period_end}）　"
                  f"as-of {basis.as_of.isoformat() if basis.as_of else '—（全部）'}　期限参照日 {basis.reference_day}")
    console.print(f"日志前 {basis.tree_size} 条，根 {basis.root}；规则集指纹 {basis.rules_fingerprint[:16]}…"
                  + (f"；单位 {basis.unit}" if basis.unit else ""))
    for section in [*sections_of(report), *([case_lists(report)] if with_cases else [])]:
        if section.rows:
            wide_table(section.title, section.headers, [[c for v in row for c in cells(v, False)] for row in section.rows])
        else:
            console.print(f"{section.title}：无")


def emit(ctx: Context, report: Any, fmt: str, out: Path | None, with_cases: bool) -> None:
    if ctx.as_json or fmt == "json":
        data = canonical_json(report) + b"\n"
        if out:
            out.write_bytes(data)
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
    elif fmt == "table":
        write_table(report, with_cases)
    elif fmt == "csv":
        data = csv_bytes(report)
        if out:
            out.write_bytes(data)
        else:
            sys.stdout.buffer.write(data)
    else:
        if out is None:
            raise InvalidInput("XLSX 需要用 --out 指定输出文件", code="missing_out")
        write_xlsx(report, out)
    if out is not None and not ctx.as_json:
        errors.print(f"已写入 {out}")


# ── Commands ─────────────────────────────────────────────────────────────────


def period_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--as-of", "as_of", default=None,
                        help="知识时间：只计此前记录的事件（2022-01-10 = 当日结束，或带时区的时间）")(func)
    func = click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="考核期结束日（含）")(func)
    func = click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="考核期开始日")(func)
    return click.option("--period", default=None, help="考核期：2021、2021-03 或 2021-01-01..2021-06-30")(func)


def parameter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--handoffs", default=Parameters().handoff_limit, show_default=True,
                        help="推诿：转办加管辖异议超过此次数")(func)
    return click.option("--backfill-hours", default=Parameters().backfill_hours, show_default=True,
                        help="补录：记录时间晚于发生时间超过此小时数（至少 24）")(func)


@click.command("report")
@click.argument("name", type=click.Choice(sorted(REPORTS)))
@period_options
@click.option("--unit", default=None, help="只看一个单位（单位编码）")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "xlsx"]), default="table", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="输出文件")
@click.option("--cases", "with_cases", is_flag=True, help="表格后列出每个数字背后的案件")
@parameter_options
@click.pass_obj
@handles_errors
def report(ctx: Context, name: str, period: str | None, start: datetime | None, end: datetime | None,
           as_of: str | None, unit: str | None, fmt: str, out: Path | None, with_cases: bool,
           backfill_hours: int, handoffs: int) -> None:
    """报告：board（案件看板）、accountability（问责报告）、indicators（考核指标）。

    看板不指定考核期时列出至今登记的全部案件。
    """
    viewer = ctx.viewer()
    today = ctx.ledger.today()
    chosen = report_period(name, period, start.date() if start else None, end.date() if end else None, today)
    inputs = Inputs(
        period=chosen,
        as_of=as_of_of(as_of), unit=ctx.services.access.report_unit(viewer, unit),
        parameters=Parameters(backfill_hours=backfill_hours, handoff_limit=handoffs),
        withheld=ctx.services.access.withheld(viewer),
        today=today,
    )
    projector = projector_of(ctx)
    with fold_progress("计算中", projector) as advance:
        result = make_report(projector, name, inputs, advance)
    emit(ctx, result, fmt, out, with_cases)


@click.command("rebuild")
@click.option("--only", type=click.Choice(PROJECTIONS), multiple=True, help="只重建这些投影（可重复）")
@click.pass_obj
@handles_errors
def rebuild(ctx: Context, only: Sequence[str]) -> None:
    """从零重建投影（案件看板、其他记录、补录），写入投影表（限本机操作员）。"""
    require_role(ctx.actor(), MAINTAINERS, "重建投影")
    projector = projector_of(ctx)
    with fold_progress("重建投影", projector) as advance:
        state = projector.rebuild(list(only) or None, advance)
    status = projector.status()
    if ctx.as_json:
        print_json(RebuildAnswer(tree_size=state.size, projections={n: p for n, (p, _) in status.items()},
                                 cases=len(state.cases), records=len(state.records), late_entries=len(state.late)))
        return
    console.print(f"已重建 {'、'.join(only) or '全部投影'}：日志 {state.size} 条事件，{len(state.cases)} 件案件，"
                  f"{len(state.records)} 条其他记录，{len(state.late)} 条补录（≥24 小时）。")


@click.command("projections")
@click.option("--follow", is_flag=True, help="持续跟随日志（SQLite 轮询，PostgreSQL 用 LISTEN/NOTIFY），Ctrl-C 停止")
@click.option("--interval", default=2.0, show_default=True, help="轮询间隔（秒）")
@click.pass_obj
@handles_errors
def projections(ctx: Context, follow: bool, interval: float) -> None:
    """投影的位置：已处理到日志第几条，是否需要重建；--follow 保持追平（限本机操作员）。"""
    require_role(ctx.actor(), MAINTAINERS, "维护投影")
    projector = projector_of(ctx)
    if follow:
        errors.print("跟随日志中（Ctrl-C 停止）…")
        try:
            projector.follow(interval=interval, on_change=lambda s: errors.print(f"已追平至 {s.size} 条事件"))
        except KeyboardInterrupt:
            pass
        finally:
            projector.close()
        return
    size = projector.tree_size()
    status = projector.status()
    if ctx.as_json:
        print_json(ProjectionsAnswer(tree_size=size, projections={
            n: ProjectionStatus(position=p, behind=size - p, needs_rebuild=stale) for n, (p, stale) in status.items()}))
        return
    rows = [(n, PROJECTION_NAMES[n], p, size - p, "是" if stale else "否") for n, (p, stale) in status.items()]
    table(f"投影（日志共 {size} 条事件）", ["投影", "内容", "已处理", "落后", "需重建"], rows)


@click.command("appraise")
@period_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="考核文件（JSON）")
@click.option("--check", "check_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="复核一个考核文件：从账本重算并逐项比对")
@parameter_options
@click.pass_obj
@handles_errors
def appraise(ctx: Context, period: str | None, start: datetime | None, end: datetime | None, as_of: str | None,
             out: Path | None, check_file: Path | None, backfill_hours: int, handoffs: int) -> None:
    """年度考核：写出签名的考核文件（指标、问责、三无奖励及其依据），或 --check 复核。"""
    require_role(ctx.actor(), APPRAISERS, "考核")
    projector = projector_of(ctx)
    path = key_path(ctx.ledger.url)
    if check_file is not None:
        key = load_key(path) if path.exists() else None
        with fold_progress("复核中", projector) as advance:
            result = appraisal.check(projector, check_file.read_bytes(), key, advance)
        show_check(ctx, result)
        if not result.reproduced:
            sys.exit(EXIT_INTEGRITY)
        return
    if out is None:
        raise InvalidInput("请用 --out 指定考核文件，或用 --check 复核", code="missing_out")
    chosen = period_of(period, start.date() if start else None, end.date() if end else None)
    with fold_progress("考核计算中", projector) as advance:
        result_appraisal = appraisal.appraise(
            projector, chosen, as_of_of(as_of), load_key(path),
            parameters=Parameters(backfill_hours=backfill_hours, handoff_limit=handoffs), advance=advance,
        )
    out.write_bytes(appraisal.encode(result_appraisal))
    body = result_appraisal.body
    if ctx.as_json:
        print_json(AppraisalWritten(file=str(out), tree_size=body.basis.tree_size, root=body.basis.root,
                                    rules_fingerprint=body.basis.rules_fingerprint, as_of=body.basis.as_of,
                                    awards_total=body.awards.total))
        return
    total = body.indicators.total
    console.print(f"考核文件已写入 {out}：{body.basis.period}，as-of {body.basis.as_of.isoformat() if body.basis.as_of else '—'}，"
                  f"日志前 {body.basis.tree_size} 条，根 {body.basis.root[:16]}…，规则集指纹 {body.basis.rules_fingerprint[:16]}…")
    console.print(f"及时受理率 {ratio_text(total.timely_acceptance.rate)}，按期办结率 {ratio_text(total.on_time_conclusion.rate)}，"
                  f"参评率 {percent(total.participation_office.value)} / {percent(total.participation_unit.value)}，"
                  f"满意率 {percent(total.satisfaction_office.value)} / {percent(total.satisfaction_unit.value)}；"
                  f"奖励合计 {body.awards.total} 元（{sum(v.passed for v in body.awards.verdicts)} 项）。已用账本密钥签名。")


def show_check(ctx: Context, result: CheckResult) -> None:
    if ctx.as_json:
        print_json(result)
        return
    if result.reproduced:
        console.print(f"[bold green]已复现[/]（reproduced）：由账本前 {result.tree_size} 条事件逐字节重算一致。")
    else:
        console.print("[bold red]未能复现[/]：")
    console.print(f"签名：{'有效' if result.signature_valid else '无效'}"
                  + ("" if result.key_matches_ledger is None else
                     f"（{'是' if result.key_matches_ledger else '不是'}本账本的密钥）"))
    console.print(f"一致性证明：前 {result.tree_size} 条{'仍是' if result.consistent else '不再是'}今天日志"
                  f"（{result.current_size} 条，根 {result.current_root[:16]}…）的前缀；"
                  f"由叶子重算的根{'与签名一致' if result.prefix_root_matches else '与签名不符'}。")
    console.print(f"as-of 之后记录的 {result.recorded_after} 条事件不计入。")
    if result.rules_changed:
        console.print("规则集与考核时不同（见下）。")
    for reason in result.reasons:
        console.print(f"· {reason}")
    if result.differences:
        rows = [(d.path, _short(d.recorded), _short(d.derived)) for d in result.differences]
        table(f"不同的数字（{len(rows)} 项）", ["位置", "考核文件", "今天重算"], rows)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
    return text if len(text) <= 80 else text[:77] + "…"


COMMANDS = (report, rebuild, projections, appraise)
