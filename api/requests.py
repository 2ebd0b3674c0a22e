"""The request class: a JSON body that cannot be decoded at all is the client's error (400), not ours.

msgspec reports invalid UTF-8 as ``UnicodeDecodeError`` and nesting deeper than it can follow as
``RecursionError``; Litestar passes both on, and they would answer 500. Only the body decode is
wrapped, so the same exceptions anywhere else still show as the server errors they are.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from api.problems import ApiProblem
from ledger.inputs import encoding_hint


class LedgerRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        try:
            return await super().json()
        except UnicodeDecodeError as exc:
            raise ApiProblem("malformed-request", f"请求内容{encoding_hint(exc)}", code="invalid_encoding") from exc
        except RecursionError as exc:
            raise ApiProblem("malformed-request", "请求内容的 JSON 嵌套过深", code="malformed_json") from exc
