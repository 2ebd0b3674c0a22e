"""Units and officials: the registry that unit scope is computed from."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from api.cases.controllers import REPEATED, written
from api.context import ApiContext
from api.params import path, query
from api.problems import WRITE, responses
from schemas.commands import COMMANDS_BY_NAME
from schemas.common import Actor, Code
from schemas.views import CommandResult, OfficialView, UnitView

RegisterUnit: Any = COMMANDS_BY_NAME["RegisterUnit"]
RegisterOfficial: Any = COMMANDS_BY_NAME["RegisterOfficial"]
READ_ONE = (400, 401, 404)


class UnitController(Controller):
    path = "/units"
    tags = ["单位与干部 registry"]

    @get("/", summary="单位列表", description="本单位、下级单位及上级单位链；纪检监察可见全部。",
         sync_to_thread=True, responses=responses(401))
    def units(self, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor]) -> list[UnitView]:
        return ctx.access.units(ctx.viewer(actor))

    @get("/{code:str}", summary="一个单位", sync_to_thread=True, responses=responses(*READ_ONE))
    def unit(self, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor], code: Annotated[str, path(Code, "编码")]) -> UnitView:
        return ctx.access.unit(ctx.viewer(actor), code)

    @post("/", summary="登记单位（管理员）", description="RegisterUnit 命令；上级单位须在本单位管辖范围内。",
          sync_to_thread=True, status_code=201,
          responses={200: REPEATED, **responses(*WRITE)})
    def register(self, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor],
                 data: JSONBody[RegisterUnit]) -> Response[CommandResult]:
        return written(ctx.services.execute(data, actor))



class OfficialController(Controller):
    path = "/officials"
    tags = ["单位与干部 registry"]

    @get("/", summary="干部列表", description="所在单位在你管辖范围内的干部。", sync_to_thread=True,
         responses=responses(400, 401))
    def officials(
        self,
        ctx: NamedDependency[ApiContext],
        actor: NamedDependency[Actor],
        unit: Annotated[str | None, query(Code, "只列此单位（含下级）的干部")] = None,
    ) -> list[OfficialView]:
        return ctx.access.officials(ctx.viewer(actor), unit)

    @get("/{code:str}", summary="一名干部", sync_to_thread=True, responses=responses(*READ_ONE))
    def official(self, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor],
                 code: Annotated[str, path(Code, "编码")]) -> OfficialView:
        return ctx.access.official(ctx.viewer(actor), code)

    @post("/", summary="登记干部（管理员）", description="RegisterOfficial 命令；所在单位须在本单位管辖范围内。",
          sync_to_thread=True, status_code=201,
          responses={200: REPEATED, **responses(*WRITE)})
    def register(self, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor],
                 data: JSONBody[RegisterOfficial]) -> Response[CommandResult]:
        return written(ctx.services.execute(data, actor))
