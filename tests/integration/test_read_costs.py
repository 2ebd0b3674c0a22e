"""What a command and a case read cost does not grow with the case's history: counted in stored
events fetched (the recorder's own select calls, counted on their way through), not timed.
On a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.domain.ids import aggregate_id
from ledger.errors import Conflict
from support.county import CLERK, HANDLER, START, command

NOW = START + timedelta(days=400)
NUMBER = "2021-000001"
LENGTHS = (20, 200)


class Reads:
    """Counts stored events and leaf queries of one recorder; the real methods still do the work."""

    def __init__(self, recorder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events = 0
        self.calls: Counter[str] = Counter()
        for name in ("select_events", "select_events_after", "leaf_at", "select_leaves_of"):
            monkeypatch.setattr(recorder, name, self._counting(name, getattr(recorder, name)))

    def _counting(self, name: str, select: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            found = select(*args, **kwargs)
            self.calls[name] += 1
            if name.startswith("select_events"):
                self.events += len(found)
            return found

        return counted

    def of(self, action: Callable[[], object]) -> int:
        """Stored events fetched while ``action`` runs."""
        self.events = 0
        action()
        return self.events


def handled(ledger: Ledger) -> None:
    for day, name in enumerate(["RegisterPetition", "ForwardCase", "AcceptCase"]):
        fields = {"number": NUMBER} if name == "RegisterPetition" else {"case": NUMBER}
        ledger.execute(command(name, START + timedelta(days=day), **fields), HANDLER)


def investigation() -> Any:
    return command("RecordInvestigation", START + timedelta(days=3), case=NUMBER)


def grow(ledger: Ledger, length: int) -> None:
    """Investigation records until the case has ``length`` events."""
    while ledger.case(NUMBER).version < length:
        ledger.execute(investigation(), HANDLER)


def test_a_command_and_a_case_read_fetch_nothing_the_process_already_knows(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    handled(ledger)
    reads = Reads(ledger.recorder, monkeypatch)
    costs = {}
    for length in LENGTHS:
        grow(ledger, length)
        costs[length] = (
            reads.of(lambda: ledger.execute(investigation(), HANDLER)),
            reads.of(lambda: list(ledger.execute_many([investigation() for _ in range(3)], HANDLER))),
            reads.of(lambda: ledger.case(NUMBER)),
            reads.of(lambda: ledger.case_view(NUMBER)),
        )
    assert costs == {20: (0, 0, 0, 0), 200: (0, 0, 0, 0)}
    assert ledger.case(NUMBER).version == 200 + 1 + 3


def test_after_another_process_wrote_only_its_events_are_fetched(
    ledger: Ledger, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    handled(ledger)
    other = Ledger(database_url, clock=lambda: NOW)
    reads = Reads(ledger.recorder, monkeypatch)
    costs = {}
    for length in LENGTHS:
        grow(ledger, length)
        for _ in range(3):
            other.execute(investigation(), HANDLER)
        command_cost = reads.of(lambda: ledger.execute(investigation(), HANDLER))
        for _ in range(2):
            other.execute(investigation(), HANDLER)
        batch_cost = reads.of(lambda: list(ledger.execute_many([investigation()], HANDLER)))
        costs[length] = (command_cost, batch_cost, reads.of(lambda: ledger.case(NUMBER)))
        assert ledger.case(NUMBER).version == length + 3 + 1 + 2 + 1
    other.close()
    assert costs == {20: (3, 2, 0), 200: (3, 2, 0)}


def test_a_fresh_process_reads_a_case_once(ledger: Ledger, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    handled(ledger)
    grow(ledger, 200)
    fresh = Ledger(database_url, clock=lambda: NOW)
    reads = Reads(fresh.recorder, monkeypatch)
    assert [reads.of(lambda: fresh.case(NUMBER)) for _ in range(3)] == [200, 0, 0]
    fresh.close()


def writer_interrupted_by(database_url: str, rival: Ledger) -> Ledger:
    """A ledger whose first clock reading — after it loaded the case, before it saves — lets
    ``rival`` record an investigation on the same case."""
    calls = {"n": 0}

    def clock() -> datetime:
        calls["n"] += 1
        if calls["n"] == 1:
            rival.execute(investigation(), HANDLER)
        return NOW

    return Ledger(database_url, clock=clock)


def test_a_command_that_lost_a_race_on_a_cached_case_is_decided_again_on_the_fresh_one(
    ledger: Ledger, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    handled(ledger)
    grow(ledger, 20)
    ours = writer_interrupted_by(database_url, ledger)
    assert ours.case_view(NUMBER).version == 20  # cached, and the units it is placed under read once
    reads = Reads(ours.recorder, monkeypatch)
    result = ours.execute(investigation(), HANDLER)
    assert (result.version, reads.events) == (22, 1)  # only the rival's event was fetched
    assert ours.case(NUMBER).version == ledger.case(NUMBER).version == 22
    ours.close()


def test_a_command_that_stated_the_version_it_saw_is_refused_after_losing_the_race(
    ledger: Ledger, database_url: str
) -> None:
    handled(ledger)
    grow(ledger, 20)
    ours = writer_interrupted_by(database_url, ledger)
    assert ours.case(NUMBER).version == 20
    before = ledger.recorder.tree_size()  # type: ignore[attr-defined]
    stated = command("RecordInvestigation", START + timedelta(days=3), case=NUMBER, expected_version=20)
    with pytest.raises(Conflict) as stale:
        ours.execute(stated, HANDLER)
    assert (stale.value.code, stale.value.details) == ("stale_version", {"current_version": 21})
    assert ledger.recorder.tree_size() == before + 1  # type: ignore[attr-defined]  # the rival's only
    assert ours.case(NUMBER).version == 21
    ours.close()


def test_a_timeline_reads_the_case_leaves_in_one_query(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    handled(ledger)
    ledger.execute(command("OrderSupervision", START + timedelta(days=5), case=NUMBER), CLERK)
    grow(ledger, 20)
    recorder = ledger.recorder
    expected = [recorder.leaf_at(aggregate_id("case", NUMBER), v) for v in range(1, 21)]  # type: ignore[attr-defined]
    ledger.timeline(NUMBER)  # unit and official names are read once per process: registrations never change
    reads = Reads(recorder, monkeypatch)
    timeline = ledger.timeline(NUMBER)
    assert reads.calls == {"select_events": 1, "select_leaves_of": 1}
    assert [(t.version, t.seq, t.leaf_hash) for t in timeline] == [
        (leaf.originator_version, leaf.seq, leaf.leaf_hash.hex()) for leaf in expected
    ]
    assert [t.type for t in timeline[:4]] == ["PetitionRegistered", "CaseForwarded", "CaseAccepted", "SupervisionOrdered"]
