"""Reports, projections and appraisals on the command line.

``xinfang report NAME`` prints a report (table, JSON, CSV for Excel, or XLSX with one sheet
per section); ``xinfang rebuild`` rebuilds the projections from zero; ``xinfang
projections`` shows where they stand and ``--follow`` keeps them caught up;
``xinfang appraise`` writes a signed year-end appraisal and ``--check`` re-derives one.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ledger.cli import Context, handles_errors
from ledger.cli.output import EXIT_INTEGRITY, console, errors, print_json, table
from ledger.domain.case import CHINA
from ledger.errors import InvalidInput
from ledger.facts import parse_as_of, parse_period
from ledger.projections.reports import REPORTS, Inputs, encode, make_report
from ledger.projections.runner import Projector
from ledger.projections.state import PROJECTIONS
from schemas.facts import Period
from schemas.reports import (
    AccountabilityReport,
    Basis,
    BoardReport,
    CheckResult,
    IndicatorReport,
    Parameters,
    Ratio,
    Tally,
    Timeliness,
    UnitIndicators,
)

PROJECTION_NAMES = {"cases": "案件", "records": "其他记录（单位、函件、纠纷、事件…）", "backfill": "补录与录入量"}


# ── Small helpers ────────────────────────────────────────────────────────────


def percent(value: float | None) -> str:
    """0.951111 → 95.11%, 0.96 → 96%; — when there is no denominator."""
    if value is None:
        return "—"
    text = f"{value * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


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
    return Projector.of(ctx.ledger)


def period_of(period: str | None, start: date | None, end: date | None) -> Period:
    if period is not None:
        if start is not None or end is not None:
            raise InvalidInput("--period 与 --from/--to 只能二选一", code="bad_period")
        return parse_period(period)
    if start is None and end is None:
        raise InvalidInput("请用 --period（如 2021）或 --from/--to 指定考核期", code="bad_period")
    first = start or date(2000, 1, 1)
    last = end or datetime.now(CHINA).date()
    if last < first:
        raise InvalidInput(f"考核期结束日 {last} 早于开始日 {first}", code="bad_period")
    return Period(label=f"{first.isoformat()}至{last.isoformat()}", start=first, end=last)


def as_of_of(text: str | None) -> datetime | None:
    return parse_as_of(text) if text else None


# ── Sections: one model for tables, CSV and XLSX ─────────────────────────────


@dataclass
class Section:
    title: str
    headers: list[str]
    rows: list[list[Any]]


def ratio_text(r: Ratio) -> str:
    return f"{percent(r.value)}（{r.numerator}/{r.denominator}）" if r.denominator else "—"


def cells(value: Any, spread: bool) -> list[Any]:
    """A cell for the terminal; a ratio spreads into numerator, denominator and percent for files."""
    if isinstance(value, Ratio):
        if not spread:
            return [ratio_text(value)]
        return [value.numerator, value.denominator, round(value.value * 100, 2) if value.value is not None else None]
    if isinstance(value, Tally):
        return [value.count]
    if isinstance(value, list):
        return ["、".join(str(v) for v in value)]
    if isinstance(value, date | datetime):
        return [value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else value.isoformat()]
    return [value]


def headers_of(section: Section, spread: bool) -> list[str]:
    if not spread or not section.rows:
        return section.headers
    out: list[str] = []
    for header, value in zip(section.headers, section.rows[0], strict=True):
        out += [f"{header}·分子", f"{header}·分母", f"{header}·%"] if isinstance(value, Ratio) else [header]
    return out


def basis_section(basis: Basis) -> Section:
    rows = [
        ["报告", REPORTS.get(basis.report, basis.report)],
        ["考核期（业务时间）", f"{basis.period}（{basis.period_start} 至 {basis.period_end}）"],
        ["知识时间 as-of", basis.as_of.isoformat() if basis.as_of else "全部已记录事件"],
        ["期限参照日", basis.reference_day.isoformat()],
        ["日志前缀（树大小）", basis.tree_size],
        ["根（RFC 9162）", basis.root],
        ["规则集指纹", basis.rules_fingerprint],
        ["规则插件", "、".join(f"{p.name} {p.version}" for p in basis.plugins)],
        ["补录阈值（小时）", basis.parameters.backfill_hours],
        ["推诿阈值（转办+异议次数超过）", basis.parameters.handoff_limit],
    ]
    if basis.unit:
        rows.append(["单位", basis.unit])
    return Section("依据", ["项目", "内容"], rows)


def board_sections(report: BoardReport) -> list[Section]:
    rows = [
        [c.number, c.stage, c.channel, c.subject, c.received_on, c.unit or "—", c.leader or "—", c.flags,
         "；".join(f"{d.label} {d.due}" for d in c.running[:2]) or "—",
         "；".join(f"{d.label} 超期{d.days_late}天" for d in c.overdue) or "—", c.handoffs + c.objections]
        for c in report.cases
    ]
    headers = ["案件", "状态", "渠道", "类别", "登记日", "责任单位", "包案领导", "标记", "进行中的期限", "超期", "转办次数"]
    return [Section(f"案件看板（{len(rows)} 件）", headers, rows)]


def _timeliness_row(name: str, t: Timeliness) -> list[Any]:
    return [name, t.rate, t.on_time, t.late, t.open_overdue, t.open_pending]


def indicator_sections(report: IndicatorReport) -> list[Section]:
    rows: list[UnitIndicators] = [report.total, *report.units]
    four = Section(
        "四率及办结率",
        ["单位", "及时受理率", "按期办结率", "参评率·信访部门", "参评率·责任单位", "满意率·信访部门", "满意率·责任单位",
         "办结率", "重复信访率"],
        [[f"{u.name}（{u.unit}）" if u.unit != "*" else u.name, u.timely_acceptance.rate, u.on_time_conclusion.rate,
          u.participation_office, u.participation_unit, u.satisfaction_office, u.satisfaction_unit, u.conclusion,
          u.repeat] for u in rows],
    )
    resolve = Section(
        "化解与回访",
        ["单位", "矛盾纠纷化解率", "调处化解率", "包案化解率", "回访联系成功率", "回访不满意（件）"],
        [[u.name if u.unit == "*" else f"{u.name}（{u.unit}）", u.disputes, u.disputes_mediated, u.leader_cases,
          u.follow_up, u.follow_up_unsatisfied] for u in rows],
    )
    timing = Section(
        "期限分项",
        ["单位", "期限", "比率", "按期", "超期完成", "超期未完成", "未到期"],
        [[u.name, *_timeliness_row(name, t)] for u in rows for name, t in (("受理", u.timely_acceptance), ("办结", u.on_time_conclusion))],
    )
    incidents = Section(
        "越级、集体、非正常访（批次 / 人次）", ["单位", "类别", "去向", "批次", "人次", "事件"],
        [[u.name, i.kind, i.level, i.batches, i.persons, i.incidents] for u in rows for i in u.incidents],
    )
    receptions = Section(
        "领导接访", ["单位", "场次", "批次", "人次", "当场答复", "交转办"],
        [[u.name, u.receptions.sessions, u.receptions.batches, u.receptions.persons, u.receptions.answered_on_spot,
          u.receptions.referred] for u in rows if u.receptions.sessions.count],
    )
    backlog = Section("积案批次化解", ["批次", "名称", "交办日期", "化解率"],
                      [[b.batch, b.name, b.listed_on, b.resolution] for b in report.backlog])
    plugin = Section(
        "规则插件指标", ["插件", "指标", "单位", "比率", "目标", "依据"],
        [[p.plugin, p.label, p.unit or "全部", p.ratio, f"{p.target_percent}%" if p.target_percent is not None else "—",
          p.basis] for p in [*report.plugin, *(p for u in report.units for p in u.plugin)]],
    )
    return [four, resolve, timing, incidents, receptions, backlog, plugin]


def accountability_sections(report: AccountabilityReport) -> list[Section]:
    units = Section(
        "单位",
        ["单位", "经办件数", "转送超期", "受理超期", "办理超期", "督办答复超期", "推诿", "不满意", "三函一单答复超期",
         "问责决定", "补录"],
        [[f"{u.name}（{u.unit}）", u.handled, u.late_routing, u.late_acceptance, u.late_decisions, u.supervision_late,
          u.bounced, u.unsatisfied, u.recommendations_late, len(u.decisions), u.backfill] for u in report.units],
    )
    officials = Section(
        "干部", ["干部", "姓名", "单位", "经办件数", "受理超期", "办理超期", "问责决定", "补录"],
        [[o.official, o.name, o.unit, o.handled, o.late_acceptance, o.late_decisions, len(o.decisions), o.backfill]
         for o in report.officials],
    )
    late = Section(
        "超期明细", ["单位", "案件", "期限", "到期", "完成", "超期天数", "经办人"],
        [[u.unit, i.case, i.label, i.due, i.done or "未完成", i.days_late, i.official or "—"]
         for u in report.units for i in u.late_items],
    )
    supervision = Section(
        "督办明细", ["单位", "案件", "督办", "下达", "答复期限", "答复", "超期天数"],
        [[u.unit, i.case, i.order, i.ordered_on, i.reply_due, i.answered_on or "未答复", i.days_late]
         for u in report.units for i in u.supervision_items],
    )
    bounces = Section(
        "推诿（转办过多）", ["单位", "案件", "转办次数", "管辖异议", "经手单位"],
        [[u.unit, b.case, b.handoffs, b.objections, b.units] for u in report.units for b in u.bounces],
    )
    letters = Section(
        "三函一单", ["单位", "函件", "类别", "发出", "答复期限", "答复", "超期天数", "案件"],
        [[u.unit, item.letter, item.kind, item.issued_on, item.reply_due, item.answered_on or "未答复", item.days_late,
          item.cases] for u in report.units for item in u.recommendations],
    )
    decisions = Section(
        "问责决定", ["单位", "决定", "措施", "日期", "干部", "事由", "案件"],
        [[u.unit, d.decision, d.measure, d.decided_on, d.official or "—", d.grounds, d.cases]
         for u in report.units for d in u.decisions],
    )
    backfill = Section(
        "补录明细（记录时间晚于发生时间超过阈值）", ["单位", "序号", "案件或记录", "事件", "操作人", "发生时间", "记录时间", "间隔（天）"],
        [[u.unit, e.seq, e.key, e.name, e.actor, e.occurred_at, e.recorded_at, round(e.hours / 24, 1)]
         for u in report.units for e in u.backfill_entries],
    )
    findings = Section(
        "规则插件的问责建议", ["单位", "建议", "事由", "案件", "依据", "插件"],
        [[f.unit, f.recommendation, f.grounds, f.cases, f.basis, f.plugin] for f in report.findings],
    )
    return [units, officials, late, supervision, bounces, letters, decisions, backfill, findings]


def case_lists(report: Any) -> Section:
    """Every figure's cases: the numerator's, then the rest of the denominator."""
    rows: list[list[Any]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Ratio):
            if value.cases or value.others:
                rows.append([path, value.numerator, value.denominator, value.cases, value.others])
        elif isinstance(value, Tally):
            if value.cases:
                rows.append([path, value.count, "", value.cases, []])
        elif isinstance(value, msgspec.Struct):
            for name in value.__struct_fields__:
                if name != "basis":
                    walk(getattr(value, name), f"{path}.{name}" if path else name)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                label = getattr(item, "unit", None) or getattr(item, "official", None) or getattr(item, "batch", None)
                walk(item, f"{path}[{label if isinstance(label, str) else i}]")

    walk(report, "")
    return Section("明细：各数字背后的案件", ["数字", "分子", "分母", "计入分子的案件", "其余案件"], rows)


def sections_of(report: Any) -> list[Section]:
    if isinstance(report, BoardReport):
        return board_sections(report)
    if isinstance(report, IndicatorReport):
        return indicator_sections(report)
    return accountability_sections(report)


# ── Writers ──────────────────────────────────────────────────────────────────


def wide_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Reports are wide: cells wrap instead of being cut, and a pipe gets 200 columns, not 80."""
    out = Console(highlight=False, width=None if console.is_terminal else 200)
    grid = Table(title=title, title_justify="left")
    for header in headers:
        grid.add_column(header, overflow="fold")
    for row in rows:
        grid.add_row(*("" if cell is None else str(cell) for cell in row))
    out.print(grid)


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


