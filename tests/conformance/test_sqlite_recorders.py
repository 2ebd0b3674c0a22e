"""eventsourcing's own recorder suites against ``ledger.store.sqlite``.

The recorders under test take ``recorded_at`` and ``actor`` from a stand-in head
(tests/support/recorder_suites.py); everything else (seq, leaves, nodes, the write transaction)
is the production code path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from uuid import uuid4

import pytest
from eventsourcing import sqlite as es_sqlite
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.tests import persistence as suite
from eventsourcing.utils import Environment
from support.recorder_suites import FactoryExpectations, WithTextOriginatorID, suite_head

import ledger.store.sqlite
from ledger.store.sqlite import (
    Factory,
    LedgerApplicationRecorder,
    LedgerDatastore,
    LedgerProcessRecorder,
    LedgerTrackingRecorder,
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


class TestFactory(FactoryExpectations, suite.InfrastructureFactoryTestCase[Factory]):
    store = ledger.store.sqlite
    aggregate_recorder_class = es_sqlite.SQLiteAggregateRecorder
    upstream_application_recorder_class = es_sqlite.SQLiteApplicationRecorder

    class TrackingRecorderSubclass(LedgerTrackingRecorder):
        pass

    def setUp(self) -> None:
        self.env = Environment("TestCase")
        self.env[InfrastructureFactory.PERSISTENCE_MODULE] = "ledger.store.sqlite"
        self.env[Factory.SQLITE_DBNAME] = ":memory:"
        super().setUp()

    def test_uses_ledger_datastore_with_uuid_ids_by_default(self) -> None:
        self.assertIsInstance(self.factory.datastore, LedgerDatastore)
        self.assertEqual(self.factory.datastore.originator_id_type, "uuid")
