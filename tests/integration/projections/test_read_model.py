"""The read model answers search and board queries from SQL, each reader seeing what the policy lets them.

A small county, its cases built by hand (support/county.py units: county, xfj, town-a with village-a1,
town-b, dept-land), and the answers written out by hand:

- ``A-1``: 来访, 属地 town-a, forwarded to town-a on 03-02, accepted 03-05 (办理中);
- ``B-1``: 来信, 属地 town-b, forwarded to town-b on 03-06, never accepted (待受理: acceptance due 15 days later,
  03-21 — a Sunday, so the period runs to Monday 03-22, 《民法典》第二百零三条);
- ``J-1``: 来信, a 检举 accusing town-a, forwarded to dept-land on 03-11, never accepted (due Friday 03-26);
- ``R-1``: 网上, a repeat of A-1, registered 04-01 by the 信访局 and not yet routed (已登记; routing due Friday 04-16).

On 04-30, the reference day: B-1 is 39 days late, J-1 35, R-1's routing (owed by the 信访局) 14.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from ledger.bootstrap import Services, bootstrap
from ledger.projections.queries import CaseFilter
from schemas.common import Actor
from support.county import ADMIN, CLERK, HANDLER, START, command, county_setup

INSPECTOR = Actor(id="inspector-1", unit="county", role="inspector")
TOWN_B = Actor(id="handler-b", unit="town-b", role="handler")
ON = date(2021, 4, 30)


def day(n: int) -> Any:
    return START + timedelta(days=n)


@pytest.fixture
def county(database_url: str) -> Iterator[Services]:
    services = bootstrap(database_url, clock=lambda: START + timedelta(days=400))
    ledger = services.ledger
    for cmd in county_setup():
        ledger.execute(cmd, ADMIN)
    for cmd in [
        command("RegisterPetition", day(0), number="A-1", channel="来访", home_township="town-a"),
        command("ForwardCase", day(1), case="A-1", to_unit="town-a"),
        command("RegisterPetition", day(4), number="B-1", channel="来信", home_township="town-b"),
        command("ForwardCase", day(5), case="B-1", to_unit="town-b"),
        command("RegisterPetition", day(9), number="J-1", channel="来信", home_township="town-a", flags=["检举"],
                accused=["town-a"], subject="检举乡镇干部"),
        command("ForwardCase", day(10), case="J-1", to_unit="dept-land"),
        command("RegisterPetition", day(31), number="R-1", channel="网上", home_township="town-a", repeat_of="A-1"),
    ]:
        ledger.execute(cmd, CLERK)
    ledger.execute(command("AcceptCase", day(4), case="A-1"), HANDLER)
    yield services
    services.close()


def found(services: Services, actor: Actor, **wanted: Any) -> set[str]:
    total, items = services.access.search(services.viewer(actor), CaseFilter(**wanted), ON, limit=50, offset=0)
    assert total == len(items)
    return {item.number for item in items}


@pytest.mark.parametrize(("wanted", "expected"), [
    ({}, {"A-1", "B-1", "J-1", "R-1"}),
    ({"stage": "待受理"}, {"B-1", "J-1"}),
    ({"stage": "已登记"}, {"R-1"}),
    ({"channel": "来信"}, {"B-1", "J-1"}),
    ({"unit": "town-a"}, {"A-1"}),
    ({"unit": "county"}, {"A-1", "B-1", "J-1", "R-1"}),
    ({"flag": "检举"}, {"J-1"}),
    ({"flag": "重复"}, {"R-1"}),
    ({"received_from": date(2021, 3, 5), "received_to": date(2021, 3, 31)}, {"B-1", "J-1"}),
    ({"text": "检举"}, {"J-1"}),
    ({"text": "B-1"}, {"B-1"}),
    ({"overdue": True}, {"B-1", "J-1", "R-1"}),
    ({"overdue": False}, {"A-1"}),
])
def test_every_filter_finds_the_cases_written_out_by_hand(county: Services, wanted: dict[str, Any],
                                                           expected: set[str]) -> None:
    assert found(county, INSPECTOR, **wanted) == expected


def test_each_reader_finds_only_what_the_policy_lets_them_see(county: Services) -> None:
    assert found(county, CLERK) == {"A-1", "B-1", "J-1", "R-1"}  # the 信访局 registered them all
    assert found(county, HANDLER) == {"A-1", "R-1"}  # town-a: not B-1, and never the 检举 accusing it
    assert found(county, TOWN_B) == {"B-1"}
    assert found(county, Actor(id="v", unit="village-a1", role="handler")) == set()
    assert found(county, HANDLER, flag="检举") == set()


def test_the_overdue_board_lists_running_late_deadlines_by_the_unit_that_owes_them(county: Services) -> None:
    board = county.access.overdue(county.viewer(INSPECTOR), ON, unit=None, limit=10)
    assert [(i.number, i.step, i.unit, i.due, i.days_late) for i in board.items] == [
        ("B-1", "accept", "town-b", date(2021, 3, 22), 39),
        ("J-1", "accept", "dept-land", date(2021, 3, 26), 35),
        ("R-1", "route", "xfj", date(2021, 4, 16), 14),
    ]
    assert {(c.unit, c.name, c.cases) for c in board.by_unit} == {
        ("town-b", "乙乡", 1), ("dept-land", "县自然资源局", 1), ("xfj", "示范县信访局", 1)}
    mine = county.access.overdue(county.viewer(TOWN_B), ON, unit=None, limit=10)
    assert [i.number for i in mine.items] == ["B-1"]
    assert [i.number for i in county.access.overdue(county.viewer(HANDLER), ON, unit=None, limit=10).items] == ["R-1"]


def test_a_write_shows_in_the_next_read_of_any_process(county: Services, database_url: str) -> None:
    other = bootstrap(database_url, clock=lambda: START + timedelta(days=400))
    try:
        assert found(other, INSPECTOR, stage="待受理") == {"B-1", "J-1"}
        county.ledger.execute(command("AcceptCase", day(20), case="B-1"), TOWN_B)
        assert found(other, INSPECTOR, stage="待受理") == {"J-1"}  # the other process's read model caught up
    finally:
        other.close()
