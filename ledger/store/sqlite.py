"""eventsourcing persistence module for SQLite (``PERSISTENCE_MODULE=ledger.store.sqlite``).

eventsourcing's SQLite recorders, plus the ledger's integrity rows written in the events'
transaction: ``ledger_leaves``, ``ledger_nodes`` and ``command_receipts``. A transaction's
first statement is the events insert, which takes SQLite's write lock; everything that depends on
the end of the log (``seq``, ``prev``, the tree, the time check) is read after it, so concurrent
writers, in this process or another, are serialised by the database itself.

eventsourcing's factory module is imported as a module, not by class name: the persistence
module must hold exactly one ``InfrastructureFactory`` subclass (``Factory``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal
from uuid import UUID

from eventsourcing import sqlite as _es
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import Environment, EnvType

from ledger.store.leaves import (
    APPEND_ONLY_TABLES,
    LeafRow,
    SeqEvent,
    TipCache,
    TreeTip,
    append_leaves,
    head_of,
    predecessor_keys,
    require_leaves,
)

__all__ = [
    "Factory",
    "LedgerApplicationRecorder",
    "LedgerConnectionPool",
    "LedgerDatastore",
    "LedgerProcessRecorder",
    "LedgerTrackingRecorder",
]

LEDGER_TABLES = [
    "CREATE TABLE IF NOT EXISTS ledger_leaves ("
    "seq INTEGER PRIMARY KEY CHECK (seq >= 0), "
    "originator_id TEXT NOT NULL, "
    "originator_version INTEGER NOT NULL, "
    "leaf BLOB NOT NULL, "
    "leaf_hash BLOB NOT NULL CHECK (length(leaf_hash) = 32), "
    "UNIQUE (originator_id, originator_version))",
    "CREATE TABLE IF NOT EXISTS ledger_nodes ("
    "level INTEGER NOT NULL, "
    "idx INTEGER NOT NULL, "
    "hash BLOB NOT NULL CHECK (length(hash) = 32), "
    "PRIMARY KEY (level, idx)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS command_receipts ("
    "command_id TEXT PRIMARY KEY, "
    "digest TEXT NOT NULL, "
    "result BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS ledger_checkpoints ("
    "id INTEGER PRIMARY KEY, "
    "tree_size INTEGER NOT NULL, "
    "root BLOB NOT NULL, "
    "note TEXT NOT NULL, "
    "issued_at TEXT NOT NULL)",
] + [
    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
    for table in APPEND_ONLY_TABLES
    for verb in ("UPDATE", "DELETE")
]
"""Created with the application recorder's tables; the triggers refuse UPDATE and DELETE."""

_SQLITE_MAX_KEYS_PER_QUERY = 10_000


class LedgerConnectionPool(_es.SQLiteConnectionPool):
    """eventsourcing's pool (which already switches file databases to WAL) with
    ``synchronous=NORMAL`` on every connection.

    In WAL mode NORMAL fsyncs at checkpoints rather than at every commit: the database cannot be
    corrupted by a power cut, but the last commits before it may be lost. Appends are bound by
    fsync otherwise.
    """

    def _create_connection(self) -> _es.SQLiteConnection:
        conn = super()._create_connection()
        if not self.is_sqlite_memory_mode:
            with conn.cursor() as c:
                c.execute("PRAGMA synchronous=NORMAL")
        return conn


class LedgerDatastore(_es.SQLiteDatastore):
    """eventsourcing's datastore with :class:`LedgerConnectionPool`.

    ``pool_options`` are those of eventsourcing's SQLite pool (``lock_timeout``, ``pool_size``,
    ``max_overflow``, ``pool_timeout``, ``max_age``, ``pre_ping``), given to both pools alike.
    """

    def __init__(
        self,
        db_name: str,
        *,
        single_row_tracking: bool = True,
        originator_id_type: Literal["uuid", "text"] = "uuid",
        **pool_options: Any,
    ) -> None:
        super().__init__(
            db_name,
            single_row_tracking=single_row_tracking,
            originator_id_type=originator_id_type,
            **pool_options,
        )
        self.pool.close()  # never connected; replaced by ours
        self.pool = LedgerConnectionPool(db_name=db_name, **pool_options)


