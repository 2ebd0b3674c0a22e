"""芷江 “三无” and 人民满意单位 on hand-built ledgers, SQLite and PostgreSQL, one criterion at a time."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ledger.canonical import canonical_json
from ledger.errors import Refused
from ledger.testing import DEMO_UNITS, make_rules

TOWNSHIP, VILLAGE, SATISFIED = "三无乡镇", "三无村(社区)", "信访工作人民满意单位"
ONLY_ZHIJIANG = ["qinjiang"]


def passed(report: Any, title: str) -> dict[str, bool]:
    return {v.unit: v.passed for v in report.verdicts if v.title == title}


def test_hook_awards_a_visit_to_beijing_fails_the_village_and_its_township(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(blocked=ONLY_ZHIJIANG, url=database_url)
    county.incident("village-a1", "2021-05-03", kind="非正常", level="京")
    report = county.awards("2021")

    assert passed(report, TOWNSHIP) == {"town-a": False, "town-b": True}
    assert passed(report, VILLAGE) == {"village-a1": False, "village-a2": True, "village-b1": True}
    town_a = county.verdict(report, "town-a", TOWNSHIP)
    assert [(f.criterion, f.incident, f.occurred_on) for f in town_a.failures] == [
        ("无进京非正常上访", "I-1", date(2021, 5, 3))
    ]
    assert town_a.failures[0].reason == "2021-05-03 进京非正常访 1 人（事件 I-1，属地 甲镇一村）"
    assert town_a.amount == 0
    assert county.verdict(report, "village-a1", VILLAGE).failures[0].criterion == "无非正常上访"
    # 二类乡镇 2万, two villages 0.5万 each; nobody was rated, so no 满意单位.
    assert report.total == 20_000 + 2 * 5_000
    assert report.period == "2021年" and report.rules_fingerprint == county.rules.fingerprint


def test_an_abnormal_visit_to_the_province_breaks_the_village_rule_but_not_the_beijing_one(
    database_url, xinfang_ledger  # noqa: ANN001
) -> None:
    county = xinfang_ledger(blocked=ONLY_ZHIJIANG, url=database_url)
    county.incident("village-b1", "2021-07-01", kind="非正常", level="省")
    report = county.awards("2021")
    assert passed(report, TOWNSHIP) == {"town-a": True, "town-b": True}
    assert passed(report, VILLAGE)["village-b1"] is False


def test_collective_skip_level_visits_counted_per_batch_or_per_person(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(blocked=ONLY_ZHIJIANG, url=database_url)
    county.incident("town-a", "2021-04-10", kind="集体", level="市", persons=8)
    county.incident("town-a", "2021-04-11", kind="集体", level="县", persons=30)  # not 越级 for a township

    default = county.awards("2021")
    assert [f.incident for f in county.verdict(default, "town-a", TOWNSHIP).failures] == ["I-1"]

    def under(count: str, limit: int) -> Any:
        criterion = {"name": "集体越级上访", "kinds": ["集体"], "levels": ["市", "省", "京"],
                     "count": count, "limit": limit}
        rules = make_rules({"zhijiang": {"township": {"criteria": [criterion]}}}, blocked=ONLY_ZHIJIANG)
        return county.verdict(county.awards("2021", rules=rules), "town-a", TOWNSHIP)

    assert under("批次", 1).passed  # one batch tolerated
    per_person = under("人次", 5)  # eight persons are more than five
    assert not per_person.passed
    assert [f.reason for f in per_person.failures] == [
        "计 8 人次，超过允许的 5 人次",
        "2021-04-10 到市集体访 8 人（事件 I-1，属地 甲镇）",
    ]
    assert under("人次", 8).passed


def test_a_minimum_head_count_decides_which_incidents_count(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(blocked=ONLY_ZHIJIANG, url=database_url)
    county.incident("town-b", "2021-04-10", kind="越级", level="省", persons=3)
    county.incident("town-b", "2021-04-12", kind="越级", level="省", persons=6)
    criterion = {"name": "无五人以上越级上访", "kinds": ["越级", "集体"], "levels": ["省", "京"], "min_persons": 5}
    rules = make_rules({"zhijiang": {"township": {"criteria": [criterion]}}}, blocked=ONLY_ZHIJIANG)
    verdict = county.verdict(county.awards("2021", rules=rules), "town-b", TOWNSHIP)
    assert [f.incident for f in verdict.failures] == ["I-2"]


def test_the_township_class_sets_the_award(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    units = [*DEMO_UNITS, {"code": "town-c", "name": "丙镇", "kind": "乡镇", "parent": "county"}]
    county = xinfang_ledger(blocked=ONLY_ZHIJIANG, url=database_url, units=units)
    report = county.awards("2021")
    assert {v.unit: v.amount for v in report.verdicts if v.title == TOWNSHIP} == {
        "town-a": 50_000, "town-b": 20_000, "town-c": 0
    }
    assert county.verdict(report, "town-c", TOWNSHIP).passed
    assert "乡镇类别未登记" in county.verdict(report, "town-c", TOWNSHIP).note
    assert report.total == 50_000 + 20_000 + 3 * 5_000

    richer = make_rules({"zhijiang": {"township": {"awards": {"一类": 60_000, "二类": 30_000}}}}, blocked=ONLY_ZHIJIANG)
    assert {v.unit: v.amount for v in county.awards("2021", rules=richer).verdicts if v.title == TOWNSHIP} == {
        "town-a": 60_000, "town-b": 30_000, "town-c": 0
    }


def test_village_criteria_no_skip_level_no_collective_no_abnormal_visit(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(blocked=ONLY_ZHIJIANG, url=database_url)
    county.incident("village-a1", "2021-03-03", kind="越级", level="县")
    county.incident("village-b1", "2021-08-08", kind="集体", level="县", persons=5)
    report = county.awards("2021")
    assert passed(report, VILLAGE) == {"village-a1": False, "village-a2": True, "village-b1": False}
    assert [f.criterion for f in county.verdict(report, "village-a1", VILLAGE).failures] == ["无越级上访"]
    assert [f.criterion for f in county.verdict(report, "village-b1", VILLAGE).failures] == ["无集体上访"]
    # A visit to the county is no 越级 for the township's title.
    assert passed(report, TOWNSHIP) == {"town-a": True, "town-b": True}


def test_the_satisfaction_threshold_for_the_peoples_satisfaction_title(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(blocked=ONLY_ZHIJIANG, url=database_url)
    for rating in ("满意", "满意", "基本满意", "不满意"):  # 3 of 4: 75%
        county.case("2021-03-01", unit="town-a", decided=20, served=21, rated={"责任单位": rating})
    for rating in ("满意", "满意", "满意", "基本满意", "不满意"):  # 4 of 5: exactly 80%
        county.case("2021-04-01", unit="dept-land", decided=20, served=21,
                    rated={"责任单位": rating, "信访部门": "不满意"})
    late = county.case("2021-05-01", unit="dept-land", decided=20, served=21)
    county.do("ExpireRating", "2021-06-30", case=late, party="责任单位")  # 超期未评价: not rated

    report = county.awards("2021")
    town_a = county.verdict(report, "town-a", SATISFIED)
    assert not town_a.passed
    assert town_a.failures[0].reason == "满意率 75.0%（3/4）低于 80%"
    assert county.verdict(report, "dept-land", SATISFIED).passed
    assert county.verdict(report, "dept-land", SATISFIED).amount == 10_000
    # Nobody rated 乙乡 or the 信访局 as 责任单位 (the 信访局's ratings are 信访部门 ratings): not applicable.
    assert [(v.status, v.result, v.failures) for v in (county.verdict(report, u, SATISFIED) for u in ("town-b", "xfj"))] \
        == [("not_applicable", "不适用", [])] * 2

    lenient = make_rules({"zhijiang": {"satisfaction": {"threshold": 75}}}, blocked=ONLY_ZHIJIANG)
    assert county.verdict(county.awards("2021", rules=lenient), "town-a", SATISFIED).passed
    strict = make_rules({"zhijiang": {"satisfaction": {"threshold": 80, "min_rated": 6}}}, blocked=ONLY_ZHIJIANG)
    assert county.verdict(county.awards("2021", rules=strict), "dept-land", SATISFIED).failures[0].reason == (
        "参评 5 件，不足 6 件"
    )


def test_incidents_outside_the_period_or_recorded_after_as_of_do_not_count(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(blocked=ONLY_ZHIJIANG, url=database_url)
    county.incident("town-a", "2020-12-20", kind="非正常", level="京")
    county.incident("town-a", "2022-01-02", kind="非正常", level="京")
    late = county.incident("town-b", "2021-06-01", kind="非正常", level="京", recorded="2022-02-01")

    known_in_january = county.awards("2021", as_of="2022-01-15")
    assert passed(known_in_january, TOWNSHIP) == {"town-a": True, "town-b": True}
    everything = county.awards("2021")
    assert passed(everything, TOWNSHIP) == {"town-a": True, "town-b": False}
    assert county.verdict(everything, "town-b", TOWNSHIP).failures[0].incident == late
    assert known_in_january.tree_size == everything.tree_size - 1
    assert known_in_january.as_of is not None and everything.as_of is None


def test_the_same_events_under_the_same_rules_give_the_same_bytes(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    def story(county: Any) -> None:
        county.incident("village-a1", "2021-05-03", kind="非正常", level="京")
        county.incident("town-b", "2021-04-10", kind="集体", level="省", persons=7)
        county.case("2021-03-01", unit="town-a", decided=20, served=21, rated={"责任单位": "满意"})
        county.case("2021-03-02", unit="dept-land", decided=80, served=81, rated={"责任单位": "不满意"})

    here = xinfang_ledger(blocked=ONLY_ZHIJIANG, url=database_url)
    elsewhere = xinfang_ledger(blocked=ONLY_ZHIJIANG)  # another database (SQLite), the same story
    story(here)
    story(elsewhere)

    first = canonical_json(here.awards("2021"))
    assert canonical_json(here.awards("2021")) == first
    assert canonical_json(elsewhere.awards("2021")) == first
    reordered = make_rules(blocked=ONLY_ZHIJIANG)  # a fresh rule set, plugins found again
    assert canonical_json(here.awards("2021", rules=reordered)) == first
    other = make_rules({"zhijiang": {"village": {"award": 6000}}}, blocked=ONLY_ZHIJIANG)
    changed = here.awards("2021", rules=other)
    assert changed.rules_fingerprint != here.rules.fingerprint
    assert canonical_json(changed) != first


def test_an_incident_names_its_village_and_a_village_without_one_is_undetermined(
    database_url, xinfang_ledger  # noqa: ANN001
) -> None:
    """A 集体访 to the province recorded at township level used to leave every village of 甲镇 passed."""
    county = xinfang_ledger(blocked=ONLY_ZHIJIANG, url=database_url)
    county.incident("town-a", "2021-04-10", kind="集体", level="省", persons=6)  # village unknown
    report = county.awards("2021")
    assert passed(report, TOWNSHIP) == {"town-a": False, "town-b": True}
    for village in ("village-a1", "village-a2"):
        verdict = county.verdict(report, village, VILLAGE)
        assert (verdict.passed, verdict.status, verdict.result, verdict.amount) == (False, "undetermined", "待定", 0)
        assert verdict.failures[0].incident == "I-1" and "未登记当事人所在村（社区）" in verdict.failures[0].reason
    assert county.verdict(report, "village-b1", VILLAGE).passed
    assert report.total == 20_000 + 5_000  # 乙乡 and its village

    county.incident("town-a", "2021-05-10", kind="越级", level="市", persons=2, village="village-a2")
    again = county.awards("2021")
    assert county.verdict(again, "village-a2", VILLAGE).status == "judged"  # its own incident fails it
    assert [f.criterion for f in county.verdict(again, "village-a2", VILLAGE).failures] == ["无越级上访"]
    assert county.verdict(again, "village-a2", VILLAGE).failures[0].reason == (
        "2021-05-10 到市越级访 2 人（事件 I-2，属地 甲镇二村）")
    assert county.verdict(again, "village-a1", VILLAGE).status == "undetermined"

    before = county.tree_size
    with pytest.raises(Refused, match="不在属地 town-b 之内") as refused:
        county.incident("town-b", "2021-05-11", kind="越级", level="市", village="village-a1")
    assert refused.value.code == "rule_violation" and county.tree_size == before


def test_hook_incident_kinds_a_skip_level_visit_of_five_or_more_is_a_collective_visit_too(
    database_url, xinfang_ledger  # noqa: ANN001
) -> None:
    county = xinfang_ledger(blocked=ONLY_ZHIJIANG, url=database_url)
    county.incident("town-b", "2021-06-01", kind="越级", level="京", persons=6, village="village-b1")
    county.incident("town-a", "2021-06-02", kind="越级", level="京", persons=4, village="village-a1")
    report = county.awards("2021")
    [failure] = county.verdict(report, "town-b", TOWNSHIP).failures
    assert (failure.criterion, failure.reason) == ("无集体越级上访", "2021-06-01 进京越级访 6 人，亦计为集体访（事件 I-1，属地 乙乡一村）")
    assert county.verdict(report, "town-a", TOWNSHIP).passed  # four persons: not collective
    assert [f.criterion for f in county.verdict(report, "village-b1", VILLAGE).failures] == ["无越级上访", "无集体上访"]
    assert [i.kinds for i in county.facts("2021").incidents] == [["越级", "集体"], ["越级"]]

    higher = make_rules({"national": {"collective_threshold": 7}}, blocked=ONLY_ZHIJIANG)
    assert county.verdict(county.awards("2021", rules=higher), "town-b", TOWNSHIP).passed


def test_the_satisfaction_award_leaves_out_litigation_items_as_the_indicator_does(
    database_url, xinfang_ledger  # noqa: ANN001
) -> None:
    county = xinfang_ledger(blocked=ONLY_ZHIJIANG, url=database_url)
    for _ in range(2):
        county.case("2021-03-01", unit="town-a", decided=20, served=21, rated={"责任单位": "满意"})
    for _ in range(3):  # 涉法涉诉: out of the satisfaction rate (domain §4), so out of the award
        county.case("2021-03-01", unit="town-a", decided=20, served=21, rated={"责任单位": "不满意"}, flags=["涉法涉诉"])
    report = county.awards("2021")
    verdict = county.verdict(report, "town-a", SATISFIED)
    assert (verdict.passed, verdict.amount) == (True, 10_000)
    assert county.facts("2021").unit("town-a").ratings == {"责任单位": {"满意": 2}}  # type: ignore[union-attr]


def test_annual_awards_are_not_judged_for_a_month(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(blocked=ONLY_ZHIJIANG, url=database_url)
    county.case("2021-03-01", unit="town-a", decided=5, served=6, rated={"责任单位": "满意"})
    month = county.awards("2021-03")
    assert {v.status for v in month.verdicts} == {"not_applicable"} and month.total == 0
    assert "按年度评定：考核期 2021年3月 不是完整年度" in month.verdicts[0].note
    year = county.awards("2021")
    assert year.total == 50_000 + 20_000 + 3 * 5_000 + 10_000
