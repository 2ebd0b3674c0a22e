"""Cases: register, act, read (view and timeline), search, and the overdue board."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, QueryParameter

from api.context import ApiContext
from api.params import path, query
from api.problems import READ, WRITE, ApiProblem, responses
from ledger.domain.case import Stage
from ledger.projections.queries import CaseFilter, CaseScope
from schemas.commands import COMMANDS_BY_NAME, CaseCommand, Command
from schemas.common import Actor, CaseNumber, Channel, Code, Flag
from schemas.views import CasePage, CaseView, CommandResult, OverdueBoard, TimelineEntry

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


def visible_case(ctx: ApiContext, actor: Actor, number: str) -> CaseScope:
    """The case, or 404 when it does not exist or the actor may not see it (the same answer)."""
    return ctx.access.require_case(ctx.viewer(actor), number)


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
        return written(ctx.services.execute(data, actor))

    @command_route(
        "/{number:str}/commands",
        summary="对案件执行一条命令",
        description="请求体为案件命令之一（type 区分），case 须与路径中的案件编号一致。"
        "带 expected_version 时版本不符返回 409 stale-version（附 current_version）。",
    )
    def act(self, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor],
            number: Annotated[str, path(CaseNumber, "案件编号")], data: JSONBody[CaseCommand]) -> Response[CommandResult]:
        command: Command = data
        if command.case != number:  # type: ignore[attr-defined]
            raise ApiProblem("malformed-request", f"命令中的案件编号 {command.case} 与地址中的 {number} 不一致",  # type: ignore[attr-defined]
                             code="case_mismatch")
        return written(ctx.services.execute(command, actor))

    @get("/{number:str}", summary="案件当前状态与期限", sync_to_thread=True, responses=responses(*READ))
    def view(self, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor],
             number: Annotated[str, path(CaseNumber, "案件编号")]) -> CaseView:
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
                 number: Annotated[str, path(CaseNumber, "案件编号")]) -> list[TimelineEntry]:
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
        unit: Annotated[str | None, query(Code, "责任单位（含下级单位）")] = None,
        flag: Annotated[Flag | Literal["重复"] | None, QueryParameter(
            description="标记（登记时的或规则推定的），如 检举、集体；重复 为重复信访")] = None,
        channel: Annotated[Channel | None, QueryParameter(description="渠道")] = None,
        received_from: Annotated[date | None, QueryParameter(description="登记日期起（含）")] = None,
        received_to: Annotated[date | None, QueryParameter(description="登记日期止（含）")] = None,
        overdue: Annotated[bool | None, QueryParameter(description="true：只要有期限已超期的案件")] = None,
        q: Annotated[str | None, QueryParameter(description="案件编号，或诉求类别包含此文字", max_length=100)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500, description="每页条数")] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=10_000_000, description="跳过条数")] = 0,
    ) -> CasePage:
        wanted = CaseFilter(stage=stage, unit=unit, flag=flag, channel=channel, received_from=received_from,
                            received_to=received_to, overdue=overdue, text=q)
        total, items = ctx.access.search(ctx.viewer(actor), wanted, ctx.today(), limit=limit, offset=offset)
        return CasePage(total=total, offset=offset, limit=limit, items=items)


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
        unit: Annotated[str | None, query(Code, "责任单位（含下级单位）")] = None,
        on: Annotated[date | None, QueryParameter(description="参照日期，默认今天")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000, description="最多列出条数")] = 200,
    ) -> OverdueBoard:
        return ctx.access.overdue(ctx.viewer(actor), on or ctx.today(), unit=unit, limit=limit)
