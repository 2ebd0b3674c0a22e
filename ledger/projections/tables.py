"""Where projections live: tables in the ledger's own database, one small adapter per engine.

``proj_positions`` is the tracking table (one row per projection: how many events of the
log it has folded and the code version of its rows). The rows hold facts only, nothing
a rule derives, so a change of rule set needs no rebuild. A write moves a position with a compare-and-set on the old value and
writes the changed rows in the same transaction, so a row set always matches its
position, even with several processes catching up at once.

The adapters also read the log the way replay needs it: ``(seq, state)`` pages straight
from the join of leaves and events, without building eventsourcing objects.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ledger.config import is_postgres

Row = Sequence[Any]


class StalePosition(Exception):
    """Another process moved a projection since it was read: reload and try again."""


class Tables:
    """Engine-neutral operations; subclasses supply the SQL dialect and the connections."""

    placeholder = "?"
    blob = "BLOB"
    bigint = "INTEGER"

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.events_table = recorder.events_table_name
        self._created = False
        self._lock = threading.Lock()

    # ── dialect ──────────────────────────────────────────────────────────────

    def name(self, table: str) -> str:
        return table

    def _sql(self, text: str) -> str:
        return text.replace("?", self.placeholder)

    def ddl(self) -> list[str]:
        t, b, i = self.name, self.blob, self.bigint
        return [
            f"CREATE TABLE IF NOT EXISTS {t('proj_positions')} (name TEXT PRIMARY KEY, position {i} NOT NULL, "
            "version INTEGER NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {t('proj_cases')} (id TEXT PRIMARY KEY, number TEXT NOT NULL, "
            "stage TEXT NOT NULL, unit TEXT, leader TEXT, received_on TEXT NOT NULL, "
            f"flags TEXT NOT NULL, version {i} NOT NULL, body {b} NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS proj_cases_unit ON {t('proj_cases')} (unit, stage)",
            f"CREATE TABLE IF NOT EXISTS {t('proj_records')} (id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
            f"key TEXT NOT NULL, day TEXT NOT NULL, unit TEXT NOT NULL, body {b} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {t('proj_backfill')} (seq {i} PRIMARY KEY, aggregate_id TEXT NOT NULL, "
            "kind TEXT NOT NULL, key TEXT, type TEXT NOT NULL, actor TEXT NOT NULL, unit TEXT NOT NULL, "
            f"occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL, hours {i} NOT NULL, body {b} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {t('proj_activity')} (actor TEXT NOT NULL, unit TEXT NOT NULL, "
            f"day TEXT NOT NULL, events {i} NOT NULL, PRIMARY KEY (actor, unit, day))",
        ]

    TABLES: dict[str, tuple[str, ...]] = {
        "cases": ("proj_cases",),
        "records": ("proj_records",),
        "backfill": ("proj_backfill", "proj_activity"),
    }
    """Each projection's row tables."""

    UPSERTS: dict[str, tuple[str, tuple[str, ...]]] = {
        "proj_cases": ("id", ("id", "number", "stage", "unit", "leader", "received_on", "flags", "version", "body")),
        "proj_records": ("id", ("id", "kind", "key", "day", "unit", "body")),
        "proj_backfill": ("seq", ("seq", "aggregate_id", "kind", "key", "type", "actor", "unit", "occurred_at",
                                  "recorded_at", "hours", "body")),
        "proj_activity": ("actor, unit, day", ("actor", "unit", "day", "events")),
    }
    """table → (conflict key, columns in order)."""

    def upsert(self, table: str) -> str:
        conflict, columns = self.UPSERTS[table]
        keys = {k.strip() for k in conflict.split(",")}
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
        marks = ", ".join("?" * len(columns))
        return self._sql(
            f"INSERT INTO {self.name(table)} ({', '.join(columns)}) VALUES ({marks}) "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
        )

    # ── connections (per engine) ─────────────────────────────────────────────

    def _transaction(self, commit: bool) -> Any:
        return self.recorder.datastore.transaction(commit=commit)

    def _rows(self, cursor: Any) -> list[Row]:
        return list(cursor.fetchall())

    def _rowcount(self, cursor: Any) -> int:
        return int(cursor.rowcount)

    # ── schema ───────────────────────────────────────────────────────────────

    def create(self) -> None:
        with self._lock:
            if self._created:
                return
            with self._transaction(commit=True) as c:
                for statement in self.ddl():
                    c.execute(statement)
            self._created = True

    # ── positions ────────────────────────────────────────────────────────────

    def positions(self) -> dict[str, tuple[int, int]]:
        """name → (position, version)."""
        self.create()
        with self._transaction(commit=False) as c:
            c.execute(f"SELECT name, position, version FROM {self.name('proj_positions')}")
            return {r[0]: (int(r[1]), int(r[2])) for r in self._rows(c)}

    def reset(self, names: Iterable[str], versions: dict[str, int]) -> None:
        """Empty the named projections and put them back at position 0."""
        self.create()
        with self._transaction(commit=True) as c:
            for name in names:
                for table in self.TABLES[name]:
                    c.execute(f"DELETE FROM {self.name(table)}")
                c.execute(self._sql(f"DELETE FROM {self.name('proj_positions')} WHERE name = ?"), (name,))
                c.execute(
                    self._sql(f"INSERT INTO {self.name('proj_positions')} VALUES (?, 0, ?)"),
                    (name, versions[name]),
                )

    def commit(self, moves: dict[str, tuple[int, int]], writes: dict[str, list[Row]]) -> None:
        """Move positions ``old → new`` (compare-and-set) and upsert rows, in one transaction."""
        with self._transaction(commit=True) as c:
            for name, (old, new) in sorted(moves.items()):
                c.execute(
                    self._sql(f"UPDATE {self.name('proj_positions')} SET position = ? WHERE name = ? AND position = ?"),
                    (new, name, old),
                )
                if self._rowcount(c) != 1:
                    raise StalePosition(name)
            for table, rows in writes.items():
                if rows:
                    c.executemany(self.upsert(table), rows)

    # ── loading ──────────────────────────────────────────────────────────────

    def bodies(self, table: str) -> list[bytes]:
        with self._transaction(commit=False) as c:
            c.execute(f"SELECT body FROM {self.name(table)}")
            return [bytes(r[0]) for r in self._rows(c)]

    def activity(self) -> list[Row]:
        with self._transaction(commit=False) as c:
            c.execute(f"SELECT actor, unit, day, events FROM {self.name('proj_activity')}")
            return self._rows(c)

    # ── the log ──────────────────────────────────────────────────────────────

    def events(self, start: int, stop: int, page: int = 10_000, *, leaves: bool = False) -> Iterator[list[Row]]:
        """Pages of ``(seq, state)`` (``(seq, state, leaf)`` with ``leaves``) for ``start <= seq < stop``."""
        events = self.name(self.events_table)
        extra = ", l.leaf" if leaves else ""
        query = self._sql(
            f"SELECT l.seq, e.state{extra} FROM {self.name('ledger_leaves')} l JOIN {events} e "
            "ON e.originator_id = l.originator_id AND e.originator_version = l.originator_version "
            "WHERE l.seq >= ? AND l.seq < ? ORDER BY l.seq"
        )
        position = start
        while position < stop:
            end = min(stop, position + page)
            rows = self._select_raw(query, (position, end))
            if rows:
                yield rows
            position = end

    def bare_events(self, start: int, stop: int, page: int = 10_000) -> Iterator[list[Row]]:
        """The same rows as :meth:`events`: the baseline the replay benchmark compares with."""
        return self.events(start, stop, page)

    def _select_raw(self, query: str, params: tuple[Any, ...]) -> list[Row]:
        raise NotImplementedError

    def wait(self, timeout: float) -> None:
        """Block until new events may have been written, or ``timeout`` seconds passed."""
        threading.Event().wait(timeout)

    def close(self) -> None:
        pass


