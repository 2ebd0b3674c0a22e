"""eventsourcing's own recorder suites against ``ledger.store.postgres``.

Runs in a throw-away database (``xinfang_conf_<hex>``, dropped at the end), one schema per test,
on the server of the ``postgres_admin`` fixture (tests/conftest.py). The recorders under test take
``recorded_at`` and ``actor`` from a stand-in head (tests/support/recorder_suites.py); everything
else (lock, seq, leaves, nodes, pipeline) is the production code path.
"""

from __future__ import annotations

import faulthandler
import os
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from eventsourcing import postgres as es_postgres
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.tests import persistence as suite
from eventsourcing.utils import Environment
from support.postgres import create_schema, drop_schema, postgres_database
from support.recorder_suites import FactoryExpectations, WithTextOriginatorID, suite_head

import ledger.store.postgres
from ledger.config import environment
from ledger.store.postgres import (
    Factory,
    LedgerApplicationRecorder,
    LedgerProcessRecorder,
    LedgerTrackingRecorder,
)

pytestmark = pytest.mark.postgres

_POSTGRES_ENV = ("POSTGRES_DBNAME", "POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER", "POSTGRES_PASSWORD")


def _postgres_env(url: str) -> dict[str, str]:
    return {key: environment(url)[key] for key in _POSTGRES_ENV}


@pytest.fixture(scope="module")
def throwaway_database(postgres_admin: str) -> Iterator[str]:
    """The database's URL; its settings are in ``os.environ`` too while the module runs."""
    with postgres_database(postgres_admin, "xinfang_conf") as url:
        saved = {k: os.environ.get(k) for k in _POSTGRES_ENV}
        os.environ.update(_postgres_env(url))
        try:
            yield url
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


class SuiteApplicationRecorder(LedgerApplicationRecorder):
    read_head = staticmethod(suite_head)


class SuiteProcessRecorder(LedgerProcessRecorder):
    read_head = staticmethod(suite_head)


class WithSchema:
    """A fresh schema per test: tables, composite types and functions go with it."""

    originator_id_type: Literal["uuid", "text"] = "uuid"
    pool_size = 2
    max_overflow = 12
    url: str
    postgres_env: dict[str, str]
    schema: str
    datastore: es_postgres.PostgresDatastore

    @pytest.fixture(autouse=True)
    def _database(self, throwaway_database: str) -> None:
        self.url = throwaway_database
        self.postgres_env = _postgres_env(throwaway_database)

    def setUp(self) -> None:
        self.schema = create_schema(self.url)
        env = self.postgres_env
        self.datastore = es_postgres.PostgresDatastore(
            env["POSTGRES_DBNAME"],
            env["POSTGRES_HOST"],
            env["POSTGRES_PORT"],
            env["POSTGRES_USER"],
            env["POSTGRES_PASSWORD"],
            pool_size=self.pool_size,
            max_overflow=self.max_overflow,
            schema=self.schema,
            originator_id_type=self.originator_id_type,
        )
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        self.datastore.close()
        drop_schema(self.url, self.schema)


class TestAggregateRecorder(WithSchema, suite.AggregateRecorderTestCase):
    """Snapshots use eventsourcing's aggregate recorder, made by our factory."""

    def create_recorder(self) -> Any:
        self.factory = Factory(Environment(env={**self.postgres_env, "POSTGRES_SCHEMA": self.schema}))
        return self.factory.aggregate_recorder("snapshots")

    def tearDown(self) -> None:
        if hasattr(self, "factory"):
            self.factory.close()
        super().tearDown()


class TestApplicationRecorder(WithSchema, suite.ApplicationRecorderTestCase[SuiteApplicationRecorder]):
    def create_recorder(self) -> SuiteApplicationRecorder:
        recorder = SuiteApplicationRecorder(self.datastore, events_table_name="xinfang_events")
        recorder.create_table()
        return recorder

    def test_insert_subscribe(self) -> None:
        # eventsourcing's subscription LISTENs in a thread of its own; if that thread must first
        # open a connection, the suite's third NOTIFY can come before the LISTEN and the suite
        # then waits for it forever. Ready connections make that race unlikely (upstream runs
        # this test after pool.resize() for the same reason); the watchdog turns a hang into a
        # failure with a traceback instead of a stuck run.
        self.datastore.pool.open(wait=True)
        self.datastore.pool.resize(4, 16)
        self.datastore.pool.wait(timeout=10)
        faulthandler.dump_traceback_later(120, exit=True)
        try:
            super().optional_test_insert_subscribe()
        finally:
            faulthandler.cancel_dump_traceback_later()


class TestApplicationRecorderWithTextOriginatorID(WithTextOriginatorID, TestApplicationRecorder):
    pass


class TestNonInterleavingNotificationIDs(WithSchema, suite.NonInterleavingNotificationIDsBaseCase):
    def create_recorder(self) -> SuiteApplicationRecorder:
        recorder = SuiteApplicationRecorder(self.datastore)
        recorder.create_table()
        return recorder


class TestTrackingRecorder(WithSchema, suite.TrackingRecorderTestCase):
    def create_recorder(self) -> LedgerTrackingRecorder:
        recorder = LedgerTrackingRecorder(self.datastore)
        recorder.create_table()
        return recorder


class TestProcessRecorder(WithSchema, suite.ProcessRecorderTestCase):
    def create_recorder(self) -> SuiteProcessRecorder:
        recorder = SuiteProcessRecorder(
            self.datastore, events_table_name="xinfang_events", tracking_table_name="xinfang_tracking"
        )
        recorder.create_table()
        return recorder


class TestProcessRecorderWithTextOriginatorID(WithTextOriginatorID, TestProcessRecorder):
    pass


class TestFactory(WithSchema, FactoryExpectations, suite.InfrastructureFactoryTestCase[Factory]):
    store = ledger.store.postgres
    aggregate_recorder_class = es_postgres.PostgresAggregateRecorder
    upstream_application_recorder_class = es_postgres.PostgresApplicationRecorder

    class TrackingRecorderSubclass(LedgerTrackingRecorder):
        pass

    def setUp(self) -> None:
        self.schema = create_schema(self.url)
        self.env = Environment("TestCase")
        self.env.update(self.postgres_env)
        self.env[InfrastructureFactory.PERSISTENCE_MODULE] = "ledger.store.postgres"
        self.env[Factory.POSTGRES_SCHEMA] = self.schema
        suite.InfrastructureFactoryTestCase.setUp(self)

    def tearDown(self) -> None:
        suite.InfrastructureFactoryTestCase.tearDown(self)
        drop_schema(self.url, self.schema)

    def test_db_functions_are_forced_off(self) -> None:
        self.env[Factory.POSTGRES_ENABLE_DB_FUNCTIONS] = "yes"
        factory = Factory(self.env)
        try:
            self.assertFalse(factory.datastore.enable_db_functions)
            recorder = factory.application_recorder()
            statements = [s.as_string() for s in recorder.sql_create_statements]
            self.assertFalse(any("es_insert_events" in s for s in statements))
        finally:
            factory.close()
