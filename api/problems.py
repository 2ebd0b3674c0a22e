"""RFC 9457 problem details for every error, and their place in the OpenAPI document.

Each problem has a stable English ``type`` (``/problems/<slug>``, documented at that address), a
Chinese ``title`` per type, a Chinese ``detail`` for this occurrence, and extension members:
``code`` (the ledger's machine code), ``current_version`` on a stale version, ``errors`` on a
malformed request. Ledger errors, Litestar's own HTTP errors and anything unexpected all leave
as ``application/problem+json``.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.datastructures import ResponseSpec

from ledger.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    LedgerError,
    NotFound,
    Refused,
)
from ledger.inputs import explain
from ledger.vault import IdentityDamaged, IdentityErased, InvalidIdentity, InvalidReference, UnknownPetitioner
from ledger.vault_key import MasterKeyError
from schemas.problems import Problem

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("xinfang.api")


class ProblemType(msgspec.Struct, frozen=True):
    slug: str
    status: int
    title: str
    description: str


CATALOG: dict[str, ProblemType] = {
    p.slug: p
    for p in (
        ProblemType("malformed-request", 400, "请求格式错误", "JSON 无效、字段缺失或类型不符、参数超出范围。"),
        ProblemType("unauthorized", 401, "未认证", "缺少令牌，或令牌无效、已吊销。请在 Authorization 头中提供 Bearer 令牌。"),
        ProblemType("forbidden", 403, "无权进行此操作", "令牌的角色或所在单位不允许此操作。"),
        ProblemType("not-found", 404, "不存在", "对象不存在，或不在你的查阅范围内（例如他单位案件、涉及本单位的检举件）。"),
        ProblemType("method-not-allowed", 405, "不支持该请求方法", "该地址不支持此 HTTP 方法。"),
        ProblemType("not-acceptable", 406, "无法提供所要求的格式", "Accept 头或 format 参数要求的格式不受支持。"),
        ProblemType("illegal-transition", 409, "当前状态不允许此操作", "案件（或其他对象）当前状态不允许这一步，例如未受理先出具意见。"),
        ProblemType("stale-version", 409, "版本已变更", "你看到的版本已被他人更新；current_version 为当前版本，请刷新后重试。"),
        ProblemType("command-id-reused", 409, "命令编号已被使用", "同一 command_id 已用于另一条内容不同的命令；新命令请使用新编号。"),
        ProblemType("identity-erased", 409, "身份信息已销毁", "该信访人的身份密钥已销毁，不能再写入。"),
        ProblemType("identity-damaged", 409, "身份信息已损坏", "该信访人的身份密钥或身份信息密文校验失败（数据被改动、损坏或"
                    "错配到其他编号），无法解密；请管理员从数据库备份恢复该信访人的记录。"),
        ProblemType("write-conflict", 409, "写入冲突", "与其他写入者冲突，请稍后重试。"),
        ProblemType("payload-too-large", 413, "请求内容过大", "请求体超过该接口允许的大小。"),
        ProblemType("rule-violation", 422, "违反办理规则", "命令本身有效，但违反期限、次数等办理规则；detail 说明原因。"),
        ProblemType("unknown-reference", 422, "引用的对象不存在", "命令引用的单位、干部或案件尚未登记。"),
        ProblemType("plugin-rule", 422, "违反本地规则", "本地规则插件拒绝了此命令；detail 说明原因。"),
        ProblemType("refused", 422, "命令被拒绝", "业务上拒绝了此命令；detail 说明原因。"),
        ProblemType("not-an-appraisal", 422, "不是考核文件", "请求体是 JSON，但不是 xinfang appraise 写出的考核文件"
                    "（缺少字段、类型不符或内容自相矛盾）；detail 说明原因。"),
        ProblemType("internal-error", 500, "服务器内部错误", "服务器出错；已记录日志。"),
        ProblemType("unavailable", 503, "服务暂不可用", "数据库或其他依赖暂不可用，请稍后重试。"),
    )
}


class ApiProblem(Exception):
    """Raised by handlers and guards: becomes a problem response."""

    def __init__(self, slug: str, detail: str, *, code: str | None = None, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.slug = slug
        self.detail = detail
        self.code = code or slug.replace("-", "_")
        self.headers = headers or {}
        self.extra = extra


def forbidden(detail: str, code: str = "forbidden") -> ApiProblem:
    return ApiProblem("forbidden", detail, code=code)


def not_found(detail: str, code: str = "not_found") -> ApiProblem:
    return ApiProblem("not-found", detail, code=code)


def problem_response(request: Request[Any, Any, Any], problem: ApiProblem) -> Response[bytes]:
    kind = CATALOG[problem.slug]
    body: dict[str, Any] = {
        "type": f"/problems/{kind.slug}",
        "title": kind.title,
        "status": kind.status,
        "detail": problem.detail,
        "code": problem.code,
        "instance": request.url.path,
    }
    body.update({k: v for k, v in problem.extra.items() if v is not None})
    return Response(
        content=msgspec.json.encode(body),
        status_code=kind.status,
        media_type=MEDIA_TYPE,
        headers=problem.headers,
    )


# ── translating errors ───────────────────────────────────────────────────────

_REFUSALS = {"illegal_transition": "illegal-transition", "rule_violation": "rule-violation",
             "unknown_reference": "unknown-reference", "plugin_rule": "plugin-rule"}
_CONFLICTS = {"stale_version": "stale-version", "command_id_reused": "command-id-reused"}


def ledger_problem(exc: LedgerError) -> ApiProblem:
    match exc:
        case InvalidInput() | InvalidIdentity() | InvalidReference():
            return ApiProblem("malformed-request", exc.message, code=exc.code)
        case NotFound() | UnknownPetitioner():
            return ApiProblem("not-found", exc.message, code=exc.code)
        case Forbidden():
            return ApiProblem("forbidden", exc.message, code=exc.code)
        case Refused():
            return ApiProblem(_REFUSALS.get(exc.code, "refused"), exc.message, code=exc.code)
        case Conflict():
            slug = _CONFLICTS.get(exc.code, "write-conflict")
            extra = {"current_version": exc.details.get("current_version")} if slug == "stale-version" else {}
            return ApiProblem(slug, exc.message, code=exc.code, **extra)
        case IdentityErased():
            return ApiProblem("identity-erased", exc.message, code=exc.code)
        case IdentityDamaged():
            log.error("vault damaged: %s", exc.message)
            return ApiProblem("identity-damaged", exc.message, code=exc.code)
        case MasterKeyError():  # the message names files of the server: the log has it, the client does not
            log.error("vault master key: %s", exc.message)
            return ApiProblem("unavailable", "身份信息库主密钥不可用：服务器配置有误，请联系管理员", code=exc.code)
    if exc.code in {"storage_error", "vault_unavailable", "token_store_unavailable"}:
        log.error("storage unavailable: %s", exc.message)
        return ApiProblem("unavailable", "数据库暂不可用，请稍后重试", code=exc.code, headers={"Retry-After": "1"})
    log.error("ledger error %s: %s", exc.code, exc.message)
    return ApiProblem("internal-error", exc.message, code=exc.code)


def _field_errors(extra: Any) -> list[dict[str, Any]]:
    errors = []
    for item in extra if isinstance(extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", ""))
        key = item.get("key")
        chinese = explain(msgspec.ValidationError(message))
        source = item.get("source")
        source = getattr(source, "value", source)
        errors.append({"message": chinese, "key": str(key) if key not in (None, "data") else None,
                       "source": str(source) if source is not None else None})
    return errors


def http_problem(exc: HTTPException) -> ApiProblem:
    match exc:
        case ValidationException():
            errors = _field_errors(exc.extra)
            parts = [f"{e['key']}：{e['message']}" if e["key"] else e["message"] for e in errors]
            detail = "请求无效：" + ("；".join(parts) if parts else explain(msgspec.ValidationError(str(exc.detail))))
            return ApiProblem("malformed-request", detail, code="invalid_request", errors=errors or None)
        case NotAuthorizedException():
            return ApiProblem("unauthorized", "需要有效的令牌：Authorization: Bearer <令牌>", code="unauthorized",
                              headers={"WWW-Authenticate": 'Bearer realm="xinfang"'})
        case PermissionDeniedException():
            return ApiProblem("forbidden", str(exc.detail), code="forbidden")
        case NotFoundException():
            return ApiProblem("not-found", f"没有这个地址：{exc.detail}" if exc.detail != "Not Found" else "没有这个地址",
                              code="no_route")
        case MethodNotAllowedException():
            return ApiProblem("method-not-allowed", "该地址不支持此请求方法", code="method_not_allowed",
                              headers=dict(exc.headers or {}))
        case RequestEntityTooLarge():
            return ApiProblem("payload-too-large", "请求内容超过该接口允许的大小", code="payload_too_large")
    if exc.status_code == 400:
        return ApiProblem("malformed-request", f"请求无效：{explain(msgspec.ValidationError(str(exc.detail)))}",
                          code="bad_request")
    if exc.status_code >= 500:
        log.error("HTTP %s: %s", exc.status_code, exc.detail)
        return ApiProblem("internal-error", "服务器内部错误", code="internal_error")
    slug = next((p.slug for p in CATALOG.values() if p.status == exc.status_code), "malformed-request")
    return ApiProblem(slug, str(exc.detail), code=slug.replace("-", "_"))


def handle_api_problem(request: Request[Any, Any, Any], exc: ApiProblem) -> Response[bytes]:
    return problem_response(request, exc)


def handle_ledger_error(request: Request[Any, Any, Any], exc: LedgerError) -> Response[bytes]:
    return problem_response(request, ledger_problem(exc))


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    return problem_response(request, http_problem(exc))


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(request, ApiProblem("internal-error", "服务器内部错误，已记录日志", code="internal_error"))


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    ApiProblem: handle_api_problem,
    LedgerError: handle_ledger_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}


# ── OpenAPI ──────────────────────────────────────────────────────────────────

_DESCRIPTIONS = {
    400: "请求格式错误（malformed-request）",
    401: "未认证（unauthorized）",
    403: "无权进行此操作（forbidden）",
    404: "不存在或不可见（not-found）",
    406: "无法提供所要求的格式（not-acceptable）",
    409: "状态不允许（illegal-transition）、版本已变更（stale-version，带 current_version）、命令编号已被使用"
         "（command-id-reused）、写入冲突（write-conflict）、身份信息已销毁（identity-erased）或已损坏（identity-damaged）",
    413: "请求内容过大（payload-too-large）",
    422: "业务规则拒绝（rule-violation、unknown-reference、plugin-rule、refused），detail 说明原因",
    503: "服务暂不可用（unavailable）",
}


def responses(*statuses: int, storage: bool = True, described: dict[int, str] | None = None) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem responses a route can give (503 too when it uses the database).

    ``described`` replaces the generic description of a status with what it means on this route.
    """
    if storage:
        statuses = (*statuses, 503)
    described = described or {}
    return {
        status: ResponseSpec(
            data_container=Problem, description=described.get(status, _DESCRIPTIONS[status]), media_type=MEDIA_TYPE,
            generate_examples=False,
        )
        for status in (*statuses, *(s for s in described if s not in statuses))
    }


READ = (400, 401, 404)
"""Every authenticated read: bad parameters, no token, not found or not visible."""
WRITE = (400, 401, 403, 404, 409, 413, 422)
"""Every command route."""
