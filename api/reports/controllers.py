"""Reports and appraisals for the HTTP API: the same parameters as the CLI, as JSON, CSV or XLSX.

The format is chosen by ``format`` (``json``, ``csv``, ``xlsx``) or else by the ``Accept`` header;
a format that cannot be produced is answered 406.

* ``GET /api/reports/awards`` — the awards (``xinfang awards``): county-wide figures, read by
  administrators, leaders, inspectors and appraisers.
* ``GET /api/reports/{name}`` — ``board``, ``accountability``, ``indicators`` (``xinfang report``).
  Administrators, inspectors and appraisers read them for any unit or the whole county; every
  other role for its own unit (the default) or a unit below it (403 otherwise). 检举 cases are
  left out wherever the caller may not see them (:meth:`ledger.access.Access.withheld`), as
  they are from a report for a unit they accuse (:mod:`ledger.projections.reports`). CSV and
  XLSX are the files ``xinfang report --format csv|xlsx`` writes (:mod:`ledger.projections.export`).
* ``POST /api/appraisals`` signs a year-end appraisal (``xinfang appraise``), ``POST
  /api/appraisals/check`` re-derives one (``xinfang appraise --check``): appraisers,
  inspectors and administrators only.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import HeaderParameter, JSONBody, PathParameter, QueryParameter, RawBody

from api.auth import roles
from api.context import ApiContext
from api.params import query
from api.problems import ApiProblem, responses
from ledger import appraisal
from ledger.access import APPRAISERS, AWARD_READERS
from ledger.awards import award_report
from ledger.canonical import canonical_json
from ledger.errors import ConfigError, InvalidInput
from ledger.facts import parse_as_of, parse_period
from ledger.integrity.keys import key_path, load_key
from ledger.projections import export
from ledger.projections.reports import REPORTS, Inputs, make_report, period_of, report_period
from schemas.common import Actor, Code
from schemas.reports import (
    AccountabilityReport,
    Appraisal,
    AppraisalRequest,
    BoardReport,
    CheckResult,
    IndicatorReport,
    Parameters,
)
from schemas.rules import AwardReport

CSV = export.CSV
XLSX = export.XLSX
MAX_APPRAISAL = 64 << 20
"""An appraisal file lists the cases behind every figure: a large county's runs to tens of MiB."""
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


HEADERS = ["称号", "单位编码", "单位", "类别", "结果", "原因或说明", "奖励（元）"]


def rows(report: AwardReport) -> list[list[object]]:
    return [[v.title, v.unit, v.name, v.township_class or v.kind, v.result,
             "；".join([*(f"{f.criterion}：{f.reason}" for f in v.failures), *([v.note] if v.note else [])]),
             v.amount if v.passed else 0]
            for v in report.verdicts]


def table(report: AwardReport) -> list[list[object]]:
    return [HEADERS, *rows(report), ["合计", "", "", "", "", f"规则集指纹 {report.rules_fingerprint}；"
                                     f"事件数 {report.tree_size}", report.total]]


def as_csv(report: AwardReport) -> bytes:
    return export.csv_file(table(report))


def as_xlsx(report: AwardReport) -> bytes:
    out = io.BytesIO()
    export.xlsx_file([("奖励评定", table(report))], out)
    return out.getvalue()


