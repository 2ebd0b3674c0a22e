"""The Litestar application, assembled in one place: the JSON API under ``/api`` (bearer tokens),
the web pages under ``/`` (sessions, :mod:`api.web`).

``create_app(services)`` over the services of the composition root (:func:`ledger.bootstrap.bootstrap`):
``xinfang serve`` with one worker and the tests build the app this way. With several workers
uvicorn imports ``app_from_environment()`` in each process, which bootstraps from the same
documented variables the command line reads (``XINFANG_DATABASE_URL``, ``XINFANG_RULES``).
"""

from __future__ import annotations

import logging

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Tag

from api.auth import auth_middleware
from api.cases.controllers import CaseController, OverdueController
from api.commands.controllers import CommandController, ImportController
from api.context import ApiContext, provide_actor, provide_context
from api.feed.controllers import FeedController
from api.integrity.controllers import CaseProofController, IntegrityController
from api.petitioners.controllers import CasePetitionerController, PetitionerController
from api.problems import EXCEPTION_HANDLERS
from api.requests import LedgerRequest
from api.registry.controllers import OfficialController, UnitController
from api.reports.controllers import AppraisalController, ReportController
from api.system.controllers import MeController, ProblemController
from api.web.routes import TEMPLATES, route_not_found, web_routers
from api.web.session import WebSessions
from ledger.bootstrap import Services, bootstrap

MAX_BODY = 1 << 20
"""1 MiB for a command; the batch import route allows more."""

DESCRIPTION = """\
信访事项审计账本的 HTTP 接口。

* **认证**：`Authorization: Bearer <令牌>`（`xinfang token create --role 角色 --unit 单位`）。令牌对应一个操作人
  （编号、单位、角色）；写入的每个事件都记录令牌的操作人，请求体不能指定操作人。
* **范围**：单位看见并办理本单位及下级单位的案件；纪检监察（inspector）可查阅全部、不能写入；考核（appraiser）只读；
  检举件对被检举的单位和干部不可见（404）。
* **错误**：一律为 RFC 9457 问题详情（`application/problem+json`），`type` 为稳定的英文标识（见 `/problems`），
  `title`、`detail` 为中文。
* **幂等**：每条命令带调用方给定的 `command_id`；同一操作人重复提交返回第一次的结果（200，`repeated: true`），不会重复写入；其他操作人使用同一编号则被拒绝（409 command-id-reused），不透露第一次的结果。
"""


def create_app(services: Services, *, debug: bool = False) -> Litestar:
    """The API over one ledger's services (closed when the app shuts down)."""
    context = ApiContext(services)

    api = Router(
        path="/api",
        route_handlers=[
            CaseController, OverdueController, CaseProofController, CasePetitionerController, PetitionerController,
            UnitController, OfficialController, CommandController, ImportController, IntegrityController,
            FeedController, ReportController, AppraisalController, MeController,
        ],
        security=[{"bearer": []}],
        middleware=[auth_middleware],
    )
    openapi = OpenAPIConfig(
        title="信访事项审计账本 xinfang-ledger",
        version="0.1.0",
        description=DESCRIPTION,
        path="/schema",
        render_plugins=[JsonRenderPlugin()],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", description="xinfang token create 签发的令牌")
            }
        ),
        tags=[Tag(name=n) for n in ("案件 cases", "单位与干部 registry", "命令 commands", "信访人 petitioners",
                                     "完整性 integrity", "动态 feed", "报表 reports", "系统 system")],
        use_handler_docstrings=False,
    )

    def close(app: Litestar) -> None:
        app.state["context"].close()

    return Litestar(
        route_handlers=[api, ProblemController, *web_routers()],
        dependencies={
            "ctx": Provide(provide_context, sync_to_thread=False),
            "actor": Provide(provide_actor, sync_to_thread=False),
        },
        request_class=LedgerRequest,
        exception_handlers={**EXCEPTION_HANDLERS, NotFoundException: route_not_found},
        template_config=TEMPLATES,
        openapi_config=openapi,
        state=State({"context": context, "web_sessions": WebSessions(services.sessions)}),
        on_shutdown=[close],
        request_max_body_size=MAX_BODY,
        debug=debug,
        logging_config=None,
    )


def app_from_environment() -> Litestar:
    """uvicorn's factory (``api.app:app_from_environment``): the ledger of ``XINFANG_DATABASE_URL``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return create_app(bootstrap())


__all__ = ["app_from_environment", "create_app"]
