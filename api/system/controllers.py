"""Who am I, and the documentation of every problem type (the ``type`` URIs of error bodies)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from api.problems import CATALOG, ApiProblem, responses
from schemas.common import ROLE_NAMES, Actor
from schemas.problems import ProblemDoc
from schemas.tokens import Me


class MeController(Controller):
    path = "/me"
    tags = ["系统 system"]

    @get("/", summary="当前令牌对应的操作人", responses=responses(401))
    async def me(self, actor: NamedDependency[Actor]) -> Me:
        return Me(actor=actor, role_name=ROLE_NAMES[actor.role])


def _doc(slug: str) -> ProblemDoc:
    p = CATALOG[slug]
    return ProblemDoc(type=f"/problems/{slug}", slug=slug, status=p.status, title=p.title, description=p.description)


class ProblemController(Controller):
    path = "/problems"
    tags = ["系统 system"]
    security = [{}]

    @get("/", summary="全部问题类型", description="错误响应（RFC 9457）中 type 字段的说明。")
    async def catalog(self) -> list[ProblemDoc]:
        return [_doc(slug) for slug in CATALOG]

    @get("/{slug:str}", summary="一个问题类型的说明", responses=responses(400, 404, storage=False))
    async def describe(self, slug: FromPath[str]) -> ProblemDoc:
        if slug not in CATALOG:
            raise ApiProblem("not-found", f"没有问题类型 {slug}", code="unknown_problem_type")
        return _doc(slug)
