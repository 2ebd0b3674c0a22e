"""How the CLI speaks: Chinese tables for people, JSON for machines, documented exit codes."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ledger.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    IntegrityFailure,
    InvalidInput,
    LedgerError,
    NotFound,
    Refused,
)

EXIT_OK = 0
EXIT_INTEGRITY = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_NOT_FOUND = 4
EXIT_CONFLICT = 5
EXIT_FAILURE = 6
EXIT_FORBIDDEN = 7
"""Exit codes: 0 成功；1 完整性校验失败；2 输入或用法错误；3 被业务规则拒绝；4 不存在；5 版本冲突；6 其他错误；
7 无权（角色或单位不允许）。"""

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)
T = TypeVar("T")


def exit_code(exc: LedgerError) -> int:
    for kind, code in (
        (IntegrityFailure, EXIT_INTEGRITY),
        (InvalidInput, EXIT_USAGE),
        (ConfigError, EXIT_USAGE),
        (Refused, EXIT_REFUSED),
        (NotFound, EXIT_NOT_FOUND),
        (Conflict, EXIT_CONFLICT),
        (Forbidden, EXIT_FORBIDDEN),
    ):
        if isinstance(exc, kind):
            return code
    return EXIT_FAILURE


def print_json(value: Any) -> None:
    sys.stdout.buffer.write(msgspec.json.encode(value) + b"\n")
    sys.stdout.flush()


def table(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    grid = Table(title=title, title_justify="left", show_lines=False)
    for header in headers:
        grid.add_column(header)
    for row in rows:
        grid.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(grid)


def wide_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Reports and timelines are wide: cells wrap instead of being cut, and a pipe gets 200 columns, not 80."""
    out = Console(highlight=False, soft_wrap=False, width=None if console.is_terminal else 200)
    grid = Table(title=title, title_justify="left")
    for header in headers:
        grid.add_column(header, overflow="fold")
    for row in rows:
        grid.add_row(*("" if cell is None else str(cell) for cell in row))
    out.print(grid)


def progress(items: Iterable[T], total: int | None, label: str) -> Iterator[T]:
    """Iterate with a progress bar on the terminal (stderr); silent when not interactive."""
    if not errors.is_terminal:
        yield from items
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=errors, transient=True) as bar:
        task = bar.add_task(label, total=total)
        for item in items:
            yield item
            bar.advance(task)
