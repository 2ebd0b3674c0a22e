"""Raw SQL access to the ledger's tables for the integrity layer, on either engine.

The verifier reads the whole log in one snapshot (a read transaction), as plain tuples, without
building eventsourcing objects; checkpoints are written to ``ledger_checkpoints``. Both go
through the recorder's own datastore, so they see the same database (and PostgreSQL schema) as
the application. Queries use ``?`` placeholders and ``{name}`` table references; :meth:`sql`
turns them into the engine's dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


class Tables:
    """What differs between the engines: names, placeholders, id text, commit order column."""

    placeholder = "?"
    event_order = "rowid"
    """Column giving the events table's insertion (commit) order."""
    dashed_ids = False
    """Whether ``originator_id`` reads back as the UUID's dashed text (else its 32 hex digits)."""
    id_text = "originator_id"
    """Expression reading ``originator_id`` as text."""
    id_eq = "originator_id = ?"
    """Condition on ``originator_id`` given as stored text (see :meth:`id_of`), using the index."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.events_table = recorder.events_table_name

    def name(self, table: str) -> str:
        return table

    def sql(self, text: str) -> str:
        return text.replace("?", self.placeholder).format(
            events=self.name(self.events_table),
            leaves=self.name("ledger_leaves"),
            nodes=self.name("ledger_nodes"),
            checkpoints=self.name("ledger_checkpoints"),
        )

    def id_of(self, aggregate_id: str) -> str:
        """The stored text of an aggregate id given in its dashed form."""
        return aggregate_id if self.dashed_ids else aggregate_id.replace("-", "")

    def predecessors(self, q: Query, keys: list[tuple[str, int]], below: int) -> dict[str, tuple[int, bytes]]:
        """Leaf hashes of ``(id as stored, version)`` whose ``seq < below``, by id: ``{id: (version, hash)}``."""
        found: dict[str, tuple[int, bytes]] = {}
        for start in range(0, len(keys), 5000):
            for row in self._predecessors(q, keys[start : start + 5000], below):
                found[str(row[0])] = (int(row[1]), bytes(row[2]))
        return found

    def _predecessors(self, q: Query, keys: list[tuple[str, int]], below: int) -> list[tuple[Any, ...]]:
        values = ",".join(["(?,?)"] * len(keys))
        return q(
            f"WITH k(id, v) AS (VALUES {values}) SELECT l.originator_id, l.originator_version, l.leaf_hash "
            "FROM k JOIN {leaves} l ON l.originator_id = k.id AND l.originator_version = k.v WHERE l.seq < ?",
            [x for key in keys for x in key] + [below],
        )

    @contextmanager
    def snapshot(self) -> Iterator[Query]:
        """Queries that all see the same committed state of the database."""
        raise NotImplementedError
        yield  # pragma: no cover

    @contextmanager
    def writing(self) -> Iterator[Query]:
        raise NotImplementedError
        yield  # pragma: no cover


class SQLiteTables(Tables):
    @contextmanager
    def _cursor(self, commit: bool) -> Iterator[Query]:
        with self.recorder.datastore.transaction(commit=commit) as c:
            cursor = c.sqlite_cursor
            cursor.row_factory = None

            def query(text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
                cursor.execute(self.sql(text), tuple(params))
                return cursor.fetchall()

            yield query

    @contextmanager
    def snapshot(self) -> Iterator[Query]:
        # A read transaction in WAL mode: every query sees the database as of its first read.
        with self._cursor(commit=False) as query:
            yield query

    @contextmanager
    def writing(self) -> Iterator[Query]:
        with self._cursor(commit=True) as query:
            yield query


class PostgresTables(Tables):
    placeholder = "%s"
    event_order = "notification_id"
    dashed_ids = True
    id_text = "originator_id::text"
    id_eq = "originator_id = ?::uuid"

    def __init__(self, recorder: Any) -> None:
        super().__init__(recorder)
        self.schema = recorder.datastore.schema

    def name(self, table: str) -> str:
        return f'"{self.schema}"."{table}"'

    def _predecessors(self, q: Query, keys: list[tuple[str, int]], below: int) -> list[tuple[Any, ...]]:
        from uuid import UUID

        return q(
            "SELECT l.originator_id::text, l.originator_version, l.leaf_hash FROM unnest(?::uuid[], ?::bigint[]) "
            "AS k(id, v) JOIN {leaves} l ON l.originator_id = k.id AND l.originator_version = k.v WHERE l.seq < ?",
            ([UUID(key[0]) for key in keys], [key[1] for key in keys], below),
        )

    @contextmanager
    def _cursor(self, isolation: str | None) -> Iterator[Query]:
        from psycopg.rows import tuple_row

        with self.recorder.datastore.get_connection() as conn, conn.transaction():
            with conn.cursor(row_factory=tuple_row, binary=True) as cursor:
                if isolation:
                    cursor.execute(f"SET TRANSACTION ISOLATION LEVEL {isolation}")

                def query(text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
                    cursor.execute(self.sql(text), tuple(params))
                    return cursor.fetchall() if cursor.description else []

                yield query

    @contextmanager
    def snapshot(self) -> Iterator[Query]:
        with self._cursor("REPEATABLE READ, READ ONLY") as query:
            yield query

    @contextmanager
    def writing(self) -> Iterator[Query]:
        with self._cursor(None) as query:
            yield query


def tables_of(recorder: Any) -> Tables:
    """The adapter for a recorder made by ``ledger.store.sqlite`` or ``ledger.store.postgres``."""
    from ledger.store import sqlite

    if isinstance(recorder, sqlite.LedgerApplicationRecorder):
        return SQLiteTables(recorder)
    from ledger.store import postgres

    if isinstance(recorder, postgres.LedgerApplicationRecorder):
        return PostgresTables(recorder)
    raise TypeError(f"{type(recorder).__qualname__} is not a ledger recorder")
