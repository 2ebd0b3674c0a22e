"""Reports for appraisal staff: the same parameters as the CLI, as JSON, CSV or XLSX.

The format is chosen by ``format`` (``json``, ``csv``, ``xlsx``) or else by the ``Accept`` header;
a format that cannot be produced is answered 406. Only the awards (``xinfang awards``) are served
so far: they are county-wide figures, read by administrators, leaders, inspectors and appraisers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Annotated, Literal

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIMediaType, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import HeaderParameter, QueryParameter

from api.auth import roles
from api.context import ApiContext
from api.problems import ApiProblem, responses
from ledger.awards import award_report, encode
from ledger.facts import parse_as_of, parse_period
from schemas.rules import AwardReport

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
READERS = ("admin", "leader", "inspector", "appraiser")
Format = Literal["json", "csv", "xlsx"]


@dataclass
class TableFormats(Operation):
    """Documents the CSV and XLSX forms of the 200 answer beside the JSON one."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if ok is not None and getattr(ok, "content", None) is not None:
            ok.content["text/csv"] = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))  # type: ignore[union-attr, index]
            ok.content[XLSX] = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, format="binary"))  # type: ignore[union-attr, index]


def negotiate(fmt: str | None, accept: str | None) -> str:
    if fmt:
        return fmt
    for item in (accept or "*/*").split(","):
        media = item.split(";")[0].strip().lower()
        if media in {"application/json", "*/*", "application/*", ""}:
            return "json"
        if media in {"text/csv", "text/*"}:
            return "csv"
        if media == XLSX:
            return "xlsx"
    raise ApiProblem("not-acceptable", f"无法提供 {accept} 格式：可用 application/json、text/csv 或 {XLSX}",
                     code="not_acceptable")


HEADERS = ["称号", "单位编码", "单位", "类别", "结果", "未通过原因", "奖励（元）"]


def rows(report: AwardReport) -> list[list[object]]:
    return [[v.title, v.unit, v.name, v.township_class or v.kind, "通过" if v.passed else "未通过",
             "；".join(f"{f.criterion}：{f.reason}" for f in v.failures) or v.note, v.amount if v.passed else 0]
            for v in report.verdicts]


def as_csv(report: AwardReport) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(rows(report))
    writer.writerow(["合计", "", "", "", "", f"规则集指纹 {report.rules_fingerprint}；事件数 {report.tree_size}",
                     report.total])
    return ("\ufeff" + out.getvalue()).encode()  # BOM: spreadsheet programs then read UTF-8


def as_xlsx(report: AwardReport) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "奖励评定"
    sheet.append(HEADERS)
    for row in rows(report):
        sheet.append(row)
    sheet.append(["合计", "", "", "", "", f"规则集指纹 {report.rules_fingerprint}；事件数 {report.tree_size}",
                  report.total])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class ReportController(Controller):
    path = "/reports"
    tags = ["报表 reports"]

    @get(
        "/awards",
        summary="“三无”等奖励评定",
        description="与 xinfang awards 相同：period（2021、2021-03 或 2021-01-01..2021-06-30，按发生时间）、"
        "as_of（只计入此前记录的事件）。JSON、CSV 或 XLSX（format 参数或 Accept 头）。",
        guards=[roles(*READERS)],
        sync_to_thread=True,
        operation_class=TableFormats,
        responses=responses(400, 401, 403, 406),
    )
    def awards(
        self,
        ctx: NamedDependency[ApiContext],
        request: Request,  # type: ignore[type-arg]
        period: Annotated[str, QueryParameter(description="考核期：2021、2021-03 或 2021-01-01..2021-06-30",
                                              max_length=40)],
        as_of: Annotated[str | None, QueryParameter(description="知识时间：2022-01-15 或带时区的时间",
                                                    max_length=40)] = None,
        format: Annotated[Format | None, QueryParameter(description="json、csv 或 xlsx；省略时按 Accept")] = None,
        accept: Annotated[str | None, HeaderParameter(name="Accept", required=False, max_length=500)] = None,
    ) -> AwardReport:
        kind = negotiate(format, accept)
        report = award_report(ctx.ledger, parse_period(period), as_of=parse_as_of(as_of) if as_of else None)
        if kind == "csv":
            return Response(as_csv(report), media_type=CSV,  # type: ignore[return-value]
                            headers={"Content-Disposition": 'attachment; filename="awards.csv"'})
        if kind == "xlsx":
            return Response(as_xlsx(report), media_type=XLSX,  # type: ignore[return-value]
                            headers={"Content-Disposition": 'attachment; filename="awards.xlsx"'})
        return Response(encode(report), media_type="application/json")  # type: ignore[return-value]
