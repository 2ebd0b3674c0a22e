"""One JSONL import path for ``xinfang apply`` and ``POST /api/imports``.

A batch is bytes, one command per line. Every line is decoded on its own, so a bad line (not
UTF-8, not JSON, not a valid command, not allowed) is reported with its number and a reason and
does not stop the others; the good lines are written in order. A UTF-8 byte-order mark (what
Notepad and Excel put before "UTF-8" text) is accepted; GBK text and UTF-16 files are refused
with a hint, since that is what Chinese Windows writes by default.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Callable, Iterable, Iterator

from ledger.errors import InvalidInput, LedgerError
from ledger.inputs import decode_command
from schemas.commands import Command
from schemas.imports import ImportReport, RefusedLine
from schemas.views import CommandResult

Execute = Callable[[list[Command], str], Iterable[CommandResult | LedgerError]]
"""Writes decoded commands under a batch name, one outcome per command, in order."""

BOM = codecs.BOM_UTF8
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def batch_name(data: bytes) -> str:
    """The default batch name: a digest of the content, so importing the same file twice names it the same."""
    return "import-" + hashlib.sha256(data).hexdigest()[:12]


def lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Numbered non-blank lines (``\\n``, ``\\r\\n`` or ``\\r``), each without a leading UTF-8 BOM."""
    if data.startswith(UTF16_BOMS):
        raise InvalidInput("文件是 UTF-16 编码（记事本“Unicode”格式）：请另存为 UTF-8 后再导入", code="invalid_encoding")
    for number, line in enumerate(data.splitlines(), start=1):
        line = line.removeprefix(BOM)
        if line.strip():
            yield number, line


def import_lines(data: bytes, execute: Execute, *, batch: str | None = None,
                 migration: str | None = None) -> ImportReport:
    """Decode and write every line of ``data`` (``execute`` asks the access policy of each); the report
    lists each refused line with its reason. ``migration`` names the declared migration ``execute``
    imports under, for the report.

    Raises :class:`InvalidInput` only when there is nothing to import at all (empty, or UTF-16).
    """
    batch = batch or batch_name(data)
    good: list[tuple[int, Command]] = []
    refused: list[RefusedLine] = []
    for number, line in lines(data):
        try:
            command = decode_command(line)
        except InvalidInput as exc:
            refused.append(RefusedLine(line=number, code=exc.code, message=exc.message))
            continue
        good.append((number, command))
    if not good and not refused:
        raise InvalidInput("导入内容为空：每行应为一条命令（JSON）", code="empty_import")
    applied = repeated = 0
    outcomes = execute([c for _, c in good], batch)
    for (number, _), outcome in zip(good, outcomes, strict=True):
        if isinstance(outcome, LedgerError):
            refused.append(RefusedLine(line=number, code=outcome.code, message=outcome.message))
        elif outcome.repeated:
            repeated += 1
        else:
            applied += 1
    refused.sort(key=lambda r: r.line)
    return ImportReport(batch=batch, migration=migration, applied=applied, repeated=repeated, refused=refused)
