"""eventsourcing persistence module for PostgreSQL (``PERSISTENCE_MODULE=ledger.store.postgres``).

eventsourcing's PostgreSQL recorders, plus the ledger's integrity rows written in the events'
transaction: ``ledger_leaves``, ``ledger_nodes`` and ``command_receipts``. Writers take
``LOCK TABLE <events>, ledger_leaves IN EXCLUSIVE MODE`` first (readers are not blocked), so
``seq`` follows commit order and stays dense even though the events' ``notification_id``
(a sequence) can skip values after a failed insert. Locking ``ledger_leaves`` too keeps ``seq``
serialised even if two recorders with different events tables share one schema.

The insert runs in psycopg's pipeline mode, as eventsourcing's does: statements whose results are
not needed yet are sent together, so a transaction costs two round trips (lock, insert and
read-back; leaves, nodes, receipts and commit). ``enable_db_functions`` is forced off and its function is
not created: it inserts events without leaves.

eventsourcing's factory module is imported as a module, not by class name: the persistence
module must hold exactly one ``InfrastructureFactory`` subclass (``Factory``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing import postgres as _es
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.utils import Environment, EnvType, retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

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

__all__ = ["Factory", "LedgerApplicationRecorder", "LedgerProcessRecorder", "LedgerTrackingRecorder"]


def _ledger_tables(schema: str, originator_id_type: str) -> list[Composed]:
    s = Identifier(schema)
    statements = [
        SQL(
            "CREATE TABLE IF NOT EXISTS {s}.ledger_leaves ("
            "seq bigint PRIMARY KEY CHECK (seq >= 0), "
            "originator_id {t} NOT NULL, "
            "originator_version bigint NOT NULL, "
            "leaf bytea NOT NULL, "
            "leaf_hash bytea NOT NULL CHECK (octet_length(leaf_hash) = 32), "
            "UNIQUE (originator_id, originator_version))"
        ).format(s=s, t=Identifier(originator_id_type)),
        SQL(
            "CREATE TABLE IF NOT EXISTS {s}.ledger_nodes ("
            "level integer NOT NULL, "
            "idx bigint NOT NULL, "
            "hash bytea NOT NULL CHECK (octet_length(hash) = 32), "
            "PRIMARY KEY (level, idx))"
        ).format(s=s),
        SQL(
            "CREATE TABLE IF NOT EXISTS {s}.command_receipts ("
            "command_id text PRIMARY KEY, "
            "digest text NOT NULL, "
            "result bytea NOT NULL)"
        ).format(s=s),
        SQL(
            "CREATE TABLE IF NOT EXISTS {s}.ledger_checkpoints ("
            "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "tree_size bigint NOT NULL CHECK (tree_size >= 0), "
            "root bytea NOT NULL, "
            "note text NOT NULL, "
            "issued_at timestamptz NOT NULL)"
        ).format(s=s),
        SQL(
            "CREATE OR REPLACE FUNCTION {s}.ledger_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$BEGIN "
            "RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; "
            "END$$"
        ).format(s=s),
    ]
    statements += [
        SQL(
            "CREATE OR REPLACE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {s}.{table} "
            "FOR EACH ROW EXECUTE FUNCTION {s}.ledger_append_only()"
        ).format(s=s, table=Identifier(table), trigger=Identifier(f"{table}_append_only"))
        for table in APPEND_ONLY_TABLES
    ]
    return statements


class LedgerApplicationRecorder(_es.PostgresApplicationRecorder):
    """Application recorder that writes leaves, tree nodes and command receipts with the events.

    ``insert_events(stored_events, receipts=[(command_id, digest, result), ...])``: a duplicate
    ``command_id`` raises eventsourcing's ``IntegrityError`` like a version conflict, and the
    whole transaction (events included) is rolled back.
    """

    read_head = staticmethod(head_of)
    """How a leaf gets ``recorded_at`` and ``actor`` from a stored event."""

    def __init__(
        self,
        datastore: _es.PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
        **kwargs: Any,
    ):
        super().__init__(datastore, events_table_name=events_table_name, **kwargs)
        self._tips = TipCache()
        s = Identifier(self.datastore.schema)
        t = SQL(self.datastore.originator_id_type)
        events = Identifier(self.events_table_name)

        self.sql_create_statements.remove(self.sql_create_pg_function_insert_events)
        self.sql_create_statements += _ledger_tables(self.datastore.schema, self.datastore.originator_id_type)
        self.lock_table_statements = [
            SQL("SET LOCAL lock_timeout = '{0}s'").format(self.datastore.lock_timeout),
            SQL("LOCK TABLE {s}.{events}, {s}.ledger_leaves IN EXCLUSIVE MODE").format(s=s, events=events),
        ]
        # Arrays in binary format: psycopg's text format escapes every bytea with a regex.
        self._insert_stored_events_sql = SQL(
            "INSERT INTO {s}.{events} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::{t}[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(s=s, t=t, events=events)
        self._select_last_leaf = SQL(
            "SELECT seq, leaf, leaf_hash FROM {s}.ledger_leaves ORDER BY seq DESC LIMIT 1"
        ).format(s=s)
        self._select_prevs = SQL(
            "SELECT l.originator_id, l.originator_version, l.leaf_hash "
            "FROM unnest(%b::{t}[], %b::bigint[]) AS k(originator_id, originator_version) "
            "JOIN {s}.ledger_leaves l "
            "ON l.originator_id = k.originator_id AND l.originator_version = k.originator_version"
        ).format(s=s, t=t)
        self._insert_leaves = SQL(
            "INSERT INTO {s}.ledger_leaves (seq, originator_id, originator_version, leaf, leaf_hash) "
            "SELECT * FROM unnest(%b::bigint[], %b::{t}[], %b::bigint[], %b::bytea[], %b::bytea[])"
        ).format(s=s, t=t)
        self._insert_nodes = SQL(
            "INSERT INTO {s}.ledger_nodes (level, idx, hash) "
            "SELECT * FROM unnest(%b::integer[], %b::bigint[], %b::bytea[])"
        ).format(s=s)
        self._insert_receipts = SQL(
            "INSERT INTO {s}.command_receipts (command_id, digest, result) "
            "SELECT * FROM unnest(%b::text[], %b::text[], %b::bytea[])"
        ).format(s=s)
        self._select_nodes_sql = SQL(
            "SELECT n.level, n.idx, n.hash FROM unnest(%b::integer[], %b::bigint[]) AS k(level, idx) "
            "JOIN {s}.ledger_nodes n ON n.level = k.level AND n.idx = k.idx"
        ).format(s=s)
        self._select_tree_size = SQL("SELECT MAX(seq) AS top FROM {s}.ledger_leaves").format(s=s)
        self._select_leaves = SQL(
            "SELECT seq, originator_id, originator_version, leaf, leaf_hash FROM {s}.ledger_leaves "
            "WHERE seq >= %s ORDER BY seq LIMIT %s"
        ).format(s=s)
        self._select_leaf_at = SQL(
            "SELECT seq, leaf, leaf_hash FROM {s}.ledger_leaves "
            "WHERE originator_id = %s AND originator_version = %s"
        ).format(s=s)
        self._select_events_by_seq = SQL(
            "SELECT l.seq, e.topic, e.state, e.originator_id, e.originator_version "
            "FROM {s}.ledger_leaves l JOIN {s}.{events} e "
            "ON e.originator_id = l.originator_id AND e.originator_version = l.originator_version "
            "WHERE l.seq >= %s ORDER BY l.seq LIMIT %s"
        ).format(s=s, events=events)
        self._select_receipts = SQL(
            "SELECT command_id, digest, result FROM {s}.command_receipts WHERE command_id = ANY(%s)"
        ).format(s=s)
        self._select_events_after = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            "FROM unnest(%b::{t}[], %b::bigint[]) AS k(originator_id, after) "
            "JOIN {s}.{events} e ON e.originator_id = k.originator_id AND e.originator_version > k.after "
            "ORDER BY e.originator_id, e.originator_version"
        ).format(s=s, t=t, events=events)
        self._select_leaves_of = SQL(
            "SELECT seq, originator_version, leaf, leaf_hash FROM {s}.ledger_leaves "
            "WHERE originator_id = %s ORDER BY originator_version"
        ).format(s=s)

    def _create_table(self, curs: Cursor[DictRow]) -> None:
        # Workers starting together would otherwise race on CREATE OR REPLACE FUNCTION/TRIGGER
        # ("tuple concurrently updated"): one creates, the others wait and find it done.
        curs.execute("SELECT pg_advisory_xact_lock(hashtext('xinfang-ledger:create-table'))")
        super()._create_table(curs)

    # ── writing ──────────────────────────────────────────────────────────────

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        receipts: Iterable[tuple[str, str, bytes]] = (),
        **kwargs: Any,
    ) -> Sequence[int] | None:
        receipts = list(receipts)
        tip: TreeTip | None = None
        notification_ids: list[int] | None = None
        with self.datastore.get_connection() as conn, conn.pipeline() as pipeline, conn.transaction():
            # One cursor per statement whose result is read: in pipeline mode a cursor's
            # result is whichever of its statements' results arrived last.
            curs = conn.cursor()
            if stored_events:
                # First, so the end of the log cannot move under anything read below, and so
                # every writer takes its locks in the same order.
                self._lock_table(curs)
                self._notify_channel(curs)
            self._insert_events(conn.cursor(), stored_events, **kwargs)  # tracking (process recorder)
            if stored_events:
                last = conn.cursor()
                last.execute(self._select_last_leaf, prepare=True)
                inserted = conn.cursor()
                inserted.execute(
                    self._insert_stored_events_sql,
                    (
                        [e.originator_id for e in stored_events],
                        [e.originator_version for e in stored_events],
                        [e.topic for e in stored_events],
                        [e.state for e in stored_events],
                    ),
                    prepare=True,
                )
                keys = predecessor_keys(stored_events)
                found = conn.cursor()
                found.execute(self._select_prevs, ([k[0] for k in keys], [k[1] for k in keys]), prepare=True)
                # Results are needed now; a version conflict surfaces here as IntegrityError.
                pipeline.sync()
                notification_ids = [row["notification_id"] for row in inserted.fetchall()]
                row = last.fetchone()
                tip = self._tips.current(
                    None if row is None else (row["seq"], row["leaf"], row["leaf_hash"]),
                    lambda wanted: self._fetch_nodes(conn.cursor(), wanted),
                )
                prevs = {
                    (str(r["originator_id"]), r["originator_version"]): bytes(r["leaf_hash"])
                    for r in found.fetchall()
                }
                tip, leaves, nodes = append_leaves(tip, stored_events, prevs, self.read_head)
                curs.execute(
                    self._insert_leaves,
                    (
                        [r.seq for r in leaves],
                        [r.originator_id for r in leaves],
                        [r.originator_version for r in leaves],
                        [r.leaf for r in leaves],
                        [r.leaf_hash for r in leaves],
                    ),
                    prepare=True,
                )
                curs.execute(
                    self._insert_nodes,
                    ([n[0] for n in nodes], [n[1] for n in nodes], [n[2] for n in nodes]),
                    prepare=True,
                )
            if receipts:
                curs.execute(
                    self._insert_receipts,
                    ([r[0] for r in receipts], [r[1] for r in receipts], [bytes(r[2]) for r in receipts]),
                    prepare=True,
                )
            # A failure of the statements sent since the sync (a duplicate receipt) is raised
            # by COMMIT as what it is, e.g. UniqueViolation, and rolls everything back.
        if tip is not None:
            self._tips.install(tip)
        return notification_ids

    def _fetch_nodes(self, curs: Cursor[DictRow], keys: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        curs.execute(self._select_nodes_sql, ([k[0] for k in keys], [k[1] for k in keys]), prepare=True)
        return {(r["level"], r["idx"]): bytes(r["hash"]) for r in curs.fetchall()}

    # ── reading ──────────────────────────────────────────────────────────────

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def tree_size(self) -> int:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_tree_size, prepare=True)
            row = curs.fetchone()
        top = None if row is None else row["top"]
        return 0 if top is None else top + 1

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_leaves(self, start_seq: int, limit: int) -> list[LeafRow]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_leaves, (start_seq, limit), prepare=True)
            return [
                LeafRow(
                    r["seq"],
                    r["originator_id"],
                    r["originator_version"],
                    bytes(r["leaf"]),
                    bytes(r["leaf_hash"]),
                )
                for r in curs.fetchall()
            ]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def get_nodes(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            return self._fetch_nodes(curs, keys)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_events_by_seq(self, start: int, limit: int) -> list[SeqEvent]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_events_by_seq, (start, limit), prepare=True)
            return [
                SeqEvent(
                    r["seq"],
                    r["topic"],
                    bytes(r["state"]),
                    r["originator_id"],
                    r["originator_version"],
                )
                for r in curs.fetchall()
            ]

    def stored_event_at(self, originator_id: UUID | str, version: int) -> StoredEvent | None:
        events = self.select_events(originator_id, gt=version - 1, lte=version)
        return events[0] if events else None

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def leaf_at(self, originator_id: UUID | str, version: int) -> LeafRow | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_leaf_at, (originator_id, version), prepare=True)
            row = curs.fetchone()
        if row is None:
            return None
        return LeafRow(row["seq"], originator_id, version, bytes(row["leaf"]), bytes(row["leaf_hash"]))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_leaves_of(self, originator_id: UUID) -> list[LeafRow]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_leaves_of, (originator_id,), prepare=True)
            return [
                LeafRow(r["seq"], originator_id, r["originator_version"], bytes(r["leaf"]), bytes(r["leaf_hash"]))
                for r in curs.fetchall()
            ]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def get_receipt(self, command_id: str) -> tuple[str, bytes] | None:
        return self.get_receipts([command_id]).get(command_id)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def get_receipts(self, command_ids: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_receipts, (list(command_ids),), prepare=True)
            return {row["command_id"]: (row["digest"], bytes(row["result"])) for row in curs.fetchall()}

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_events_after(self, versions: Mapping[UUID, int]) -> list[StoredEvent]:
        """The stored events of the given aggregates after the given versions (one query)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_events_after, (list(versions), list(versions.values())), prepare=True)
            return [
                StoredEvent(row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"]))
                for row in curs.fetchall()
            ]


class LedgerTrackingRecorder(_es.PostgresTrackingRecorder):
    """Projection positions. Nothing ledger-specific: subclassed so every recorder the factory
    makes comes from this module."""


class LedgerProcessRecorder(LedgerApplicationRecorder, _es.PostgresProcessRecorder):
    """Process recorder: events, their leaves and receipts, and the tracking row, in one transaction."""

    def __init__(
        self,
        datastore: _es.PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
        tracking_table_name: str = "notification_tracking",
    ):
        super().__init__(datastore, events_table_name=events_table_name, tracking_table_name=tracking_table_name)


class Factory(_es.PostgresFactory):
    """eventsourcing's PostgreSQL factory making the ledger's recorders, without the DB-function fast path."""

    aggregate_recorder_class = _es.PostgresAggregateRecorder
    application_recorder_class = LedgerApplicationRecorder
    tracking_recorder_class = LedgerTrackingRecorder
    process_recorder_class = LedgerProcessRecorder

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        self.datastore.enable_db_functions = False

    def application_recorder(self) -> LedgerApplicationRecorder:
        return require_leaves(super().application_recorder(), LedgerApplicationRecorder)

    def process_recorder(self) -> LedgerProcessRecorder:
        return require_leaves(super().process_recorder(), LedgerProcessRecorder)

