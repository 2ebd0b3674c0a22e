"""Reports as files: the sections of a report, written as CSV (for Excel) or XLSX (a sheet per section).

One model serves every output: a report becomes :class:`Section` s (title, Chinese headers,
rows), which ``xinfang report`` prints as tables and which :func:`csv_bytes` and
:func:`xlsx_bytes` write as files — the same files from the command line and from the HTTP
API (``GET /api/reports/{name}``). In files a ratio spreads into numerator, denominator and
percent, so the figures can be summed and checked in a spreadsheet; the basis of the report
(period, as-of, log prefix and root, rule-set fingerprint) comes first.

:func:`without_cases` drops the case numbers behind the figures (``Ratio.cases``/``others``,
``Tally.cases``), for an answer that states the figures only.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import msgspec

from ledger.domain.case import CHINA
from ledger.projections.reports import REPORTS
from schemas.reports import (
    AccountabilityReport,
    Basis,
    BoardReport,
    IndicatorReport,
    Ratio,
    Tally,
    Timeliness,
    UnitIndicators,
)

Report = BoardReport | AccountabilityReport | IndicatorReport
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ── Sections: one model for tables, CSV and XLSX ─────────────────────────────


def percent(value: float | None) -> str:
    """0.951111 → 95.11%, 0.96 → 96%; — when there is no denominator."""
    if value is None:
        return "—"
    text = f"{value * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


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
        ["单位", "矛盾纠纷化解率", "调处化解率", "包案化解率", "接访化解率", "接访按期办理中（件）", "回访联系成功率",
         "回访不满意（件）"],
        [[u.name if u.unit == "*" else f"{u.name}（{u.unit}）", u.disputes, u.disputes_mediated, u.leader_cases,
          u.reception_resolution, u.reception_open_in_time, u.follow_up, u.follow_up_unsatisfied] for u in rows],
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
        [[p.plugin, p.label, p.unit or (f"适用单位：{'、'.join(p.scope)}" if p.scope else "全部"), p.ratio, f"{p.target_percent}%" if p.target_percent is not None else "—",
          p.basis] for p in [*report.plugin, *(p for u in report.units for p in u.plugin)]],
    )
    return [four, resolve, timing, incidents, receptions, backlog, plugin]


def accountability_sections(report: AccountabilityReport) -> list[Section]:
    units = Section(
        "单位",
        ["单位", "经办件数", "转送超期", "受理超期", "办理超期", "督办答复超期", "推诿", "不满意", "三函一单答复超期",
         "问责决定", "补录", "身份信息查阅（次）"],
        [[f"{u.name}（{u.unit}）", u.handled, u.late_routing, u.late_acceptance, u.late_decisions, u.supervision_late,
          u.bounced, u.unsatisfied, u.recommendations_late, len(u.decisions), u.backfill, len(u.identity_reads)]
         for u in report.units],
    )
    officials = Section(
        "干部", ["干部", "姓名", "单位", "经办件数", "受理超期", "办理超期", "问责决定", "补录", "身份信息查阅（次）"],
        [[o.official, o.name, o.unit, o.handled, o.late_acceptance, o.late_decisions, len(o.decisions), o.backfill,
          len(o.identity_reads)] for o in report.officials],
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
    reads = Section(
        "身份信息查阅（谁、何时、因哪件案件、为何读取了信访人身份信息）", ["单位", "干部", "日期", "信访人", "案件", "用途", "记录"],
        [[u.unit, r.official, r.day, r.ref, r.case or "—", r.purpose or "未说明", r.read]
         for u in report.units for r in u.identity_reads],
    )
    findings = Section(
        "规则插件的问责建议", ["单位", "建议", "事由", "案件", "依据", "插件"],
        [[f.unit, f.recommendation, f.grounds, f.cases, f.basis, f.plugin] for f in report.findings],
    )
    migrations = Section(
        "历史数据迁移（其截止时间前的记录不计补录）", ["迁移", "来源系统", "截止时间", "预计条数", "已导入", "声明人", "单位", "声明日期"],
        [[m.migration, m.source, m.cutoff, m.expected, m.imported, m.declared_by, m.unit, m.declared_on]
         for m in report.migrations],
    )
    return [units, officials, late, supervision, bounces, letters, decisions, backfill, reads, migrations, findings]


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


# ── Files ────────────────────────────────────────────────────────────────────


def file_sections(report: Report, with_cases: bool = True) -> list[Section]:
    """What a file holds: the basis, the report's sections, and (``with_cases``) the cases behind each figure."""
    return [basis_section(report.basis), *sections_of(report), *([case_lists(report)] if with_cases else [])]


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a text cell as a formula (OWASP, CSV injection)."""
UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""Control characters an XLSX cell cannot hold; the log may still carry some from before input refused them."""


