"""Projection tests: a county ledger whose server clock the test moves, its tables, truncated copies."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from ledger.application import Ledger
from ledger.cli import main
from ledger.errors import LedgerError
from ledger.projections.runner import Projector
from schemas.commands import Command
from schemas.common import Actor
from support.county import ADMIN, START, county_setup


class County:
    """A ledger on a real database; ``now`` is the server clock (knowledge time)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.now = START - timedelta(days=30)
        self.ledger = Ledger(url, clock=lambda: self.now)
        self.run(county_setup(self.now), ADMIN)

    def run(self, commands: Iterable[Command], actor: Actor, *, batch: str | None = None) -> list[Any]:
        """Execute in one go (chunks of 500); a refusal fails the test."""
        outcomes = list(self.ledger.execute_many(commands, actor, batch=batch))
        refused = [o for o in outcomes if isinstance(o, LedgerError)]
        assert not refused, refused[0].message
        return outcomes

    def projector(self) -> Projector:
        return Projector.of(self.ledger)

    def size(self) -> int:
        return int(self.ledger.recorder.tree_size())

    def close(self) -> None:
        self.ledger.close()


def table_rows(projector: Projector) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every projection table, in key order, as plain values."""
    tables = projector.tables
    found = {}
    for table, (key, _) in tables.UPSERTS.items():
        with tables._transaction(commit=False) as c:
            c.execute(f"SELECT * FROM {tables.name(table)} ORDER BY {key}")
            found[table] = [tuple(_plain(v) for v in (r.values() if isinstance(r, dict) else r)) for r in c.fetchall()]
    return found


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview | bytearray) else value


def cli(url: str, *args: str, env: dict[str, str] | None = None) -> Any:
    """Run ``xinfang --db url --operator ops-1 ARGS`` (as the local operator) and return click's result."""
    return CliRunner().invoke(main, ["--db", url, "--operator", "ops-1", *args], env=env, catch_exceptions=False)


def truncated_copy(url: str, size: int, into: Path) -> str:
    """A copy of a SQLite ledger holding only its first ``size`` events (and their leaves and nodes)."""
    source = Path(url[len("sqlite:///"):])
    target = into / f"copy-{size}.sqlite3"
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    with sqlite3.connect(target) as db:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            db.execute(f"DROP TRIGGER {name}")
        db.execute(
            "DELETE FROM stored_events WHERE NOT EXISTS (SELECT 1 FROM ledger_leaves l WHERE "
            "l.originator_id = stored_events.originator_id AND l.originator_version = stored_events.originator_version "
            "AND l.seq < ?)", (size,))
        db.execute("DELETE FROM ledger_leaves WHERE seq >= ?", (size,))
        db.execute("DELETE FROM ledger_nodes WHERE ((idx + 1) << level) > ?", (size,))
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'proj%'"
                                   ).fetchall():
            db.execute(f"DROP TABLE {table}")
    if source.with_suffix(".key").exists():
        shutil.copy(source.with_suffix(".key"), target.with_suffix(".key"))
    return f"sqlite:///{target}"
