"""The report of a JSONL import (``xinfang apply``, ``POST /api/imports``): what was written and what was not."""

from __future__ import annotations

import msgspec


class RefusedLine(msgspec.Struct, frozen=True, kw_only=True):
    """A line that was not written, with the reason."""

    line: int
    code: str
    message: str


class ImportReport(msgspec.Struct, frozen=True, kw_only=True):
    """导入结果：写入、重复（未再写入）与被拒绝的行。"""

    batch: str
    applied: int
    repeated: int
    refused: list[RefusedLine]
