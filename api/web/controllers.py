"""The web pages: sign-in and sign-out, the integrity page, the case page with in-browser
verification, and sketches of the report pages.

Handlers stay thin: what a page may show comes from :mod:`api.web.reads` (the access policy and
read model), never from a rule written here.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import quote

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from api.context import ApiContext
from api.integrity.controllers import integrity
from api.problems import ApiProblem
from api.web import reads
from api.web.session import SESSION_COOKIE, SIGNIN_COOKIE, csrf_token, web_sessions
from ledger.errors import ConfigError
from ledger.integrity.proofs import CaseProof
from ledger.sessions import ABSOLUTE
from schemas.common import ROLE_NAMES, Actor, CaseNumber
from schemas.reports import Parameters

NAV = [
    ("/", "首页"),
    ("/cases", "案件查询"),
    ("/accountability", "问责"),
    ("/indicators", "考核指标"),
    ("/awards", "三无评定"),
    ("/appraisals", "考核"),
    ("/integrity", "完整性"),
]
BACKFILL_SECONDS = Parameters().backfill_hours * 3600
"""The reports' default 补录 threshold, used to mark late entries on the timeline."""

SignedIn = Request[Actor, str, Any]
"""A request on a page behind the session: ``user`` is the actor, ``auth`` the session id."""
NOTICES = {"out": "已退出登录。", "expired": "会话已结束（超时、令牌已吊销或已过期），请重新登录。"}
INVALID_TOKEN = "令牌无效、已吊销或已过期。请核对后重新输入（令牌由 xinfang token create 签发）。"


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never another host)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or target.startswith("/signin"):
        return "/"
    return target


def cookie_options(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax", "secure": request.url.scheme == "https"}


def page(request: SignedIn, ctx: ApiContext, name: str, *, title: str, nav: str | None = None,
         status: int = 200, **context: Any) -> Template:
    """A page in the signed-in layout: header with the actor, navigation, CSRF token for its forms."""
    actor = request.user
    return Template(
        template_name=name,
        status_code=status,
        context={
            "title": title, "nav": nav, "nav_items": NAV, "actor": actor, "role_names": ROLE_NAMES,
            "role_name": ROLE_NAMES[actor.role], "unit_label": reads.unit_name(ctx, actor.unit),
            "csrf": csrf_token(request.auth), **context,
        },
    )


class SignInController(Controller):
    """The sign-in form: a token in, a session cookie out. Posted with the sign-in cookie's CSRF token."""

    path = "/signin"
    include_in_schema = False

    @get("/", sync_to_thread=False)
    def form(self, request: Request[Any, Any, Any],
             target: Annotated[str | None, QueryParameter(name="next")] = None,
             ended: Annotated[str | None, QueryParameter(name="ended")] = None) -> Template:
        return self._form(request, safe_next(target), notice=NOTICES.get(ended or ""))

    @staticmethod
    def _form(request: Request[Any, Any, Any], target: str, *, error: str | None = None,
              notice: str | None = None, status: int = 200) -> Template:
        secret = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)
        response = Template(template_name="signin.html", status_code=status, context={
            "title": "登录", "csrf": csrf_token(secret), "next": target, "error": error, "notice": notice})
        response.set_cookie(SIGNIN_COOKIE, secret, path="/signin", max_age=3600, **cookie_options(request))
        return response

    @post("/", status_code=303)
    async def sign_in(self, request: Request[Any, Any, Any]) -> Response[Any]:
        form = await request.form()
        token = str(form.get("token", "")).strip()
        target = safe_next(str(form.get("next", "/")))
        sessions = web_sessions(request)
        opened = await anyio.to_thread.run_sync(sessions.sign_in, token) if token else None
        if opened is None:
            return self._form(request, target, status=400, error=INVALID_TOKEN)
        previous = request.cookies.get(SESSION_COOKIE)
        if previous:
            await anyio.to_thread.run_sync(sessions.sign_out, previous)
        session_id, _ = opened
        response = Redirect(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, session_id, path="/", max_age=int(ABSOLUTE.total_seconds()),
                            **cookie_options(request))
        response.delete_cookie(SIGNIN_COOKIE, path="/signin")
        return response


