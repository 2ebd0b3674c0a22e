"""What a JSONL batch import answers (``xinfang apply --json`` and ``POST /api/imports``)."""

from __future__ import annotations

import msgspec

__all__ = ["ImportReport", "RefusedLine"]


class RefusedLine(msgspec.Struct, frozen=True, kw_only=True):
    """没有写入的一行：行号、代码和原因。"""

    line: int
    """1-based line number in the batch."""
    code: str
    """The ledger's machine code (``invalid_command``, ``stale_version``, ``forbidden``, …)."""
    message: str
    """Why, in Chinese."""


class ImportReport(msgspec.Struct, frozen=True, kw_only=True):
    """导入结果：写入、重复（未再写入）与被拒绝的行。"""

    batch: str
    migration: str | None = None
    """The declared migration the lines were imported under, if any."""
    applied: int
    repeated: int
    refused: list[RefusedLine]
