"""Path and query parameters held to the same patterns as request bodies (:mod:`schemas.common`).

Litestar does not apply the msgspec constraints of an ``Annotated`` alias such as ``Code`` to a
parameter, so ``/api/cases/A-1%0A`` would be looked up as a look-alike of ``A-1``. These helpers
restate an alias's pattern and lengths as parameter constraints: enforced (400) and documented.
"""

from __future__ import annotations

from typing import Any, get_args

from litestar.params import PathParameter, QueryParameter


def limits(alias: Any) -> dict[str, Any]:
    """The pattern and length bounds of a constrained string alias, e.g. ``schemas.common.Code``."""
    meta = get_args(alias)[1]
    return {name: getattr(meta, name) for name in ("pattern", "min_length", "max_length")
            if getattr(meta, name) is not None}


def path(alias: Any, description: str) -> Any:
    return PathParameter(description=description, **limits(alias))


def query(alias: Any, description: str, **overrides: Any) -> Any:
    return QueryParameter(description=description, **{**limits(alias), **overrides})
