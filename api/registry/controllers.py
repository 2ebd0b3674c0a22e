"""Units and officials: the registry that unit scope is computed from."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import roles
from api.cases.controllers import REPEATED, written
from api.context import ApiContext
from api.policy import can_see_official, can_see_unit
from api.problems import WRITE, not_found, responses
from schemas.commands import COMMANDS_BY_NAME
from schemas.common import Actor, Code
from schemas.events import OfficialRegistered, UnitRegistered
from schemas.views import CommandResult, OfficialView, UnitView

RegisterUnit: Any = COMMANDS_BY_NAME["RegisterUnit"]
RegisterOfficial: Any = COMMANDS_BY_NAME["RegisterOfficial"]
READ_ONE = (400, 401, 404)


def _unit(ctx: ApiContext, unit: UnitRegistered) -> UnitView:
    return UnitView(code=unit.code, name=unit.name, kind=unit.kind, parent=unit.parent,
                    township_class=unit.township_class, children=sorted(ctx.index.children.get(unit.code, [])))


def _official(official: OfficialRegistered) -> OfficialView:
    return OfficialView(code=official.code, name=official.name, unit=official.unit, title=official.title)


class UnitController(Controller):
    path = "/units"
    tags = ["单位与干部 registry"]

    @get("/", summary="单位列表", description="本单位、下级单位及上级单位链；纪检监察可见全部。",
         sync_to_thread=True, responses=responses(401))
    def units(self, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor]) -> list[UnitView]:
        ctx.index.catch_up()
        return [_unit(ctx, u) for code, u in sorted(ctx.index.units.items()) if can_see_unit(actor, code, ctx.index)]

    @get("/{code:str}", summary="一个单位", sync_to_thread=True, responses=responses(*READ_ONE))
    def unit(self, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor], code: FromPath[Code]) -> UnitView:
        ctx.index.catch_up()
        unit = ctx.index.units.get(code)
        if unit is None or not can_see_unit(actor, code, ctx.index):
            raise not_found(f"单位 {code} 不存在", code="unknown_unit")
        return _unit(ctx, unit)

    @post("/", summary="登记单位（管理员）", description="RegisterUnit 命令；上级单位须在本单位管辖范围内。",
          guards=[roles("admin")], sync_to_thread=True, status_code=201,
          responses={200: REPEATED, **responses(*WRITE)})
    def register(self, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor],
                 data: JSONBody[RegisterUnit]) -> Response[CommandResult]:
        return written(ctx.execute(data, actor))



class OfficialController(Controller):
    path = "/officials"
    tags = ["单位与干部 registry"]

    @get("/", summary="干部列表", description="所在单位在你管辖范围内的干部。", sync_to_thread=True,
         responses=responses(400, 401))
    def officials(
        self,
        ctx: NamedDependency[ApiContext],
        actor: NamedDependency[Actor],
        unit: Annotated[Code | None, QueryParameter(description="只列此单位（含下级）的干部")] = None,
    ) -> list[OfficialView]:
        ctx.index.catch_up()
        index = ctx.index
        return [
            _official(o)
            for _, o in sorted(index.officials.items())
            if can_see_official(actor, o, index) and (unit is None or index.within(o.unit, unit))
        ]

    @get("/{code:str}", summary="一名干部", sync_to_thread=True, responses=responses(*READ_ONE))
    def official(self, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor],
                 code: FromPath[Code]) -> OfficialView:
        ctx.index.catch_up()
        official = ctx.index.officials.get(code)
        if official is None or not can_see_official(actor, official, ctx.index):
            raise not_found(f"干部 {code} 不存在", code="unknown_official")
        return _official(official)

    @post("/", summary="登记干部（管理员）", description="RegisterOfficial 命令；所在单位须在本单位管辖范围内。",
          guards=[roles("admin")], sync_to_thread=True, status_code=201,
          responses={200: REPEATED, **responses(*WRITE)})
    def register(self, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor],
                 data: JSONBody[RegisterOfficial]) -> Response[CommandResult]:
        return written(ctx.execute(data, actor))
