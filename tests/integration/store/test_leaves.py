"""The store writes a verifiable log: dense seq, per-case prev chains, stored nodes that give the
RFC 9162 root, and nothing at all from a transaction that fails. Every test runs on SQLite and
PostgreSQL (see conftest.py)."""

from __future__ import annotations

import multiprocessing
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from hashlib import sha256
from typing import Any
from uuid import UUID, uuid4

import msgspec
import pytest
from eventsourcing.persistence import (
    DataError,
    InfrastructureFactory,
    IntegrityError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.utils import Environment

from ledger.merkle import root_at, root_keys, root_of
from ledger.store import RecordedTimeRegression, VersionGap
from ledger.store import sqlite as sqlite_store
from ledger.store.leaves import ZERO_HASH, LeafRow
from schemas.common import Actor
from schemas.events import CaseAccepted, CaseForwarded, Envelope

LEAF_KEYS = {"seq", "aggregate_id", "version", "type", "recorded_at", "actor", "payload_sha256", "prev"}
START = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def stored_envelope(aggregate_id: UUID, version: int, recorded_at: datetime) -> StoredEvent:
    """A stored event as the ledger writes it: a msgspec-encoded envelope."""
    fact = CaseAccepted(note=f"v{version}") if version % 2 else CaseForwarded(to_unit="town-03")
    envelope = Envelope(
        originator_id=aggregate_id,
        originator_version=version,
        occurred_at=datetime(2026, 3, 1, tzinfo=timezone.utc),
        recorded_at=recorded_at,
        actor=Actor(id="clerk01", unit="xf-county", role="clerk"),
        event=fact,
        command_id=f"cmd-{aggregate_id}-{version}",
    )
    return StoredEvent(aggregate_id, version, type(fact).__name__, msgspec.json.encode(envelope))


class Clock:
    """Test time that only moves forward."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def run_sql(recorder: Any, statement: str) -> Any:
    """One statement on the recorder's own database (schema-qualified on PostgreSQL)."""
    if isinstance(recorder, sqlite_store.LedgerApplicationRecorder):
        with recorder.datastore.transaction(commit=True) as c:
            c.execute(statement.format(schema=""))
            return c.fetchall()
    with recorder.datastore.get_connection() as conn:
        cur = conn.execute(statement.format(schema=f'"{recorder.datastore.schema}".'))
        return cur.fetchall() if cur.description else None


def count(recorder: Any, table: str) -> int:
    return run_sql(recorder, f"SELECT count(*) AS n FROM {{schema}}{table}")[0]["n"]


def snapshot(recorder: Any) -> tuple[int, ...]:
    return tuple(count(recorder, t) for t in ("ledger_leaves", "ledger_nodes", "command_receipts")) + (
        recorder.tree_size(),
        recorder.max_notification_id() or 0,
    )


def assert_verifiable(recorder: Any) -> list[LeafRow]:
    """Everything an outside verifier checks, recomputed from the stored events."""
    size = recorder.tree_size()
    leaves = recorder.select_leaves(0, size + 10)
    events = recorder.select_events_by_seq(0, size + 10)
    assert [leaf.seq for leaf in leaves] == list(range(size))
    assert [event.seq for event in events] == list(range(size))

    chain: dict[str, tuple[int, bytes]] = {}
    last_time = None
    for leaf, event in zip(leaves, events, strict=True):
        assert (leaf.originator_id, leaf.originator_version) == (event.originator_id, event.originator_version)
        assert leaf.leaf_hash == sha256(b"\x00" + leaf.leaf).digest()
        fields = msgspec.json.decode(leaf.leaf)
        assert set(fields) == LEAF_KEYS
        assert msgspec.json.encode(fields, order="sorted") == leaf.leaf, "leaf bytes are not canonical"
        state = msgspec.json.decode(event.state)
        aggregate_id = str(event.originator_id)
        previous = chain.get(aggregate_id)
        assert event.originator_version == (1 if previous is None else previous[0] + 1)
        assert fields == {
            "seq": leaf.seq,
            "aggregate_id": aggregate_id,
            "version": event.originator_version,
            "type": event.topic,
            "recorded_at": state["recorded_at"],
            "actor": state["actor"],
            "payload_sha256": sha256(event.state).hexdigest(),
            "prev": ZERO_HASH if previous is None else previous[1].hex(),
        }
        assert recorder.leaf_at(event.originator_id, event.originator_version) == leaf
        chain[aggregate_id] = (event.originator_version, leaf.leaf_hash)
        when = datetime.fromisoformat(state["recorded_at"])
        assert last_time is None or when >= last_time
        last_time = when

    # Every perfect subtree is stored, with the right hash, and nothing else is.
    hashes = [leaf.leaf_hash for leaf in leaves]
    expected = {
        (level, i): root_of(hashes[i << level : (i + 1) << level])
        for level in range(size.bit_length())
        for i in range(size >> level)
    }
    assert recorder.get_nodes(expected) == expected
    assert count(recorder, "ledger_nodes") == len(expected)
    for n in range(1, size + 1):
        assert root_at(n, recorder.get_nodes(root_keys(n))) == root_of(hashes[:n])
    return leaves


def test_log_is_dense_chained_and_rooted(recorder: Any, clock: Clock) -> None:
    rng = random.Random(7)
    cases = [uuid4() for _ in range(6)]
    versions = dict.fromkeys(cases, 0)
    total = 0
    for tx in range(60):
        batch = []
        for case in rng.sample(cases, rng.randint(1, 3)):
            for _ in range(rng.randint(1, 3)):
                versions[case] += 1
                batch.append(stored_envelope(case, versions[case], clock()))
        receipts = [(f"tx-{tx}", "sha256:x", b"ok")] if tx % 3 == 0 else []
        ids = recorder.insert_events(batch, receipts=receipts)
        assert len(ids) == len(batch)
        total += len(batch)
    assert recorder.tree_size() == total
    assert_verifiable(recorder)
    assert recorder.get_receipt("tx-3") == ("sha256:x", b"ok")
    assert recorder.get_receipt("tx-4") is None


def test_appends_by_other_writers_are_picked_up(make_recorder: Callable[[], Any], clock: Clock) -> None:
    """Each recorder caches the tree's right edge; another writer's appends must invalidate it."""
    writers = [make_recorder(), make_recorder()]
    case = uuid4()
    for version in range(1, 21):
        batch = [stored_envelope(case, version, clock())]
        batch += [stored_envelope(uuid4(), 1, clock()) for _ in range(version % 3)]
        writers[version % 2].insert_events(batch)
    assert_verifiable(writers[0])


def test_failed_transaction_leaves_nothing_behind(recorder: Any, clock: Clock) -> None:
    case = uuid4()
    recorder.insert_events([stored_envelope(case, 1, clock()), stored_envelope(case, 2, clock())])
    before = snapshot(recorder)
    newcomer = uuid4()
    with pytest.raises(IntegrityError):
        recorder.insert_events(
            [stored_envelope(newcomer, 1, clock()), stored_envelope(case, 2, clock())],
            receipts=[("cmd-failed", "d", b"r")],
        )
    assert snapshot(recorder)[:4] == before[:4]
    assert recorder.get_receipt("cmd-failed") is None
    assert recorder.select_events(newcomer) == []
    # The next append continues the same log: no gap, no stale cached tree.
    recorder.insert_events([stored_envelope(case, 3, clock())])
    assert recorder.tree_size() == before[3] + 1
    assert_verifiable(recorder)


def test_duplicate_receipt_is_refused_and_rolls_back_the_events(recorder: Any, clock: Clock) -> None:
    first = uuid4()
    recorder.insert_events([stored_envelope(first, 1, clock())], receipts=[("cmd-1", "digest-1", b"result-1")])
    before = snapshot(recorder)
    second = uuid4()
    with pytest.raises(IntegrityError):
        recorder.insert_events([stored_envelope(second, 1, clock())], receipts=[("cmd-1", "digest-2", b"other")])
    assert recorder.get_receipt("cmd-1") == ("digest-1", b"result-1")
    assert recorder.select_events(second) == []
    assert snapshot(recorder)[:4] == before[:4]
    with pytest.raises(IntegrityError):
        recorder.insert_events([], receipts=[("cmd-2", "d", b""), ("cmd-2", "d", b"")])
    assert recorder.get_receipt("cmd-2") is None
    recorder.insert_events([], receipts=[("cmd-3", "d", b"")])
    assert recorder.get_receipt("cmd-3") == ("d", b"")
    assert_verifiable(recorder)


def test_an_aggregates_events_after_a_version_and_its_leaves_come_in_one_query_each(
    recorder: Any, clock: Clock
) -> None:
    first, second, third, untouched = (UUID(int=n) for n in (1, 2, 3, 4))
    for version in range(1, 5):
        recorder.insert_events([stored_envelope(first, version, clock()), stored_envelope(untouched, version, clock())])
    recorder.insert_events([stored_envelope(second, 1, clock()), stored_envelope(second, 2, clock())])

    after = recorder.select_events_after({first: 2, second: 0, third: 0})
    assert [(e.originator_id, e.originator_version) for e in after] == [(first, 3), (first, 4), (second, 1), (second, 2)]
    assert after[0].state == recorder.select_events(first, gt=2, lte=3)[0].state
    assert recorder.select_events_after({first: 4, third: 0}) == []
    assert recorder.select_events_after({}) == []

    leaves = recorder.select_leaves_of(first)
    assert [(leaf.seq, leaf.originator_version) for leaf in leaves] == [(0, 1), (2, 2), (4, 3), (6, 4)]
    assert leaves == [recorder.leaf_at(first, version) for version in range(1, 5)]
    assert recorder.select_leaves_of(third) == []


def test_recorded_at_regression_is_refused(recorder: Any, clock: Clock) -> None:
    case = uuid4()
    last = clock()
    recorder.insert_events([stored_envelope(case, 1, last)])
    before = snapshot(recorder)
    with pytest.raises(RecordedTimeRegression) as caught:
        recorder.insert_events([stored_envelope(uuid4(), 1, last - timedelta(microseconds=1))])
    assert isinstance(caught.value, IntegrityError)  # the application's retry path
    with pytest.raises(RecordedTimeRegression):  # decreasing inside one batch
        recorder.insert_events([stored_envelope(case, 2, last + timedelta(seconds=2)), stored_envelope(uuid4(), 1, last + timedelta(seconds=1))])
    # Another zone, same instant minus a microsecond: compared as instants, not strings.
    east8 = timezone(timedelta(hours=8))
    with pytest.raises(RecordedTimeRegression):
        recorder.insert_events([stored_envelope(uuid4(), 1, (last - timedelta(microseconds=1)).astimezone(east8))])
    assert snapshot(recorder)[:4] == before[:4]
    recorder.insert_events([stored_envelope(case, 2, last), stored_envelope(case, 3, last.astimezone(east8))])
    assert_verifiable(recorder)


def test_broken_chains_and_foreign_payloads_are_refused(recorder: Any, clock: Clock) -> None:
    case = uuid4()
    recorder.insert_events([stored_envelope(case, 1, clock())])
    before = snapshot(recorder)
    with pytest.raises(VersionGap):
        recorder.insert_events([stored_envelope(case, 3, clock())])
    with pytest.raises(VersionGap):
        recorder.insert_events([stored_envelope(uuid4(), 2, clock())])
    with pytest.raises(DataError):
        recorder.insert_events([StoredEvent(uuid4(), 1, "CaseAccepted", b"{}")])
    other = uuid4()
    with pytest.raises(DataError):  # the payload names another event
        recorder.insert_events([StoredEvent(other, 1, "CaseAccepted", stored_envelope(case, 1, clock()).state)])
    assert snapshot(recorder)[:4] == before[:4]


def test_ledger_tables_are_append_only(recorder: Any, clock: Clock) -> None:
    recorder.insert_events([stored_envelope(uuid4(), 1, clock())], receipts=[("cmd", "d", b"r")])
    for statement in (
        "UPDATE {schema}ledger_leaves SET leaf = leaf",
        "DELETE FROM {schema}ledger_nodes",
        "DELETE FROM {schema}command_receipts",
    ):
        with pytest.raises(PersistenceError, match="append-only"):
            run_sql(recorder, statement)
    assert_verifiable(recorder)


# ── concurrency ──────────────────────────────────────────────────────────────


def append_concurrently(recorder: Any, shared: UUID, transactions: int, seed: int) -> int:
    """Append own cases and a contended shared case with the real clock; retry on conflict or on
    a recorded_at regression, as the application does. Returns the number of events stored."""
    rng = random.Random(seed)
    own = uuid4()
    own_version = 0
    stored = 0
    for _ in range(transactions):
        while True:
            latest = recorder.select_events(shared, desc=True, limit=1)
            shared_version = latest[0].originator_version + 1 if latest else 1
            batch = [stored_envelope(shared, shared_version, datetime.now(timezone.utc))]
            batch += [
                stored_envelope(own, own_version + i, datetime.now(timezone.utc))
                for i in range(1, rng.randint(1, 4))
            ]
            try:
                recorder.insert_events(batch)
            except IntegrityError:
                continue
            own_version += len(batch) - 1
            stored += len(batch)
            break
    return stored


def test_concurrent_threads_keep_seq_dense(make_recorder: Callable[[], Any]) -> None:
    shared_recorder = make_recorder()
    recorders = [shared_recorder, shared_recorder, make_recorder(), make_recorder()]
    shared = uuid4()
    results: list[int] = []
    errors: list[BaseException] = []

    def work(recorder: Any, seed: int) -> None:
        try:
            results.append(append_concurrently(recorder, shared, 25, seed))
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(r, i)) for i, r in enumerate(recorders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert recorders[0].tree_size() == sum(results)
    assert len(recorders[0].select_events(shared)) == 100
    assert_verifiable(recorders[0])


def _process_worker(env: dict[str, str], shared: str, transactions: int, seed: int, queue: Any) -> None:
    factory = InfrastructureFactory.construct(Environment(env=env))
    try:
        queue.put(append_concurrently(factory.application_recorder(), UUID(shared), transactions, seed))
    except BaseException as e:
        queue.put(repr(e))
        raise
    finally:
        factory.close()


def test_concurrent_processes_keep_seq_dense(ledger_env: dict[str, str], make_recorder: Callable[[], Any]) -> None:
    recorder = make_recorder()  # creates the tables before the workers race
    shared = uuid4()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_process_worker, args=(ledger_env, str(shared), 20, seed, queue)) for seed in range(3)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert all(isinstance(r, int) for r in results), results
    assert recorder.tree_size() == sum(results)
    assert len(recorder.select_events(shared)) == 60
    assert_verifiable(recorder)


def test_failed_insert_does_not_consume_seq(recorder: Any, clock: Clock) -> None:
    case = uuid4()
    recorder.insert_events([stored_envelope(case, 1, clock())])
    with pytest.raises(IntegrityError):
        recorder.insert_events([stored_envelope(uuid4(), 1, clock()), stored_envelope(case, 1, clock())])
    ids = recorder.insert_events([stored_envelope(case, 2, clock())])
    assert [leaf.seq for leaf in recorder.select_leaves(0, 10)] == [0, 1]
    assert ids[0] >= 2  # PostgreSQL's sequence skipped the failed insert's ids; SQLite reuses them
    assert_verifiable(recorder)
