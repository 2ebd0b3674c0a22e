"""An operator with full write access to the database, working behind the ledger's back.

Opens the SQLite file with :mod:`sqlite3`, or the PostgreSQL tables with :mod:`psycopg`, drops
(disables) the append-only triggers as such an operator would, and edits rows directly. Also
builds a small county ledger through real :class:`~ledger.application.Ledger` commands.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from eventsourcing.persistence import StoredEvent

from ledger.application import Ledger
from ledger.canonical import canonical_json
from ledger.config import sqlite_path
from ledger.merkle import CompactRange, leaf_hash
from ledger.store.leaves import ZERO_HASH, decode_leaf, make_leaf
from schemas.events import Envelope, InvestigationRecorded
from support.county import ADMIN, CLERK, HANDLER, START, case_path, county_setup

APPEND_ONLY = ("ledger_leaves", "ledger_nodes", "command_receipts", "ledger_checkpoints")


class Clock:
    """A server clock a second further on at every reading (well after the business times)."""

    def __init__(self, days: int = 400) -> None:
        self.now = START + timedelta(days=days)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def build_county(url: str) -> dict[str, int]:
    """A county with three cases through the real command path; returns ``case number → its last seq``."""
    ledger = Ledger(url, clock=Clock())
    try:
        for command in county_setup():
            ledger.execute(command, ADMIN)
        for number, stage in (("2021-000001", "已送达"), ("2021-000002", "已办结"), ("2021-000003", "办理中")):
            steps = case_path(number, stage)
            ledger.execute(steps[0], CLERK)
            for step in steps[1:]:
                ledger.execute(step, HANDLER)
        return {number: max(e.seq for e in ledger.timeline(number) if e.seq is not None)
                for number in ("2021-000001", "2021-000002", "2021-000003")}
    finally:
        ledger.close()


class Operator:
    """Raw SQL on the ledger's database; ``?`` placeholders on both engines."""

    def __init__(self, url: str) -> None:
        self.url = url
        path = sqlite_path(url)
        self.is_sqlite = path is not None
        if path is not None:
            self.conn: Any = sqlite3.connect(path, isolation_level=None)
            for (name,) in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
                self.conn.execute(f'DROP TRIGGER "{name}"')
        else:
            self.conn = psycopg.connect(url, autocommit=True)
            for table in APPEND_ONLY:
                self.conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")

    def __enter__(self) -> Operator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.close()

    def q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """``stored_events`` is the events table's name on SQLite; on PostgreSQL it is ``xinfang_events``."""
        if self.is_sqlite:
            return list(self.conn.execute(sql, tuple(params)).fetchall())
        sql = sql.replace("?", "%s").replace("stored_events", "xinfang_events")
        cursor = self.conn.execute(sql, tuple(params))
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in (cursor.fetchall() if cursor.description else [])]

    def transaction(self) -> Any:
        if self.is_sqlite:
            return _SQLiteTransaction(self.conn)
        return self.conn.transaction()

    # ── reading ──────────────────────────────────────────────────────────────

    def size(self) -> int:
        top = self.q("SELECT MAX(seq) FROM ledger_leaves")[0][0]
        return 0 if top is None else int(top) + 1

    def event(self, seq: int) -> tuple[Any, int, str, bytes]:
        """``(originator_id as stored, version, topic, state)`` of the event at ``seq``."""
        row = self.q(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state FROM ledger_leaves l "
            "JOIN stored_events e ON e.originator_id = l.originator_id AND e.originator_version = l.originator_version "
            "WHERE l.seq = ?", (seq,),
        )[0]
        return row[0], int(row[1]), str(row[2]), bytes(row[3])

    def leaves(self) -> Iterator[tuple[int, Any, int, bytes, bytes]]:
        for row in self.q("SELECT seq, originator_id, originator_version, leaf, leaf_hash FROM ledger_leaves ORDER BY seq"):
            yield int(row[0]), row[1], int(row[2]), bytes(row[3]), bytes(row[4])

    # ── tampering ────────────────────────────────────────────────────────────

    def set_state(self, seq: int, state: bytes) -> None:
        oid, version, _, _ = self.event(seq)
        self.q("UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = ?",
               (state, oid, version))

    def delete_event(self, seq: int, *, leaf: bool = True, nodes: bool = False) -> None:
        oid, version, _, _ = self.event(seq)
        with self.transaction():
            self.q("DELETE FROM stored_events WHERE originator_id = ? AND originator_version = ?", (oid, version))
            if leaf:
                self.q("DELETE FROM ledger_leaves WHERE seq = ?", (seq,))
            if nodes:
                self.q("DELETE FROM ledger_nodes WHERE ((idx + 1) << level) > ?", (seq,))

    def swap(self, i: int, j: int) -> None:
        """Exchange the log positions of two events (their leaf rows' ``seq``)."""
        parked = 1 << 40
        with self.transaction():
            self.q("UPDATE ledger_leaves SET seq = ? WHERE seq = ?", (parked, i))
            self.q("UPDATE ledger_leaves SET seq = ? WHERE seq = ?", (i, j))
            self.q("UPDATE ledger_leaves SET seq = ? WHERE seq = ?", (j, parked))

    def forge(self, at: int, into_seq: int) -> None:
        """Insert a forged event, with a well-formed leaf, at log position ``at``: the next version
        of the aggregate whose event is at ``into_seq`` (< ``at``; it must have none after it).
        The events from ``at`` on move one place down; nothing is re-hashed."""
        oid, version, _, state = self.event(into_seq)
        previous = msgspec.json.decode(state)
        _, _, _, before = self.event(at - 1)
        recorded_at = msgspec.json.decode(before)["recorded_at"]
        prev_leaf = self.q("SELECT leaf_hash FROM ledger_leaves WHERE seq = ?", (into_seq,))[0][0]
        envelope = Envelope(
            originator_id=UUID(previous["originator_id"]), originator_version=version + 1,
            occurred_at=datetime.fromisoformat(previous["occurred_at"]),
            recorded_at=datetime.fromisoformat(recorded_at),
            actor=msgspec.convert(previous["actor"], type=type(HANDLER)),
            event=InvestigationRecorded(note="走访核实：诉求已解决（补写）"),
        )
        forged = msgspec.json.encode(envelope)
        topic = "InvestigationRecorded"
        leaf = canonical_json(make_leaf(at, StoredEvent(envelope.originator_id, version + 1, topic, forged),
                                     bytes(prev_leaf).hex()))
        with self.transaction():
            for seq in range(self.size() - 1, at - 1, -1):
                self.q("UPDATE ledger_leaves SET seq = ? WHERE seq = ?", (seq + 1, seq))
            self.q("INSERT INTO stored_events (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
                   (oid, version + 1, topic, forged))
            self.q("INSERT INTO ledger_leaves (seq, originator_id, originator_version, leaf, leaf_hash) "
                   "VALUES (?, ?, ?, ?, ?)", (at, oid, version + 1, leaf, leaf_hash(leaf)))

    def forge_event_only(self, into_seq: int) -> None:
        """Append a forged next version of an aggregate to the events table only (no leaf)."""
        oid, version, topic, state = self.event(into_seq)
        envelope = msgspec.json.decode(state)
        envelope["originator_version"] = version + 1
        envelope["event"] = {"type": "InvestigationRecorded", "note": "伪造"}
        self.q("INSERT INTO stored_events (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
               (oid, version + 1, "InvestigationRecorded", msgspec.json.encode(envelope)))

    def rewrite_from(self, seq: int, state: bytes) -> None:
        """Change the event at ``seq`` and re-hash everything after it consistently: leaves (their
        ``payload_sha256`` and ``prev`` chains), every tree node; and drop the stored checkpoints.
        The log then verifies on its own: only a checkpoint from before catches it."""
        with self.transaction():
            self.set_state(seq, state)
            self._rehash_from(seq)

    def break_chain(self, seq: int) -> None:
        """Cut the ``prev`` chain at ``seq``: its leaf names 64 zeros as its predecessor, as if the
        event were its aggregate's first, and everything after it is re-hashed consistently (leaf
        hashes, later links, every node; stored checkpoints dropped). Every hash agrees with the
        bytes it covers; only a verifier that recomputes ``prev`` itself sees the break."""
        with self.transaction():
            self._rehash_from(seq, cut=seq)

    def _rehash_from(self, seq: int, cut: int | None = None) -> None:
        chain: dict[str, str] = {}
        for position, oid, version, leaf, hash_ in list(self.leaves()):
            fields = decode_leaf(leaf)
            if position >= seq:
                topic, stored = self.q(
                    "SELECT topic, state FROM stored_events WHERE originator_id = ? AND originator_version = ?",
                    (oid, version),
                )[0]
                event = StoredEvent(UUID(str(oid)), version, str(topic), bytes(stored))
                prev = ZERO_HASH if position == cut else chain.get(fields.aggregate_id, ZERO_HASH)
                leaf = canonical_json(make_leaf(position, event, prev))
                hash_ = leaf_hash(leaf)
                self.q("UPDATE ledger_leaves SET leaf = ?, leaf_hash = ? WHERE seq = ?", (leaf, hash_, position))
            chain[fields.aggregate_id] = hash_.hex()
        self.q("DELETE FROM ledger_nodes")
        self._insert_all_nodes()
        self.q("DELETE FROM ledger_checkpoints")

    def _insert_all_nodes(self) -> None:
        tree = CompactRange()
        for _, _, _, _, hash_ in list(self.leaves()):
            for level, idx, node in tree.append(hash_):
                self.q("INSERT INTO ledger_nodes (level, idx, hash) VALUES (?, ?, ?)", (level, idx, node))

    def set_node(self, level: int, idx: int, value: bytes) -> None:
        self.q("UPDATE ledger_nodes SET hash = ? WHERE level = ? AND idx = ?", (value, level, idx))


class _SQLiteTransaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")


def flip(state: bytes, old: bytes, new: bytes) -> bytes:
    """``state`` with the first ``old`` after the event's type replaced by ``new`` (same length)."""
    start = state.index(b'"event":')
    at = state.index(old, start)
    return state[:at] + new + state[at + len(old):]


def backdate(state: bytes, days: int = 1) -> bytes:
    """The envelope with its ``recorded_at`` moved ``days`` earlier (and nothing else changed)."""
    decoded = msgspec.json.decode(state)
    earlier = datetime.fromisoformat(decoded["recorded_at"]) - timedelta(days=days)
    old = f'"recorded_at":"{decoded["recorded_at"]}"'.encode()
    new = msgspec.json.encode({"recorded_at": earlier})[1:-1]
    assert old in state
    return state.replace(old, new)


def digest(data: bytes) -> str:
    return sha256(data).hexdigest()
