"""eventsourcing's own recorder suites against ``ledger.store.sqlite``.

The suites store arbitrary payloads (``b"state1"``, ``b"{}"``), not ledger envelopes, which our
recorders refuse. The recorders under test therefore take ``recorded_at`` and ``actor`` from a
fixed stand-in head (:func:`suite_head`); everything else (seq, leaves, nodes, the write
transaction) is the production code path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from uuid import UUID, uuid4

import pytest
from eventsourcing import sqlite as es_sqlite
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.tests import persistence as suite
from eventsourcing.utils import Environment, get_topic

from ledger.store.leaves import Head
from ledger.store.sqlite import (
    Factory,
    LedgerApplicationRecorder,
    LedgerDatastore,
    LedgerProcessRecorder,
    LedgerTrackingRecorder,
)


def suite_head(event: StoredEvent) -> Head:
    """Stand-in for the envelope fields the suites' payloads do not have."""
    return Head(
        originator_id=str(event.originator_id),
        originator_version=event.originator_version,
        recorded_at="2026-01-01T00:00:00+00:00",
        actor={},
    )


class SuiteApplicationRecorder(LedgerApplicationRecorder):
    read_head = staticmethod(suite_head)


class SuiteProcessRecorder(LedgerProcessRecorder):
    read_head = staticmethod(suite_head)


class WithTmpPath:
    tmp_path: Path

    @pytest.fixture(autouse=True)
    def _tmp_path(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

    def file_db(self) -> str:
        return str(self.tmp_path / f"{uuid4().hex}.sqlite3")


class WithTextOriginatorID:
    originator_id_type: Literal["uuid", "text"] = "text"

    def new_originator_id(self) -> UUID | str:
        return "test-" + str(uuid4())


class TestAggregateRecorder(suite.AggregateRecorderTestCase):
    """Snapshots use eventsourcing's aggregate recorder, made by our factory."""

    def create_recorder(self) -> Any:
        factory = Factory(Environment(env={"SQLITE_DBNAME": ":memory:"}))
        return factory.aggregate_recorder("snapshots")


class TestApplicationRecorder(WithTmpPath, suite.ApplicationRecorderTestCase[SuiteApplicationRecorder]):
    db_name = ":memory:"
    originator_id_type: Literal["uuid", "text"] = "uuid"

    def create_recorder(self) -> SuiteApplicationRecorder:
        recorder = SuiteApplicationRecorder(
            LedgerDatastore(self.db_name, pool_size=100, originator_id_type=self.originator_id_type)
        )
        recorder.create_table()
        return recorder

    def test_concurrent_no_conflicts(self, initial_position: int = 0) -> None:
        self.db_name = self.file_db()
        super().test_concurrent_no_conflicts()

    def test_concurrent_no_conflicts_in_memory_db(self) -> None:
        self.db_name = "file::memory:?cache=shared"
        super().test_concurrent_no_conflicts()

    def test_concurrent_throughput(self) -> None:
        self.db_name = self.file_db()
        super().test_concurrent_throughput()


class TestApplicationRecorderWithTextOriginatorID(WithTextOriginatorID, TestApplicationRecorder):
    pass


class TestNonInterleavingNotificationIDs(WithTmpPath, suite.NonInterleavingNotificationIDsBaseCase):
    def create_recorder(self) -> SuiteApplicationRecorder:
        recorder = SuiteApplicationRecorder(LedgerDatastore(self.file_db(), pool_size=10))
        recorder.create_table()
        return recorder


class TestTrackingRecorder(suite.TrackingRecorderTestCase):
    def create_recorder(self) -> LedgerTrackingRecorder:
        recorder = LedgerTrackingRecorder(LedgerDatastore(":memory:"))
        recorder.create_table()
        return recorder


class TestProcessRecorder(suite.ProcessRecorderTestCase):
    originator_id_type: Literal["uuid", "text"] = "uuid"

    def create_recorder(self) -> SuiteProcessRecorder:
        recorder = SuiteProcessRecorder(LedgerDatastore(":memory:", originator_id_type=self.originator_id_type))
        recorder.create_table()
        return recorder


class TestProcessRecorderWithTextOriginatorID(WithTextOriginatorID, TestProcessRecorder):
    pass


class TestFactory(suite.InfrastructureFactoryTestCase[Factory]):
    class TrackingRecorderSubclass(LedgerTrackingRecorder):
        pass

    def setUp(self) -> None:
        self.env = Environment("TestCase")
        self.env[InfrastructureFactory.PERSISTENCE_MODULE] = "ledger.store.sqlite"
        self.env[Factory.SQLITE_DBNAME] = ":memory:"
        super().setUp()

    def expected_factory_class(self) -> type[Factory]:
        return Factory

    def expected_aggregate_recorder_class(self) -> type[Any]:
        return es_sqlite.SQLiteAggregateRecorder

    def expected_application_recorder_class(self) -> type[Any]:
        return LedgerApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[Any]:
        return LedgerTrackingRecorder

    def tracking_recorder_subclass(self) -> type[Any]:
        return self.TrackingRecorderSubclass

    def expected_process_recorder_class(self) -> type[Any]:
        return LedgerProcessRecorder

    def test_uses_ledger_datastore_with_uuid_ids_by_default(self) -> None:
        self.assertIsInstance(self.factory.datastore, LedgerDatastore)
        self.assertEqual(self.factory.datastore.originator_id_type, "uuid")

    def test_refuses_application_recorder_without_leaves(self) -> None:
        self.env[Factory.APPLICATION_RECORDER_TOPIC] = get_topic(es_sqlite.SQLiteApplicationRecorder)
        with self.assertRaises(OSError):
            self.factory.application_recorder()