def write_csv(report: Any, sink: io.TextIOBase) -> None:
    writer = csv.writer(sink)
    for section in [basis_section(report.basis), *sections_of(report), case_lists(report)]:
        writer.writerow([f"【{section.title}】"])
        writer.writerow(headers_of(section, True))
        for row in section.rows:
            writer.writerow([c for v in row for c in cells(v, True)])
        writer.writerow([])


def write_xlsx(report: Any, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for section in [basis_section(report.basis), *sections_of(report), case_lists(report)]:
        title = _sheet_title(section.title, used)
        sheet = book.create_sheet(title)
        sheet.append(headers_of(section, True))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in section.rows:
            sheet.append([c for v in row for c in cells(v, True)])
        sheet.freeze_panes = "A2"
        for column in sheet.columns:
            width = max((len(str(c.value)) for c in column if c.value is not None), default=4)
            sheet.column_dimensions[column[0].column_letter].width = min(60, max(8, width * 1.6))
    book.save(path)


def _sheet_title(title: str, used: set[str]) -> str:
    name = "".join(ch for ch in title.split("（")[0] if ch not in "[]:*?/\\")[:28] or "表"
    candidate, n = name, 2
    while candidate in used:
        candidate, n = f"{name}{n}", n + 1
    used.add(candidate)
    return candidate


def emit(ctx: Context, report: Any, fmt: str, out: Path | None, with_cases: bool) -> None:
    if ctx.as_json or fmt == "json":
        data = encode(report) + b"\n"
        if out:
            out.write_bytes(data)
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
    elif fmt == "table":
        write_table(report, with_cases)
    elif fmt == "csv":
        buffer = io.StringIO()
        write_csv(report, buffer)
        if out:
            out.write_text(buffer.getvalue(), encoding="utf-8-sig", newline="")
        else:
            sys.stdout.buffer.write(buffer.getvalue().encode("utf-8-sig"))
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
    if name == "board" and period is None and start is None and end is None:
        chosen = Period(label="至今登记的全部案件", start=date(2000, 1, 1), end=datetime.now(CHINA).date())
    else:
        chosen = period_of(period, start.date() if start else None, end.date() if end else None)
    inputs = Inputs(
        period=chosen,
        as_of=as_of_of(as_of), unit=unit,
        parameters=Parameters(backfill_hours=backfill_hours, handoff_limit=handoffs),
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
    """从零重建投影（案件看板、其他记录、补录），写入投影表。"""
    projector = projector_of(ctx)
    with fold_progress("重建投影", projector) as advance:
        state = projector.rebuild(list(only) or None, advance)
    status = projector.status()
    if ctx.as_json:
        print_json({"tree_size": state.size, "projections": {n: p for n, (p, _) in status.items()},
                    "cases": len(state.cases), "records": len(state.records), "late_entries": len(state.late)})
        return
    console.print(f"已重建 {'、'.join(only) or '全部投影'}：日志 {state.size} 条事件，{len(state.cases)} 件案件，"
                  f"{len(state.records)} 条其他记录，{len(state.late)} 条迟录（≥24 小时）。")


@click.command("projections")
@click.option("--follow", is_flag=True, help="持续跟随日志（SQLite 轮询，PostgreSQL 用 LISTEN/NOTIFY），Ctrl-C 停止")
@click.option("--interval", default=2.0, show_default=True, help="轮询间隔（秒）")
@click.pass_obj
@handles_errors
def projections(ctx: Context, follow: bool, interval: float) -> None:
    """投影的位置：已处理到日志第几条，是否需要重建；--follow 保持追平。"""
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
        print_json({"tree_size": size, "projections": {
            n: {"position": p, "behind": size - p, "needs_rebuild": stale} for n, (p, stale) in status.items()}})
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
    from ledger import appraisal
    from ledger.integrity.keys import key_path, load_key

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
        print_json({"file": str(out), "tree_size": body.basis.tree_size, "root": body.basis.root,
                    "rules_fingerprint": body.basis.rules_fingerprint, "as_of": body.basis.as_of,
                    "awards_total": body.awards.total})
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
