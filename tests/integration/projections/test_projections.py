"""Projections on SQLite and PostgreSQL: persisted, resumed, rebuilt, followed, as of a past time."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from ledger.canonical import canonical_json
from ledger.facts import parse_period
from ledger.projections.reports import Inputs, make_report
from ledger.projections.runner import VERSIONS, Projector
from ledger.projections.tables import StalePosition
from support.county import CLERK, HANDLER, START, case_path, command

from support.projections import County, table_rows

PERIOD = parse_period("2021")


def cases(county: County, first: int, count: int, stage: str = "已办结") -> None:
    for i in range(first, first + count):
        county.now = START + timedelta(days=i + 10)
        county.run(case_path(f"2021-{i:06d}", stage, START + timedelta(days=i)), HANDLER)


def reports(projector: Projector, as_of: object = None) -> list[bytes]:
    return [canonical_json(make_report(projector, name, Inputs(period=PERIOD, as_of=as_of)))  # type: ignore[arg-type]
            for name in ("board", "accountability", "indicators")]


def test_positions_are_kept_so_a_restart_folds_only_what_is_new(county: County) -> None:
    cases(county, 1, 4)
    first = county.projector()
    state = first.catch_up()
    assert state.size == county.size()
    assert {name: position for name, (position, _) in first.status().items()} == {
        "cases": county.size(), "records": county.size(), "backfill": county.size()}

    cases(county, 10, 1)
    folded: list[int] = []
    restarted = county.projector()  # a new process: nothing in memory
    state = restarted.catch_up(folded.append)
    assert sum(folded) == len(case_path("x", "已办结")) and state.size == county.size()
    assert len(state.cases) == 5 and state.cases  # the four earlier cases came from the tables


def test_catching_up_bit_by_bit_equals_a_rebuild_from_zero(county: County) -> None:
    projector = county.projector()
    for first in (1, 5, 9):
        cases(county, first, 3, "已归档")
        county.run([command("RecordDispute", START + timedelta(days=first), dispute=f"D-{first}")], CLERK)
        projector.catch_up()
    incremental, incremental_reports = table_rows(projector), reports(projector)
    projector.rebuild()
    assert table_rows(projector) == incremental
    assert reports(projector) == incremental_reports
    assert len(incremental["proj_cases"]) == 9


def test_a_writer_that_read_an_old_position_cannot_overwrite_a_newer_one(county: County) -> None:
    projector = county.projector()
    projector.catch_up()
    size = county.size()
    with pytest.raises(StalePosition):
        projector.tables.commit({"cases": (size - 1, size + 5)}, {})
    assert projector.status()["cases"] == (size, False)


def test_a_projection_whose_rows_changed_shape_is_rebuilt(county: County, monkeypatch: pytest.MonkeyPatch) -> None:
    cases(county, 1, 2)
    projector = county.projector()
    projector.catch_up()
    monkeypatch.setitem(VERSIONS, "records", VERSIONS["records"] + 1)
    assert projector.status()["records"][1] is True
    folded: list[int] = []
    state = projector.catch_up(folded.append)
    assert sum(folded) == county.size()  # records folded again from zero; the others only passed over
    assert projector.status()["records"] == (county.size(), False)
    assert len(state.records) == 8


def test_following_the_log_catches_up_with_new_events(county: County) -> None:
    projector = county.projector()
    seen: list[int] = []
    stop = threading.Event()
    follower = threading.Thread(
        target=projector.follow,
        kwargs={"interval": 0.05, "until": stop.is_set, "on_change": lambda state: seen.append(state.size)},
    )
    follower.start()
    try:
        cases(county, 1, 2)
        deadline = time.monotonic() + 20
        while (not seen or seen[-1] != county.size()) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        follower.join(timeout=10)
        projector.close()
    assert seen[-1] == county.size()


def test_an_as_of_report_reads_the_prefix_recorded_by_then(county: County) -> None:
    cases(county, 1, 3)
    cut = county.now
    prefix = county.size()
    cases(county, 20, 2)
    projector = county.projector()
    report = make_report(projector, "indicators", Inputs(period=PERIOD, as_of=cut))
    assert report.basis.tree_size == prefix and report.basis.root == projector.root(prefix).hex()
    assert report.total.repeat.denominator == 3
    now = make_report(projector, "indicators", Inputs(period=PERIOD))
    assert now.basis.tree_size == county.size() and now.total.repeat.denominator == 5
