"""The web slice assembled: routers, templates, static files, and errors as Chinese pages.

Public: the sign-in form and ``/static``. Everything else needs a session
(:class:`~api.web.session.SessionMiddleware`); every unsafe request passes the CSRF guard.
Errors reuse the API's translation into problems (:mod:`api.problems`) and show it as a page.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router
from litestar.datastructures import CacheControlHeader, ResponseHeader
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from api.problems import CATALOG, ApiProblem, http_problem, ledger_problem, problem_response
from api.web.controllers import (
    CaseController,
    HomeController,
    IntegrityController,
    ReportPagesController,
    SessionController,
    SignInController,
    error_page,
    not_signed_in,
)
from api.web.session import csrf_guard, session_middleware
from ledger.domain.case import CHINA
from ledger.errors import LedgerError

HERE = Path(__file__).parent
log = logging.getLogger("xinfang.web")



def china_time(moment: datetime | str) -> str:
    """A timestamp (or its ISO text) as people in the county read it: Beijing time, to the minute."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def _filters(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters["china_time"] = china_time


TEMPLATES = TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=_filters)


def _page_for(request: Request[Any, Any, Any], problem: ApiProblem) -> Response[Any]:
    kind = CATALOG[problem.slug]
    return error_page(request, problem, kind.status, kind.title)


def _problem(request: Request[Any, Any, Any], exc: ApiProblem) -> Response[Any]:
    return _page_for(request, exc)


def _ledger_error(request: Request[Any, Any, Any], exc: LedgerError) -> Response[Any]:
    return _page_for(request, ledger_problem(exc))


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    return _page_for(request, http_problem(exc))


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _page_for(request, ApiProblem("internal-error", "服务器内部错误，已记录日志", code="internal_error"))


ERROR_PAGES: dict[Any, Any] = {
    ApiProblem: _problem,
    LedgerError: _ledger_error,
    HTTPException: _http_error,
    Exception: _unexpected,
}


def route_not_found(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[Any]:
    """An address no route matches: a problem under ``/api``, a page anywhere else."""
    if request.url.path.startswith("/api"):
        return problem_response(request, http_problem(exc))
    return _http_error(request, exc)


CONTENT_SECURITY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
HEADERS = [
    ResponseHeader(name="Content-Security-Policy", value=CONTENT_SECURITY),
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
    ResponseHeader(name="Referrer-Policy", value="same-origin"),
]
"""Only this site's scripts run, no other site frames a page (and its forms), nothing leaks in referrers."""
PRIVATE = CacheControlHeader(no_store=True)
"""Pages carry case data and CSRF tokens: no cache keeps them."""


def web_routers() -> list[Router]:
    public = Router(
        path="/",
        route_handlers=[
            Router(path="/", route_handlers=[SignInController], cache_control=PRIVATE),
            create_static_files_router(path="/static", directories=[HERE / "static"], name="web_static"),
        ],
        guards=[csrf_guard],
        exception_handlers=ERROR_PAGES,
        response_headers=HEADERS,
        include_in_schema=False,
    )
    pages = Router(
        path="/",
        route_handlers=[HomeController, CaseController, IntegrityController, ReportPagesController, SessionController],
        middleware=[session_middleware],
        guards=[csrf_guard],
        exception_handlers={**ERROR_PAGES, NotAuthorizedException: not_signed_in},
        response_headers=HEADERS,
        cache_control=PRIVATE,
        include_in_schema=False,
    )
    return [public, pages]
