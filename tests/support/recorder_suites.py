"""What eventsourcing's recorder suites need from either store module (tests/conformance).

The suites store arbitrary payloads (``b"state1"``, ``b"{}"``), not ledger envelopes, which our
recorders refuse. The recorders under test therefore take ``recorded_at`` and ``actor`` from a
fixed stand-in head (:func:`suite_head`); everything else is the production code path.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Literal
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.utils import get_topic

from ledger.store.leaves import Head


def suite_head(event: StoredEvent) -> Head:
    """Stand-in for the envelope fields the suites' payloads do not have."""
    return Head(
        originator_id=str(event.originator_id),
        originator_version=event.originator_version,
        recorded_at="2026-01-01T00:00:00+00:00",
        actor={},
    )


class WithTextOriginatorID:
    originator_id_type: Literal["uuid", "text"] = "text"

    def new_originator_id(self) -> UUID | str:
        return "test-" + str(uuid4())


class FactoryExpectations:
    """Mixed into ``InfrastructureFactoryTestCase``: the factory of ``store`` makes the ledger's
    recorders, eventsourcing's own ``aggregate_recorder_class`` for snapshots, and refuses the
    engine's plain ``upstream_application_recorder_class``, which keeps no leaves."""

    store: ModuleType
    aggregate_recorder_class: type[Any]
    upstream_application_recorder_class: type[Any]
    TrackingRecorderSubclass: type[Any]
    """Defined in the test class itself, so that its topic resolves."""
    env: Any
    factory: InfrastructureFactory[Any]

    def expected_factory_class(self) -> type[Any]:
        return self.store.Factory

    def expected_aggregate_recorder_class(self) -> type[Any]:
        return self.aggregate_recorder_class

    def expected_application_recorder_class(self) -> type[Any]:
        return self.store.LedgerApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[Any]:
        return self.store.LedgerTrackingRecorder

    def tracking_recorder_subclass(self) -> type[Any]:
        return self.TrackingRecorderSubclass

    def expected_process_recorder_class(self) -> type[Any]:
        return self.store.LedgerProcessRecorder

    def test_refuses_application_recorder_without_leaves(self) -> None:
        self.env[self.store.Factory.APPLICATION_RECORDER_TOPIC] = get_topic(self.upstream_application_recorder_class)
        with pytest.raises(OSError):
            self.factory.application_recorder()