class LedgerApplicationRecorder(_es.SQLiteApplicationRecorder):
    """Application recorder that writes leaves, tree nodes and command receipts with the events.

    ``insert_events(stored_events, receipts=[(command_id, digest, result), ...])``: a duplicate
    ``command_id`` raises eventsourcing's ``IntegrityError`` like a version conflict, and the
    whole transaction (events included) is rolled back.
    """

    read_head = staticmethod(head_of)
    """How a leaf gets ``recorded_at`` and ``actor`` from a stored event."""

    def __init__(self, datastore: _es.SQLiteDatastore, events_table_name: str = "stored_events", **kwargs: Any):
        super().__init__(datastore, events_table_name=events_table_name, **kwargs)
        self._tips = TipCache()
        self._select_last_leaf = "SELECT seq, leaf, leaf_hash FROM ledger_leaves ORDER BY seq DESC LIMIT 1"
        self._select_prev = (
            "SELECT leaf_hash FROM ledger_leaves WHERE originator_id=? AND originator_version=?"
        )
        self._insert_leaf = "INSERT INTO ledger_leaves VALUES (?,?,?,?,?)"
        self._insert_node = "INSERT INTO ledger_nodes VALUES (?,?,?)"
        self._insert_receipt = "INSERT INTO command_receipts VALUES (?,?,?)"
        self._select_events_by_seq = (
            "SELECT l.seq, e.topic, e.state, e.originator_id, e.originator_version "
            f"FROM ledger_leaves l JOIN {self.events_table_name} e "
            "ON e.originator_id = l.originator_id AND e.originator_version = l.originator_version "
            "WHERE l.seq >= ? ORDER BY l.seq LIMIT ?"
        )

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *LEDGER_TABLES]

    # ── writing ──────────────────────────────────────────────────────────────

    def insert_events(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        receipts: Iterable[tuple[str, str, bytes]] = (),
        **kwargs: Any,
    ) -> Sequence[int] | None:
        tip = None
        with self.datastore.transaction(commit=True) as c:
            notification_ids = self._insert_events(c, stored_events, **kwargs)
            if stored_events:
                tip = self._append_leaves(c, stored_events)
            receipts = list(receipts)
            if receipts:
                c.executemany(self._insert_receipt, receipts)
        if tip is not None:
            self._tips.install(tip)
        return notification_ids

    def _append_leaves(self, c: _es.SQLiteCursor, stored_events: Sequence[StoredEvent]) -> TreeTip:
        # The events are inserted, so this transaction holds the write lock: the end of the
        # log read here cannot move until commit.
        c.execute(self._select_last_leaf)
        last = c.fetchone()
        tip = self._tips.current(
            None if last is None else (last[0], last[1], last[2]),
            lambda keys: self._select_nodes(c, keys),
        )
        prevs: dict[tuple[str, int], bytes] = {}
        for originator_id, version in predecessor_keys(stored_events):
            c.execute(self._select_prev, (self._db_id(originator_id), version))
            row = c.fetchone()
            if row is not None:
                prevs[(str(originator_id), version)] = row[0]
        tip, leaves, nodes = append_leaves(tip, stored_events, prevs, self.read_head)
        c.executemany(
            self._insert_leaf,
            [(r.seq, self._db_id(r.originator_id), r.originator_version, r.leaf, r.leaf_hash) for r in leaves],
        )
        c.executemany(self._insert_node, nodes)
        return tip

    @staticmethod
    def _db_id(originator_id: UUID | str) -> str:
        return originator_id.hex if isinstance(originator_id, UUID) else originator_id

    # ── reading ──────────────────────────────────────────────────────────────

    def tree_size(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT MAX(seq) FROM ledger_leaves")
            top = c.fetchone()[0]
        return 0 if top is None else top + 1

    def select_leaves(self, start_seq: int, limit: int) -> list[LeafRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT seq, originator_id, originator_version, leaf, leaf_hash FROM ledger_leaves "
                "WHERE seq >= ? ORDER BY seq LIMIT ?",
                (start_seq, limit),
            )
            return [
                LeafRow(r[0], self.convert_originator_id(r[1]), r[2], r[3], r[4]) for r in c.fetchall()
            ]

    def get_nodes(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        with self.datastore.transaction(commit=False) as c:
            return self._select_nodes(c, keys)

    @staticmethod
    def _select_nodes(c: _es.SQLiteCursor, keys: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        # A VALUES list joined to the primary key: one indexed lookup per key. Only a huge
        # request (beyond SQLite's bound-parameter limit) is split.
        found: dict[tuple[int, int], bytes] = {}
        for start in range(0, len(keys), _SQLITE_MAX_KEYS_PER_QUERY):
            chunk = keys[start : start + _SQLITE_MAX_KEYS_PER_QUERY]
            c.execute(
                "WITH k(level, idx) AS (VALUES "
                + ",".join(["(?,?)"] * len(chunk))
                + ") SELECT n.level, n.idx, n.hash FROM k "
                "JOIN ledger_nodes n ON n.level = k.level AND n.idx = k.idx",
                [v for key in chunk for v in key],
            )
            found.update({(r[0], r[1]): r[2] for r in c.fetchall()})
        return found

    def select_events_by_seq(self, start: int, limit: int) -> list[SeqEvent]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self._select_events_by_seq, (start, limit))
            return [SeqEvent(r[0], r[1], r[2], self.convert_originator_id(r[3]), r[4]) for r in c.fetchall()]

    def stored_event_at(self, originator_id: UUID | str, version: int) -> StoredEvent | None:
        events = self.select_events(originator_id, gt=version - 1, lte=version)
        return events[0] if events else None

    def leaf_at(self, originator_id: UUID | str, version: int) -> LeafRow | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT seq, leaf, leaf_hash FROM ledger_leaves WHERE originator_id=? AND originator_version=?",
                (self._db_id(originator_id), version),
            )
            row = c.fetchone()
        return None if row is None else LeafRow(row[0], originator_id, version, row[1], row[2])

    def select_leaves_of(self, originator_id: UUID) -> list[LeafRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT seq, originator_version, leaf, leaf_hash FROM ledger_leaves WHERE originator_id=? "
                "ORDER BY originator_version",
                (self._db_id(originator_id),),
            )
            return [LeafRow(r[0], originator_id, r[1], r[2], r[3]) for r in c.fetchall()]

    def get_receipt(self, command_id: str) -> tuple[str, bytes] | None:
        return self.get_receipts([command_id]).get(command_id)

    def get_receipts(self, command_ids: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        found: dict[str, tuple[str, bytes]] = {}
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(command_ids), _SQLITE_MAX_KEYS_PER_QUERY):
                chunk = command_ids[start : start + _SQLITE_MAX_KEYS_PER_QUERY]
                c.execute(
                    "SELECT command_id, digest, result FROM command_receipts WHERE command_id IN ("
                    + ",".join("?" * len(chunk)) + ")",
                    chunk,
                )
                found.update({r[0]: (r[1], r[2]) for r in c.fetchall()})
        return found

    def select_events_after(self, versions: Mapping[UUID, int]) -> list[StoredEvent]:
        """The stored events of the given aggregates after the given versions (one query per chunk)."""
        keys = [(self._db_id(uid), version) for uid, version in versions.items()]
        events: list[StoredEvent] = []
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(keys), _SQLITE_MAX_KEYS_PER_QUERY):
                chunk = keys[start : start + _SQLITE_MAX_KEYS_PER_QUERY]
                c.execute(
                    "WITH k(originator_id, after) AS (VALUES " + ",".join(["(?,?)"] * len(chunk)) + ") "
                    "SELECT e.originator_id, e.originator_version, e.topic, e.state FROM k "
                    f"JOIN {self.events_table_name} e "
                    "ON e.originator_id = k.originator_id AND e.originator_version > k.after "
                    "ORDER BY e.originator_id, e.originator_version",
                    [v for key in chunk for v in key],
                )
                events.extend(
                    StoredEvent(self.convert_originator_id(r[0]), r[1], r[2], r[3]) for r in c.fetchall()
                )
        return events


