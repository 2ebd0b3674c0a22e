"""Errors as machines read them: RFC 9457 problem details of the HTTP API, the problem-type catalogue
(``/problems``), and the ``--json`` error of the CLI."""

from __future__ import annotations

import msgspec

__all__ = ["CliError", "FieldError", "Problem", "ProblemDoc"]


class FieldError(msgspec.Struct, frozen=True, kw_only=True):
    """One invalid field or parameter."""

    message: str
    key: str | None = None
    source: str | None = None


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """问题详情（RFC 9457）：type 为稳定的英文标识，title 与 detail 为中文。"""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    current_version: int | None = None
    """Only on ``stale-version``: the version the object has now."""
    errors: list[FieldError] | None = None
    """Only on ``malformed-request``: each invalid field or parameter."""


class ProblemDoc(msgspec.Struct, frozen=True, kw_only=True):
    """一个问题类型的说明（``/problems/{slug}``）。"""

    type: str
    slug: str
    status: int
    title: str
    description: str


class CliError(msgspec.Struct, frozen=True, kw_only=True):
    """命令行出错时（``--json``）打印的内容；退出码见 README。"""

    error: str
    """The ledger's machine code (``unknown_case``, ``stale_version``, …)."""
    message: str
    """What went wrong, in Chinese."""
    details: dict[str, str] = {}
    """What the error names (``case``, ``seq``, ``current_version``, ``plugin``, …), as text."""
