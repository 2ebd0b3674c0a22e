"""Where projections live: tables in the ledger's own database, one small adapter per engine.

``proj_positions`` is the tracking table (one row per projection: how many events of the
log it has folded and the code version of its rows). A write moves a position with a
compare-and-set on the old value and writes the changed rows in the same transaction, so a
row set always matches its position, even with several processes catching up at once.

Two kinds of rows:

- **facts** (projections ``cases``, ``records``, ``backfill``): folded from the events only,
  so a change of rule set needs no rebuild. Besides each aggregate's folded body, the
  columns the read model queries: a case's stage, units, dates, flags; the units with
  their place in the unit tree (``path``: ``/county/town-a/village-a1/``); officials;
  which petitioner references a case names; who holds each identity.
- **derived** (projection ``derived:<fingerprint>``): what a rule set derives from the
  facts — each case's deadlines and its flags — one row set per rule-set fingerprint, so
  processes running different rules never read each other's rows.

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
    ordered_text = "TEXT"
    """Text compared byte by byte, so a unit path's subtree is a range."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.events_table = recorder.events_table_name
        self._created = False
        self._lock = threading.Lock()

    # ── dialect ──────────────────────────────────────────────────────────────

    def name(self, table: str) -> str:
        return table

    def sql(self, text: str) -> str:
        """``?`` placeholders and ``{table}`` names in the engine's dialect."""
        return text.replace("?", self.placeholder).format(**{t: self.name(t) for t in ALL_TABLES})

    def ddl(self) -> list[str]:
        i, b, o = self.bigint, self.blob, self.ordered_text
        statements = [
            "CREATE TABLE IF NOT EXISTS {proj_positions} (name TEXT PRIMARY KEY, position %s NOT NULL, "
            "version INTEGER NOT NULL)" % i,
            "CREATE TABLE IF NOT EXISTS {proj_cases} (id TEXT PRIMARY KEY, number TEXT NOT NULL UNIQUE, "
            "stage TEXT NOT NULL, unit TEXT NOT NULL, current_unit TEXT, leader TEXT, received_on TEXT NOT NULL, flags TEXT NOT NULL, "
            "registered_by TEXT NOT NULL, home_township TEXT NOT NULL, channel TEXT NOT NULL, subject TEXT NOT NULL, "
            "repeat_of TEXT, version %s NOT NULL, body %s NOT NULL)" % (i, b),
            "CREATE INDEX IF NOT EXISTS proj_cases_received ON {proj_cases} (received_on, number)",
            "CREATE INDEX IF NOT EXISTS proj_cases_unit ON {proj_cases} (unit, stage)",
            "CREATE TABLE IF NOT EXISTS {proj_case_units} (case_id TEXT NOT NULL, unit TEXT NOT NULL, "
            "PRIMARY KEY (case_id, unit))",
            "CREATE INDEX IF NOT EXISTS proj_case_units_unit ON {proj_case_units} (unit, case_id)",
            "CREATE TABLE IF NOT EXISTS {proj_case_accused} (case_id TEXT NOT NULL, code TEXT NOT NULL, "
            "PRIMARY KEY (case_id, code))",
            "CREATE INDEX IF NOT EXISTS proj_case_accused_code ON {proj_case_accused} (code)",
            "CREATE TABLE IF NOT EXISTS {proj_case_petitioners} (ref TEXT NOT NULL, case_id TEXT NOT NULL, "
            "PRIMARY KEY (ref, case_id))",
            "CREATE TABLE IF NOT EXISTS {proj_records} (id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
            "key TEXT NOT NULL, day TEXT NOT NULL, unit TEXT NOT NULL, case_number TEXT, body %s NOT NULL)" % b,
            "CREATE INDEX IF NOT EXISTS proj_records_case ON {proj_records} (case_number)",
            "CREATE TABLE IF NOT EXISTS {proj_units} (code TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, "
            "parent TEXT, township_class TEXT, path %s NOT NULL)" % o,
            "CREATE INDEX IF NOT EXISTS proj_units_path ON {proj_units} (path)",
            "CREATE TABLE IF NOT EXISTS {proj_officials} (code TEXT PRIMARY KEY, name TEXT NOT NULL, "
            "unit TEXT NOT NULL, title TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS proj_officials_unit ON {proj_officials} (unit)",
            "CREATE TABLE IF NOT EXISTS {proj_identities} (ref TEXT PRIMARY KEY, holder TEXT NOT NULL, "
            "erased INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS {proj_backfill} (seq %s PRIMARY KEY, aggregate_id TEXT NOT NULL, "
            "kind TEXT NOT NULL, key TEXT, type TEXT NOT NULL, actor TEXT NOT NULL, unit TEXT NOT NULL, "
            "occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL, hours %s NOT NULL, body %s NOT NULL)" % (i, i, b),
            "CREATE TABLE IF NOT EXISTS {proj_activity} (actor TEXT NOT NULL, unit TEXT NOT NULL, "
            "day TEXT NOT NULL, events %s NOT NULL, PRIMARY KEY (actor, unit, day))" % i,
            "CREATE TABLE IF NOT EXISTS {proj_deadlines} (fingerprint TEXT NOT NULL, case_id TEXT NOT NULL, "
            "step TEXT NOT NULL, kind TEXT NOT NULL, label TEXT NOT NULL, basis TEXT NOT NULL, owner TEXT NOT NULL, "
            "started_on TEXT NOT NULL, due TEXT NOT NULL, stopped_on TEXT, provisional INTEGER NOT NULL, "
            "PRIMARY KEY (fingerprint, case_id, step))",
            "CREATE INDEX IF NOT EXISTS proj_deadlines_running ON {proj_deadlines} (fingerprint, due) "
            "WHERE stopped_on IS NULL",
            "CREATE TABLE IF NOT EXISTS {proj_case_rules} (fingerprint TEXT NOT NULL, case_id TEXT NOT NULL, "
            "flags TEXT NOT NULL, next_due TEXT, PRIMARY KEY (fingerprint, case_id))",
        ]
        return [self.sql(s) for s in statements]

    TABLES: dict[str, tuple[str, ...]] = {
        "cases": ("proj_cases", "proj_case_units", "proj_case_accused", "proj_case_petitioners"),
        "records": ("proj_records", "proj_units", "proj_officials", "proj_identities"),
        "backfill": ("proj_backfill", "proj_activity"),
    }
    """Each fact projection's row tables (derived rows are keyed by fingerprint: see :meth:`reset_derived`)."""

    UPSERTS: dict[str, tuple[str, tuple[str, ...]]] = {
        "proj_cases": ("id", ("id", "number", "stage", "unit", "current_unit", "leader", "received_on", "flags", "registered_by",
                              "home_township", "channel", "subject", "repeat_of", "version", "body")),
        "proj_case_units": ("case_id, unit", ("case_id", "unit")),
        "proj_case_accused": ("case_id, code", ("case_id", "code")),
        "proj_case_petitioners": ("ref, case_id", ("ref", "case_id")),
        "proj_records": ("id", ("id", "kind", "key", "day", "unit", "case_number", "body")),
        "proj_units": ("code", ("code", "name", "kind", "parent", "township_class", "path")),
        "proj_officials": ("code", ("code", "name", "unit", "title")),
        "proj_identities": ("ref", ("ref", "holder", "erased")),
        "proj_backfill": ("seq", ("seq", "aggregate_id", "kind", "key", "type", "actor", "unit", "occurred_at",
                                  "recorded_at", "hours", "body")),
        "proj_activity": ("actor, unit, day", ("actor", "unit", "day", "events")),
        "proj_deadlines": ("fingerprint, case_id, step", ("fingerprint", "case_id", "step", "kind", "label", "basis",
                                                          "owner", "started_on", "due", "stopped_on", "provisional")),
        "proj_case_rules": ("fingerprint, case_id", ("fingerprint", "case_id", "flags", "next_due")),
    }
    """table → (conflict key, columns in order)."""

    ACCUMULATE = {"proj_activity": "events"}
    """Columns an upsert adds to instead of replacing: written increments, not totals."""

    def upsert(self, table: str) -> str:
        conflict, columns = self.UPSERTS[table]
        keys = {k.strip() for k in conflict.split(",")}
        added = self.ACCUMULATE.get(table)
        updates = ", ".join(
            f"{c} = {self.name(table)}.{c} + excluded.{c}" if c == added else f"{c} = excluded.{c}"
            for c in columns if c not in keys
        )
        marks = ", ".join("?" * len(columns))
        action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        return self.sql(
            f"INSERT INTO {self.name(table)} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT ({conflict}) {action}"
        )

    # ── connections (per engine) ─────────────────────────────────────────────

    def _transaction(self, commit: bool) -> Any:
        return self.recorder.datastore.transaction(commit=commit)

    def _rows(self, cursor: Any) -> list[Row]:
        return list(cursor.fetchall())

    def _rowcount(self, cursor: Any) -> int:
        return int(cursor.rowcount)

    def query(self, text: str, params: Sequence[Any] = ()) -> list[Row]:
        """One read query (``?`` placeholders, ``{table}`` names) as plain tuples."""
        self.create()
        return self._select_raw(self.sql(text), tuple(params))

    # ── schema ───────────────────────────────────────────────────────────────

    def create(self) -> None:
        if self._created:
            return
        with self._lock:
            if self._created:
                return
            with self._transaction(commit=True) as c:
                self._lock_schema(c)
                for statement in self.ddl():
                    c.execute(statement)
            self._created = True

    def _lock_schema(self, cursor: Any) -> None:
        """Keep processes creating the tables at the same moment out of each other's way."""

    # ── positions ────────────────────────────────────────────────────────────

    def positions(self) -> dict[str, tuple[int, int]]:
        """name → (position, version)."""
        return {r[0]: (int(r[1]), int(r[2])) for r in self.query("SELECT name, position, version FROM {proj_positions}")}

    START_POSITION = ("INSERT INTO {proj_positions} VALUES (?, 0, ?) "
                      "ON CONFLICT (name) DO UPDATE SET position = 0, version = excluded.version")
    """(Re)start a projection at 0; processes resetting at once do not collide on the key."""

    def reset(self, names: Iterable[str], versions: dict[str, int]) -> None:
        """Empty the named fact projections and put them back at position 0 (derived rows go with them)."""
        self.create()
        with self._transaction(commit=True) as c:
            for name in names:
                for table in self.TABLES[name]:
                    c.execute(self.sql(f"DELETE FROM {{{table}}}"))
                c.execute(self.sql(self.START_POSITION), (name, versions[name]))
            self._drop_derived(c, None)

    def reset_derived(self, name: str, fingerprint: str, version: int) -> None:
        """Empty one rule set's derived rows and start them again at 0."""
        self.create()
        with self._transaction(commit=True) as c:
            self._drop_derived(c, fingerprint)
            c.execute(self.sql(self.START_POSITION), (name, version))

    def _drop_derived(self, c: Any, fingerprint: str | None) -> None:
        """Delete one rule set's derived rows, or every rule set's (and their positions) with None."""
        where, params = (" WHERE fingerprint = ?", (fingerprint,)) if fingerprint else ("", ())
        for table in ("proj_deadlines", "proj_case_rules"):
            c.execute(self.sql(f"DELETE FROM {{{table}}}{where}"), params)
        if fingerprint is None:
            c.execute(self.sql("DELETE FROM {proj_positions} WHERE name LIKE ?"), ("derived:%",))

    def commit(self, moves: dict[str, tuple[int, int]], writes: dict[str, list[Row]],
               deletes: dict[str, tuple[tuple[str, ...], list[Row]]] | None = None) -> None:
        """Move positions ``old → new`` (compare-and-set), delete then upsert rows, in one transaction.

        ``deletes``: table → (columns, values) of rows removed first (a case's units and deadlines
        are written again whole).
        """
        with self._transaction(commit=True) as c:
            for name, (old, new) in sorted(moves.items()):
                c.execute(
                    self.sql("UPDATE {proj_positions} SET position = ? WHERE name = ? AND position = ?"),
                    (new, name, old),
                )
                if self._rowcount(c) != 1:
                    raise StalePosition(name)
            for table, (columns, keys) in (deletes or {}).items():
                if keys:
                    where = " AND ".join(f"{column} = ?" for column in columns)
                    c.executemany(self.sql(f"DELETE FROM {{{table}}} WHERE {where}"), keys)
            for table, rows in writes.items():
                if rows:
                    c.executemany(self.upsert(table), rows)

    # ── loading ──────────────────────────────────────────────────────────────

    def bodies(self, table: str, ids: Sequence[str] | None = None) -> list[bytes]:
        """Every body of ``table``, or those of the rows with these ``ids``."""
        if ids is None:
            return [bytes(r[0]) for r in self.query(f"SELECT body FROM {{{table}}}")]
        found: list[bytes] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            found += [bytes(r[0]) for r in self.query(
                f"SELECT body FROM {{{table}}} WHERE id IN ({', '.join('?' * len(chunk))})", chunk)]
        return found

    def activity(self) -> list[Row]:
        return self.query("SELECT actor, unit, day, events FROM {proj_activity}")

    def unit_paths(self, codes: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(codes))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            found.update((r[0], r[1]) for r in self.query(
                f"SELECT code, path FROM {{proj_units}} WHERE code IN ({', '.join('?' * len(chunk))})", chunk))
        return found

    # ── the log ──────────────────────────────────────────────────────────────

    def events(self, start: int, stop: int, page: int = 10_000, *, leaves: bool = False) -> Iterator[list[Row]]:
        """Pages of ``(seq, state)`` (``(seq, state, leaf)`` with ``leaves``) for ``start <= seq < stop``."""
        events = self.name(self.events_table)
        extra = ", l.leaf" if leaves else ""
        query = self.sql(
            f"SELECT l.seq, e.state{extra} FROM {{ledger_leaves}} l JOIN {events} e "
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


ALL_TABLES = (
    "proj_positions", "proj_cases", "proj_case_units", "proj_case_accused", "proj_case_petitioners", "proj_records",
    "proj_units", "proj_officials", "proj_identities", "proj_backfill", "proj_activity", "proj_deadlines",
    "proj_case_rules", "ledger_leaves",
)


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
    ordered_text = 'TEXT COLLATE "C"'

    def __init__(self, recorder: Any, url: str) -> None:
        super().__init__(recorder)
        self.schema = recorder.datastore.schema
        self.channel = recorder.channel_name
        self.url = url
        self._listener: Any = None

    def name(self, table: str) -> str:
        return f'"{self.schema}"."{table}"'

    def sql(self, text: str) -> str:
        return super().sql(text.replace("%", "%%"))

    def _lock_schema(self, cursor: Any) -> None:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('xinfang-ledger:projection-tables'))")

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