class ReportController(Controller):
    path = "/reports"
    tags = ["报表 reports"]

    @get(
        "/awards",
        summary="“三无”等奖励评定",
        description="与 xinfang awards 相同：period（2021、2021-03 或 2021-01-01..2021-06-30，按发生时间）、"
        "as_of（只计入此前记录的事件）。JSON、CSV 或 XLSX（format 参数或 Accept 头）。",
        guards=[roles(*AWARD_READERS)],
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
        report = award_report(ctx.services.projector, parse_period(period), as_of=parse_as_of(as_of) if as_of else None,
                              today=ctx.today())
        if kind == "csv":
            return Response(as_csv(report), media_type=CSV,  # type: ignore[return-value]
                            headers={"Content-Disposition": 'attachment; filename="awards.csv"'})
        if kind == "xlsx":
            return Response(as_xlsx(report), media_type=XLSX,  # type: ignore[return-value]
                            headers={"Content-Disposition": 'attachment; filename="awards.xlsx"'})
        return Response(canonical_json(report), media_type="application/json")  # type: ignore[return-value]

    @get(
        "/{name:str}",
        summary="案件看板、问责报告、考核指标",
        description="与 xinfang report NAME 相同：name 为 board（案件看板）、accountability（问责报告）或 indicators"
        "（考核指标）；考核期用 period（2021、2021-03 或 2021-01-01..2021-06-30）或 from/to（起止日，含），看板可省略"
        "（至今登记的全部案件）；as_of 为知识时间（只计入此前记录的事件）；unit 只看一个单位；cases=true 时列出每个"
        "数字背后的案件（JSON 中 cases/others，CSV、XLSX 中的“明细”部分），默认不列；backfill_hours、handoffs 为补录、"
        "推诿阈值。JSON、CSV（UTF-8 带 BOM）或 XLSX（每部分一张工作表），由 format 参数或 Accept 头决定。"
        "管理员、纪检监察、考核人员可看任何单位或全县；其他角色只能看本单位（省略 unit 时即本单位）及下级单位，"
        "其他单位 403。检举件对被检举的单位、其下级单位和干部不计入、不列出。",
        sync_to_thread=True,
        operation_class=TableFormats,
        responses=responses(400, 401, 403, 404, 406, 409, described={
            403: "unit 不在本单位管辖范围内（forbidden）",
            404: "没有这个报告（not-found）",
            409: "计算期间账本写入了新事件（write-conflict），请重试或指定 as_of",
        }),
    )
    def report(
        self,
        ctx: NamedDependency[ApiContext],
        actor: NamedDependency[Actor],
        name: Annotated[str, PathParameter(description="board、accountability 或 indicators", max_length=40,
                                           schema_extra={"enum": sorted(REPORTS)})],
        period: Annotated[str | None, QueryParameter(description="考核期：2021、2021-03 或 2021-01-01..2021-06-30；"
                                                     "与 from/to 二选一", max_length=40)] = None,
        start: Annotated[date | None, QueryParameter(name="from", description="考核期开始日（含）")] = None,
        end: Annotated[date | None, QueryParameter(name="to", description="考核期结束日（含）")] = None,
        as_of: Annotated[str | None, QueryParameter(description="知识时间：2022-01-15（当日结束）或带时区的时间",
                                                    max_length=40)] = None,
        unit: Annotated[str | None, query(Code, "只看一个单位（单位编码）；非管理、纪检、考核角色默认本单位")] = None,
        cases: Annotated[bool, QueryParameter(description="列出每个数字背后的案件")] = False,
        backfill_hours: Annotated[int, QueryParameter(
            ge=24, le=87_600, description="补录：记录时间晚于发生时间超过此小时数（至少 24）")] = Parameters().backfill_hours,
        handoffs: Annotated[int, QueryParameter(
            ge=1, le=1000, description="推诿：转办加管辖异议超过此次数")] = Parameters().handoff_limit,
        format: Annotated[Format | None, QueryParameter(description="json、csv 或 xlsx；省略时按 Accept")] = None,
        accept: Annotated[str | None, HeaderParameter(name="Accept", required=False, max_length=500)] = None,
    ) -> BoardReport | AccountabilityReport | IndicatorReport:
        if name not in REPORTS:
            raise ApiProblem("not-found", f"没有名为 {name} 的报告；可用：{'、'.join(REPORTS)}", code="unknown_report")
        kind = negotiate(format, accept)
        viewer = ctx.viewer(actor)
        inputs = Inputs(
            period=report_period(name, period, start, end, ctx.today()),
            as_of=parse_as_of(as_of) if as_of else None,
            unit=ctx.access.report_unit(viewer, unit),
            parameters=Parameters(backfill_hours=backfill_hours, handoff_limit=handoffs),
            withheld=ctx.access.withheld(viewer),
            today=ctx.today(),
        )
        result = make_report(ctx.services.projector, name, inputs)
        if kind == "csv":
            return Response(export.csv_bytes(result, with_cases=cases), media_type=CSV,  # type: ignore[return-value]
                            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
        if kind == "xlsx":
            return Response(export.xlsx_bytes(result, with_cases=cases), media_type=XLSX,  # type: ignore[return-value]
                            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
        body = result if cases else export.without_cases(result)
        return Response(canonical_json(body), media_type="application/json")  # type: ignore[return-value]


# ── Appraisals ───────────────────────────────────────────────────────────────


@dataclass
class AppraisalDocument(Operation):
    """Documents the raw request body of the check: an appraisal file, read as it was signed."""

    def __post_init__(self) -> None:
        signature = Schema(type=OpenAPIType.OBJECT, required=["key", "value"], properties={
            "algorithm": Schema(type=OpenAPIType.STRING), "key": Schema(type=OpenAPIType.STRING),
            "value": Schema(type=OpenAPIType.STRING)})
        self.request_body = RequestBody(
            required=True,
            description="考核文件（POST /api/appraisals 的回答或 xinfang appraise --out 写出的文件），原样提交："
            "签名针对 body 的规范 JSON 校验。",
            content={"application/json": OpenAPIMediaType(schema=Schema(
                type=OpenAPIType.OBJECT, required=["body", "signature"],
                properties={"body": Schema(type=OpenAPIType.OBJECT), "signature": signature},
            ))},
        )


class AppraisalController(Controller):
    path = "/appraisals"
    tags = ["报表 reports"]
    guards = [roles(*APPRAISERS)]

    @post(
        "/",
        summary="年度考核：签名的考核文件",
        description="与 xinfang appraise 相同：考核期（period 或 from/to）在知识时间 as_of（省略为现在，不能晚于现在）"
        "所知的指标、问责与奖励评定，连同其依据（日志前缀的树大小与根、规则集指纹与插件、参数、软件版本），"
        "用账本密钥（Ed25519）签名。回答即考核文件（缩进的 JSON，键已排序），可原样交给 POST /api/appraisals/check "
        "或 xinfang appraise --check 复核。服务器不保存考核文件。仅限考核、纪检监察与管理员。",
        sync_to_thread=True,
        status_code=200,
        responses=responses(400, 401, 403, 409, 413, described={
            409: "计算期间账本写入了新事件（write-conflict），请重试",
            503: "服务器没有签名密钥（unavailable，code no_signing_key；请先运行 xinfang init），或数据库暂不可用",
        }),
    )
    def appraise(self, ctx: NamedDependency[ApiContext], data: JSONBody[AppraisalRequest]) -> Appraisal:
        chosen = period_of(data.period, data.start, data.end, ctx.today())
        as_of = parse_as_of(data.as_of) if data.as_of else None
        try:
            key = load_key(key_path(ctx.url))
        except ConfigError as exc:
            raise ApiProblem("unavailable", f"无法签名：{exc.message}", code="no_signing_key") from exc
        signed = appraisal.appraise(ctx.services.projector, chosen, as_of, key, parameters=Parameters(
            backfill_hours=data.backfill_hours, handoff_limit=data.handoffs))
        return Response(appraisal.encode(signed), media_type="application/json")  # type: ignore[return-value]

    @post(
        "/check",
        summary="复核考核文件",
        description="与 xinfang appraise --check 相同：校验签名，证明考核所用的日志前缀仍是今天日志的前缀，"
        "由存储的事件重算全部数字并逐项比对。回答 reproduced 为 true 即逐字节复现；否则 reasons 说明原因，"
        "differences 列出不同的数字（位置、考核文件中的值、今天重算的值）。请求体不是 JSON 为 400，"
        "是 JSON 但不是考核文件为 422。仅限考核、纪检监察与管理员。",
        sync_to_thread=True,
        status_code=200,
        request_max_body_size=MAX_APPRAISAL,
        operation_class=AppraisalDocument,
        responses=responses(400, 401, 403, 413, described={
            400: "请求体不是有效的 JSON（malformed-request）",
            422: "请求体是 JSON，但不是考核文件（not-an-appraisal）",
        }),
    )
    def check(self, ctx: NamedDependency[ApiContext], body: RawBody) -> CheckResult:
        path = key_path(ctx.url)
        try:
            key = load_key(path) if path.exists() else None
        except ConfigError:
            key = None  # the signature is checked against the key in the file; this only says whose it is
        try:
            return appraisal.check(ctx.services.projector, body, key)
        except InvalidInput as exc:
            if exc.code == "not_an_appraisal":
                raise ApiProblem("not-an-appraisal", exc.message, code=exc.code) from exc
            raise
