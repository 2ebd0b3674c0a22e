"""Period facts: business-time period, knowledge-time prefix, attribution, and the national findings."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.errors import InvalidInput
from ledger.facts import parse_as_of, parse_period
from ledger.testing import make_rules


def test_incidents_count_for_the_unit_named_and_every_unit_above_it(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(url=database_url)
    county.incident("village-a1", "2021-05-03", kind="越级", level="市", persons=2)
    county.incident("town-b", "2021-06-01", kind="集体", level="县", persons=9)
    facts = county.facts("2021")
    incidents = {u.unit: [i.incident for i in u.incidents] for u in facts.units}
    assert incidents == {
        "county": ["I-1", "I-2"], "dept-land": [], "town-a": ["I-1"], "town-b": ["I-2"],
        "village-a1": ["I-1"], "village-a2": [], "village-b1": [], "xfj": [],
    }
    assert [i.incident for i in facts.incidents] == ["I-1", "I-2"]
    assert facts.unit("town-a").township_class == "一类"  # type: ignore[union-attr]


def test_ratings_count_for_the_registering_and_the_responsible_unit(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(url=database_url)
    county.case("2021-03-01", unit="town-a", decided=20, served=21, rated={"责任单位": "满意", "信访部门": "基本满意"})
    late = county.case("2021-03-02", unit="town-b", decided=20, served=21)
    county.do("ExpireRating", "2021-05-01", case=late, party="责任单位")
    county.case("2021-12-01", unit="town-a", decided=20, served=40, rated={"责任单位": "不满意"})  # rated in 2022
    facts = county.facts("2021")
    assert facts.unit("town-a").ratings == {"责任单位": {"满意": 1}}  # type: ignore[union-attr]
    assert facts.unit("town-b").ratings == {"责任单位": {"超期未评价": 1}}  # type: ignore[union-attr]
    assert facts.unit("xfj").ratings == {"信访部门": {"基本满意": 1}}  # type: ignore[union-attr]


def test_a_case_is_read_as_it_stood_at_the_end_of_the_period(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(url=database_url)
    number = county.case("2021-12-01", unit="town-a", decided=40)  # decided 2022-01-10
    in_2021 = next(c for c in county.facts("2021").cases if c.number == number)
    assert in_2021.decided_on is None and in_2021.stage == "办理中"
    in_2022 = next(c for c in county.facts("2022").cases if c.number == number)
    assert in_2022.decided_on == date(2022, 1, 10)


def test_as_of_reads_a_prefix_of_the_log(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(url=database_url)
    county.incident("town-a", "2021-05-03", kind="越级", level="省")
    county.incident("town-a", "2021-06-03", kind="越级", level="省", recorded="2021-09-01")
    early = county.facts("2021", as_of="2021-08-31")
    assert [i.incident for i in early.incidents] == ["I-1"]
    assert early.tree_size == county.tree_size - 1
    assert early.reference_day == date(2021, 8, 31)
    assert county.facts("2021").tree_size == county.tree_size


def test_cases_and_missed_deadlines_are_charged_to_the_unit_that_owed_them(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(url=database_url)
    on_time = county.case("2021-03-01", unit="town-a", decided=30)
    late = county.case("2021-03-01", unit="town-a", decided=90)
    open_late = county.case("2021-06-01", unit="dept-land")
    repeat = county.case("2021-06-02", unit="dept-land", repeat_of=on_time, persons=6)
    county.incident("town-b", "2021-06-03", kind="越级", level="京", case=repeat)
    facts = county.facts("2021")

    assert [c.number for c in facts.cases] == sorted([on_time, late, open_late, repeat])
    overdue = {u.unit: [(o.case, o.clock.step) for o in u.overdue] for u in facts.units if u.overdue}
    assert overdue == {"town-a": [(late, "decide")], "dept-land": [(open_late, "decide"), (repeat, "decide")]}
    by_number = {c.number: c for c in facts.cases}
    assert by_number[repeat].flags == ["集体", "越级"]
    assert not by_number[repeat].first_time and by_number[on_time].first_time
    assert facts.rules_fingerprint == county.rules.fingerprint


def test_hook_accountability_national_a_unit_that_repeatedly_decides_late_qualifies_for_a_letter(
    database_url, xinfang_ledger  # noqa: ANN001
) -> None:
    county = xinfang_ledger(url=database_url)
    first = county.case("2021-03-01", unit="dept-land", decided=90)
    second = county.case("2021-04-01", unit="dept-land")  # still open at the end of the year
    county.case("2021-03-01", unit="town-a", decided=90)  # once is not "repeatedly"
    findings = county.findings("2021")
    assert len(findings) == 1
    finding = findings[0]
    assert (finding.unit, finding.recommendation, finding.plugin) == ("dept-land", "问责建议函", "national")
    assert finding.cases == sorted([first, second])
    assert "县自然资源局在2021年期间 2 次超期出具处理、复查或复核意见" in finding.grounds
    assert finding.basis == "C22 第40条、第45条"

    stricter = make_rules({"national": {"overdue_for_letter": 1}})
    assert [f.unit for f in county.findings("2021", rules=stricter)] == ["dept-land", "town-a"]
    assert county.findings("2021", as_of="2021-05-01") == []  # nothing was due yet


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [("2021", date(2021, 1, 1), date(2021, 12, 31)), ("2021-02", date(2021, 2, 1), date(2021, 2, 28)),
     ("2021-12", date(2021, 12, 1), date(2021, 12, 31)),
     ("2021-01-01..2021-06-30", date(2021, 1, 1), date(2021, 6, 30))],
)
def test_periods_are_years_months_or_day_ranges(text: str, start: date, end: date) -> None:
    period = parse_period(text)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize("text", ["21", "2021-13", "2021-06-30..2021-01-01", "去年"])
def test_a_bad_period_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="考核期"):
        parse_period(text)


def test_as_of_is_a_zoned_time_or_the_end_of_a_day() -> None:
    assert parse_as_of("2022-01-15").isoformat() == "2022-01-15T23:59:59.999999+08:00"
    assert parse_as_of("2022-01-15T18:00:00+08:00").hour == 18
    with pytest.raises(InvalidInput, match="带时区"):
        parse_as_of("2022-01-15T18:00:00")