class SessionController(Controller):
    path = "/signout"
    include_in_schema = False

    @post("/", status_code=303)
    async def sign_out(self, request: SignedIn) -> Redirect:
        await anyio.to_thread.run_sync(web_sessions(request).sign_out, request.auth)
        response = Redirect("/signin?ended=out", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response


class HomeController(Controller):
    path = "/"
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def home(self, request: SignedIn, ctx: NamedDependency[ApiContext]) -> Template:
        return page(request, ctx, "home.html", title="首页", nav="/")


SKETCHES = {
    "/accountability": ("问责", "各单位、各干部的超期转送、受理、办理（超几天），督办、推诿、三函一单、问责决定，"
                        "以及补录清单；每个数字都能打开背后的案件。", "xinfang report accountability --period 2021"),
    "/indicators": ("考核指标", "四率、化解率、办结率、参评率、满意率、重复信访率，越级、集体、非正常上访，领导接访、"
                    "积案：分子、分母和案件，按单位、按月的图表。", "xinfang report indicators --period 2021"),
    "/awards": ("三无评定", "每个乡镇、村（社区）是否通过，不通过的事件及日期，奖励金额与合计，生效规则集及其指纹。",
                "xinfang awards --period 2021"),
    "/appraisals": ("考核", "考核人员按考核期和截止时间生成签名考核文件、下载，上传考核文件复核：“已复现”或逐项差异。",
                    "xinfang appraise --period 2021 --as-of 2022-01-10"),
}


class ReportPagesController(Controller):
    """Pages still to be built on the core's read model; each says what it will show and the
    command that shows it today."""

    path = "/"
    include_in_schema = False

    @staticmethod
    def _sketch(request: SignedIn, ctx: ApiContext) -> Template:
        title, what, command = SKETCHES[request.url.path]
        return page(request, ctx, "sketch.html", title=title, nav=request.url.path, what=what, command=command)

    @get("/accountability", sync_to_thread=True)
    def accountability(self, request: SignedIn, ctx: NamedDependency[ApiContext]) -> Template:
        return self._sketch(request, ctx)

    @get("/indicators", sync_to_thread=True)
    def indicators(self, request: SignedIn, ctx: NamedDependency[ApiContext]) -> Template:
        return self._sketch(request, ctx)

    @get("/awards", sync_to_thread=True)
    def awards(self, request: SignedIn, ctx: NamedDependency[ApiContext]) -> Template:
        return self._sketch(request, ctx)

    @get("/appraisals", sync_to_thread=True)
    def appraisals(self, request: SignedIn, ctx: NamedDependency[ApiContext]) -> Template:
        return self._sketch(request, ctx)


class CaseController(Controller):
    path = "/cases"
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def search(self, request: SignedIn, ctx: NamedDependency[ApiContext],
               number: Annotated[str | None, QueryParameter(max_length=40)] = None) -> Response[Any]:
        if number and number.strip():
            return Redirect(f"/cases/{quote(number.strip(), safe='')}", status_code=303)
        return page(request, ctx, "search.html", title="案件查询", nav="/cases")

    @get("/{number:str}", sync_to_thread=True)
    def case(self, request: SignedIn, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor],
             number: FromPath[CaseNumber]) -> Template:
        view = reads.case_view(ctx, actor, number)
        entries = reads.timeline(ctx, actor, number)
        return page(request, ctx, "case.html", title=f"案件 {number}", nav="/cases", case=view, timeline=entries,
                    units={code: reads.unit_name(ctx, code) for code in
                           {view.registered_by, view.home_township, view.current_unit,
                            *(entry.actor.unit for entry in entries)} if code},
                    backfill_seconds=BACKFILL_SECONDS)

    @get("/{number:str}/proof", sync_to_thread=True)
    def proof(self, ctx: NamedDependency[ApiContext], actor: NamedDependency[Actor], number: FromPath[CaseNumber],
              size: Annotated[int | None, QueryParameter(ge=0, le=1 << 50)] = None) -> CaseProof:
        """The whole-case proof the browser verifies: every event with its stored payload."""
        return reads.case_proof(ctx, actor, number, size)


class IntegrityController(Controller):
    path = "/integrity"
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def overview(self, request: SignedIn, ctx: NamedDependency[ApiContext]) -> Template:
        checkpoints = integrity(ctx).checkpoints
        try:
            key: str | None = checkpoints.verifier_key()
        except ConfigError:
            key = None
        stored = checkpoints.list()
        return page(request, ctx, "integrity.html", title="完整性", nav="/integrity", verifier_key=key,
                    latest=stored[-1] if stored else None, checkpoints=stored[::-1],
                    tree_size=integrity(ctx).proofs.tree_size())

    @get("/checkpoint", sync_to_thread=True, media_type="text/plain; charset=utf-8")
    def checkpoint(self, ctx: NamedDependency[ApiContext]) -> str:
        """The current tree, signed (as ``GET /api/integrity/checkpoint``): what the browser verifies against."""
        return integrity(ctx).checkpoint()


def not_signed_in(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    """A page without a live session: to the sign-in form, and back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    had_session = SESSION_COOKIE in request.cookies
    response = Redirect(f"/signin?next={quote(target, safe='/')}" + ("&ended=expired" if had_session else ""),
                        status_code=303)
    if had_session:
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def error_page(request: Request[Any, Any, Any], problem: ApiProblem, status: int, title: str) -> Template:
    return Template(template_name="error.html", status_code=status,
                    context={"title": title, "problem": problem, "status": status,
                             "signed_in": "user" in request.scope})