class SQLiteTables(Tables):
    """SQLite: polling; rows as plain tuples for speed."""

    def _select_raw(self, query: str, params: tuple[Any, ...]) -> list[Row]:
        with self._transaction(commit=False) as c:
            cursor = c.sqlite_cursor
            cursor.row_factory = None
            cursor.execute(query, params)
            return cursor.fetchall()

    def _rowcount(self, cursor: Any) -> int:
        return int(cursor.sqlite_cursor.rowcount)


class PostgresTables(Tables):
    """PostgreSQL: the ledger's schema, binary reads, LISTEN/NOTIFY to follow the log."""

    placeholder = "%s"
    blob = "bytea"
    bigint = "bigint"

    def __init__(self, recorder: Any, url: str) -> None:
        super().__init__(recorder)
        self.schema = recorder.datastore.schema
        self.channel = recorder.channel_name
        self.url = url
        self._listener: Any = None

    def name(self, table: str) -> str:
        return f'"{self.schema}"."{table}"'

    def _select_raw(self, query: str, params: tuple[Any, ...]) -> list[Row]:
        from psycopg.rows import tuple_row

        with self.recorder.datastore.get_connection() as conn:
            with conn.cursor(row_factory=tuple_row, binary=True) as cursor:
                cursor.execute(query, params)
                return cursor.fetchall()

    def _rows(self, cursor: Any) -> list[Row]:
        return [tuple(r.values()) if isinstance(r, dict) else r for r in cursor.fetchall()]

    def wait(self, timeout: float) -> None:
        import psycopg

        if self._listener is None:
            self._listener = psycopg.connect(self.url, autocommit=True)
            self._listener.execute(f'LISTEN "{self.channel}"')
        for _ in self._listener.notifies(timeout=timeout, stop_after=1):
            break

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None


def tables_for(recorder: Any, url: str) -> Tables:
    return PostgresTables(recorder, url) if is_postgres(url) else SQLiteTables(recorder)
