"""Cases: register, act, read (view and timeline), search, and the overdue board."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from api.cases.schemas import CaseCommand, CasePage, CaseSummary, OverdueBoard, OverdueItem, UnitCount
from api.context import ApiContext
from api.policy import can_see_case
from api.problems import READ, WRITE, ApiProblem, not_found, responses
from ledger.domain.case import Case, Stage
from schemas.commands import COMMANDS_BY_NAME, Command
from schemas.common import Actor, CaseNumber, Channel, Code, Flag
from schemas.views import CaseView, CommandResult, TimelineEntry

RegisterPetition: Any = COMMANDS_BY_NAME["RegisterPetition"]

REPEATED = ResponseSpec(
    data_container=CommandResult,
    description="重复提交：该 command_id 已执行过，返回第一次的结果（repeated 为 true），未再写入",
    generate_examples=False,
)


def written(result: CommandResult) -> Response[CommandResult]:
    """201 for a new event, 200 for a repeat of an executed command id."""
    return Response(result, status_code=200 if result.repeated else 201)


def command_route(path: str, *, summary: str, description: str) -> Any:
    """``@post`` for a route answering with :func:`written`, so its documented statuses match."""
    return post(path, summary=summary, description=description, sync_to_thread=True, status_code=201,
                responses={200: REPEATED, **responses(*WRITE)})


def visible_case(ctx: ApiContext, actor: Actor, number: str) -> Case:
    """The case, or 404 when it does not exist or the actor may not see it."""
    ctx.index.catch_up()
    case = ctx.index.cases.get(number)
    if case is None or not can_see_case(actor, case, ctx.index):
        raise not_found(f"案件 {number} 不存在", code="unknown_case")
    return case


def _summary(ctx: ApiContext, case: Case, today: date) -> CaseSummary:
    clocks = ctx.ledger.rules.clocks(case, today, units=ctx.index.units)
    return CaseSummary(
        number=case.number, version=case.version, stage=case.stage, channel=case.channel, subject=case.subject,
        flags=list(case.flags), home_township=case.home_township, registered_by=case.registered_by,
        current_unit=case.current_unit, leader=case.leader, received_on=case.received_on,
        overdue=[c.step for c in clocks if c.overdue and c.kind == "duty"],
    )


def _running_late(ctx: ApiContext, case: Case, today: date) -> list[OverdueItem]:
    if case.stage in ("已归档",):
        return []
    return [
        OverdueItem(number=case.number, unit=case.current_unit or case.registered_by, stage=case.stage, step=c.step,
                    label=c.label, basis=c.basis, started_on=c.started_on, due=c.due, stopped_on=c.stopped_on,
                    days_late=c.days_late, provisional=c.provisional)
        for c in ctx.ledger.rules.clocks(case, today, units=ctx.index.units)
        if c.overdue and c.stopped_on is None and c.kind == "duty"
    ]


class CaseController(Controller):
    path = "/cases"
    tags = ["案件 cases"]

    @command_route(
        "/",
        summary="登记信访事项",
        description="RegisterPetition 命令。操作人取自令牌；number 省略时由账本编号。",
    )
    def register(self, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor],
                 data: JSONBody[RegisterPetition]) -> Response[CommandResult]:
        return written(ctx.execute(data, actor))

    @command_route(
        "/{number:str}/commands",
        summary="对案件执行一条命令",
        description="请求体为案件命令之一（type 区分），case 须与路径中的案件编号一致。"
        "带 expected_version 时版本不符返回 409 stale-version（附 current_version）。",
    )
    def act(self, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor],
            number: FromPath[CaseNumber], data: JSONBody[CaseCommand]) -> Response[CommandResult]:
        command: Command = data
        if command.case != number:  # type: ignore[attr-defined]
            raise ApiProblem("malformed-request", f"命令中的案件编号 {command.case} 与地址中的 {number} 不一致",  # type: ignore[attr-defined]
                             code="case_mismatch")
        return written(ctx.execute(command, actor))

    @get("/{number:str}", summary="案件当前状态与期限", sync_to_thread=True, responses=responses(*READ))
    def view(self, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor],
             number: FromPath[CaseNumber]) -> CaseView:
        visible_case(ctx, actor, number)
        return ctx.ledger.case_view(number, today=ctx.today())

    @get(
        "/{number:str}/timeline",
        summary="案件时间线",
        description="每个事件：发生时间、记录时间、操作人、版本、序号 seq 与叶子哈希。",
        sync_to_thread=True,
        responses=responses(*READ),
    )
    def timeline(self, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor],
                 number: FromPath[CaseNumber]) -> list[TimelineEntry]:
        visible_case(ctx, actor, number)
        return ctx.ledger.timeline(number)

    @get(
        "/",
        summary="查询案件",
        description="只返回你可见的案件，按登记日期从新到旧。",
        sync_to_thread=True,
        responses=responses(400, 401),
    )
    def search(
        self,
        ctx: NamedDependency[ApiContext],
        actor: NamedDependency[Actor],
        stage: Annotated[Stage | None, QueryParameter(description="案件状态")] = None,
        unit: Annotated[Code | None, QueryParameter(description="责任单位（含下级单位）")] = None,
        flag: Annotated[Flag | None, QueryParameter(description="标记，如 检举、集体")] = None,
        channel: Annotated[Channel | None, QueryParameter(description="渠道")] = None,
        received_from: Annotated[date | None, QueryParameter(description="登记日期起（含）")] = None,
        received_to: Annotated[date | None, QueryParameter(description="登记日期止（含）")] = None,
        overdue: Annotated[bool | None, QueryParameter(description="true：只要有期限已超期的案件")] = None,
        q: Annotated[str | None, QueryParameter(description="诉求类别包含此文字", max_length=100)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500, description="每页条数")] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=10_000_000, description="跳过条数")] = 0,
    ) -> CasePage:
        ctx.index.catch_up()
        index, today = ctx.index, ctx.today()
        matches: list[Case] = []
        for case in list(index.cases.values()):  # a snapshot: another request may be catching up
            if stage is not None and case.stage != stage:
                continue
            if unit is not None and not index.within(case.current_unit or case.registered_by, unit):
                continue
            if flag is not None and flag not in case.flags:
                continue
            if channel is not None and case.channel != channel:
                continue
            if received_from is not None and case.received_on < received_from:
                continue
            if received_to is not None and case.received_on > received_to:
                continue
            if q and q not in case.subject:
                continue
            if not can_see_case(actor, case, index):
                continue
            if overdue is not None and overdue != any(
                c.overdue and c.kind == "duty" for c in ctx.ledger.rules.clocks(case, today, units=index.units)
            ):
                continue
            matches.append(case)
        matches.sort(key=lambda c: (c.received_on, c.number), reverse=True)
        page = matches[offset : offset + limit]
        return CasePage(total=len(matches), offset=offset, limit=limit,
                        items=[_summary(ctx, case, today) for case in page])


class OverdueController(Controller):
    path = "/overdue"
    tags = ["案件 cases"]

    @get(
        "/",
        summary="超期看板",
        description="你可见的未归档案件中，已过期限仍未完成的法定期限（及督办、交办期限），超期天数多的在前。",
        sync_to_thread=True,
        responses=responses(400, 401),
    )
    def board(
        self,
        ctx: NamedDependency[ApiContext],
        actor: NamedDependency[Actor],
        unit: Annotated[Code | None, QueryParameter(description="责任单位（含下级单位）")] = None,
        on: Annotated[date | None, QueryParameter(description="参照日期，默认今天")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000, description="最多列出条数")] = 200,
    ) -> OverdueBoard:
        ctx.index.catch_up()
        index = ctx.index
        today = on or ctx.today()
        items: list[OverdueItem] = []
        for case in list(index.cases.values()):
            if unit is not None and not index.within(case.current_unit or case.registered_by, unit):
                continue
            if not can_see_case(actor, case, index):
                continue
            items.extend(_running_late(ctx, case, today))
        items.sort(key=lambda i: (-i.days_late, i.number, i.step))
        counts: dict[str | None, tuple[set[str], int]] = {}
        for item in items:
            numbers, clocks = counts.get(item.unit, (set(), 0))
            numbers.add(item.number)
            counts[item.unit] = (numbers, clocks + 1)
        by_unit = sorted(
            (UnitCount(unit=u, cases=len(n), clocks=c) for u, (n, c) in counts.items()),
            key=lambda c: (-c.cases, c.unit or ""),
        )
        return OverdueBoard(on=today, rules_fingerprint=ctx.ledger.rules.fingerprint,
                            total_cases=len({i.number for i in items}), by_unit=by_unit, items=items[:limit])