def sheet_value(value: Any) -> Any:
    """A cell as every file writer emits it: text made inert, numbers left numbers.

    Text that starts like a formula gets a leading single quote (OWASP): ``=HYPERLINK(…)`` in a
    subject stays the text a clerk typed and never becomes a live formula or link. Control
    characters become U+FFFD.
    """
    if not isinstance(value, str):
        return value
    value = UNPRINTABLE.sub("\ufffd", value)
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_file(rows: Iterable[Sequence[Any]]) -> bytes:
    """CSV in UTF-8 with a BOM (``utf-8-sig``, so spreadsheet programs read the Chinese right); every
    text cell made inert and quoted, numbers unquoted."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC)
    for row in rows:
        writer.writerow([sheet_value(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_file(sheets: Iterable[tuple[str, Sequence[Sequence[Any]]]], target: Path | IO[bytes]) -> None:
    """A workbook, one sheet per (title, rows): bold first row, frozen below it, widths to fit; text
    cells made inert and stored as text (never a formula or an error value)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for title, rows in sheets:
        sheet = book.create_sheet(_sheet_title(title, used))
        for row in rows:
            sheet.append([sheet_value(v) for v in row])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for column in sheet.columns:
            width = max((len(str(c.value)) for c in column if c.value is not None), default=4)
            sheet.column_dimensions[column[0].column_letter].width = min(60, max(8, width * 1.6))
    book.save(target)


def _csv_rows(report: Report, with_cases: bool) -> Iterator[list[Any]]:
    """Every section one after the other, each under its 【title】, a blank line between."""
    for section in file_sections(report, with_cases):
        yield [f"【{section.title}】"]
        yield headers_of(section, True)
        for row in section.rows:
            yield [c for v in row for c in cells(v, True)]
        yield []


def csv_bytes(report: Report, with_cases: bool = True) -> bytes:
    return csv_file(_csv_rows(report, with_cases))


def write_xlsx(report: Report, target: Path | IO[bytes], with_cases: bool = True) -> None:
    """A sheet per section, headers first."""
    xlsx_file(((section.title, [headers_of(section, True), *([c for v in row for c in cells(v, True)]
                                                                  for row in section.rows)])
               for section in file_sections(report, with_cases)), target)


def xlsx_bytes(report: Report, with_cases: bool = True) -> bytes:
    out = io.BytesIO()
    write_xlsx(report, out, with_cases)
    return out.getvalue()


def _sheet_title(title: str, used: set[str]) -> str:
    name = "".join(ch for ch in title.split("（")[0] if ch not in "[]:*?/\\")[:28] or "表"
    candidate, n = name, 2
    while candidate in used:
        candidate, n = f"{name}{n}", n + 1
    used.add(candidate)
    return candidate


# ── Figures without their cases ──────────────────────────────────────────────

T = TypeVar("T")


def without_cases(value: T) -> T:
    """``value`` with the case numbers behind its figures left out: every ``Ratio`` keeps numerator,
    denominator and value, every ``Tally`` its count; rows that are themselves cases (the board's,
    the late items…) stay."""
    if isinstance(value, Ratio):
        return msgspec.structs.replace(value, cases=[], others=[]) if value.cases or value.others else value  # type: ignore[return-value]
    if isinstance(value, Tally):
        return msgspec.structs.replace(value, cases=[]) if value.cases else value  # type: ignore[return-value]
    if isinstance(value, msgspec.Struct):
        changed = {}
        for name in value.__struct_fields__:
            old = getattr(value, name)
            new = without_cases(old)
            if new is not old:
                changed[name] = new
        return msgspec.structs.replace(value, **changed) if changed else value
    if isinstance(value, list):
        items = [without_cases(item) for item in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value  # type: ignore[return-value]
    return value