class LedgerTrackingRecorder(_es.SQLiteTrackingRecorder):
    """Projection positions. Nothing ledger-specific: subclassed so every recorder the factory
    makes comes from this module."""


class LedgerProcessRecorder(LedgerApplicationRecorder, _es.SQLiteProcessRecorder):
    """Process recorder: events, their leaves and receipts, and the tracking row, in one transaction."""

    def __init__(self, datastore: _es.SQLiteDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)


class Factory(_es.SQLiteFactory):
    """eventsourcing's SQLite factory making the ledger's recorders on a :class:`LedgerDatastore`."""

    aggregate_recorder_class = _es.SQLiteAggregateRecorder
    application_recorder_class = LedgerApplicationRecorder
    tracking_recorder_class = LedgerTrackingRecorder
    process_recorder_class = LedgerProcessRecorder

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        base = self.datastore
        self.datastore = LedgerDatastore(
            db_name=base.pool.db_name,
            lock_timeout=base.pool.lock_timeout,
            single_row_tracking=base.single_row_tracking,
            originator_id_type=base.originator_id_type,
        )
        base.close()

    def application_recorder(self) -> LedgerApplicationRecorder:
        return require_leaves(super().application_recorder(), LedgerApplicationRecorder)

    def process_recorder(self) -> LedgerProcessRecorder:
        return require_leaves(super().process_recorder(), LedgerProcessRecorder)

