"""Commands of any kind, one at a time or as a JSONL batch (the format of ``xinfang apply``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIMediaType as MediaType
from litestar.openapi.spec import Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import JSONBody, RawBody

from api.auth import roles
from api.cases.controllers import command_route, written
from api.context import ApiContext
from api.params import query
from api.problems import responses
from ledger.access import IMPORTERS
from ledger.imports import import_lines
from schemas.commands import AnyCommand
from schemas.common import Actor, Code
from schemas.imports import ImportReport
from schemas.views import CommandResult

MAX_IMPORT = 64 << 20
"""64 MiB of JSONL per request: send larger migrations in several batches."""


@dataclass
class JsonLinesOperation(Operation):
    """Documents the raw JSONL request body that Litestar cannot infer from ``RawBody``."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="JSON Lines：每行一条命令（与 xinfang apply 相同），空行忽略。",
            content={
                "application/x-ndjson": MediaType(schema=Schema(type=OpenAPIType.STRING)),
                "application/jsonl": MediaType(schema=Schema(type=OpenAPIType.STRING)),
            },
        )


class CommandController(Controller):
    path = "/commands"
    tags = ["命令 commands"]

    @command_route(
        "/",
        summary="执行一条命令（任意类型）",
        description="三函一单、问责、接访、积案、矛盾纠纷、越级集体访等非案件命令，也接受案件命令。"
        "权限与范围见 API 说明；操作人取自令牌。",
    )
    def execute(self, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor],
                data: JSONBody[AnyCommand]) -> Response[CommandResult]:  # type: ignore[valid-type]
        return written(ctx.services.execute(data, actor))


class ImportController(Controller):
    path = "/imports"
    tags = ["命令 commands"]

    @post(
        "/",
        summary="批量导入命令（JSONL）",
        description="与 xinfang apply 相同：逐行解码并检查权限，正确的按序写入（每 500 条一个事务），"
        "重复的 command_id 不再写入，错误的行（非 UTF-8 编码、非 JSON、命令无效、无权）连同行号和原因返回，不影响其他行。"
        "内容须为 UTF-8（可带 BOM）。仅限管理员与登记员。"
        "导入的是普通记录，迟于发生时间记录的照样计为补录；只有 migration 指明的、已声明的迁移（仅管理员），"
        "其截止时间前发生的历史不计补录，各行可注明原系统经办人 original_actor。",
        guards=[roles(*IMPORTERS)],
        sync_to_thread=True,
        status_code=200,
        request_max_body_size=MAX_IMPORT,
        operation_class=JsonLinesOperation,
        responses=responses(400, 401, 403, 413),
    )
    def import_batch(
        self,
        ctx: NamedDependency[ApiContext],
        actor: NamedDependency[Actor],
        body: RawBody,
        batch: Annotated[str | None, query(Code, "导入批次名；默认取内容摘要")] = None,
        migration: Annotated[str | None, query(Code, "已声明的迁移编号（仅管理员）")] = None,
    ) -> ImportReport:
        return import_lines(
            body, lambda commands, name: ctx.services.execute_many(commands, actor, batch=name, migration=migration),
            batch=batch, migration=migration)
