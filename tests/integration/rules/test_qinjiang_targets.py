"""琴江 初访速办: 5 / 7 / 15-day targets as warnings beside the statutory clocks, and their indicator."""

from __future__ import annotations

from datetime import date

from ledger.testing import make_rules

ONLY_QINJIANG = ["zhijiang"]
IN_TOWN_A = {"qinjiang": {"units": ["town-a"]}}
"""琴江's rule is a township's: it applies in the units the rules file names (here 甲镇) and below them."""


def test_hook_time_limits_qinjiang_targets_are_warnings_beside_the_statutory_clocks(
    database_url, xinfang_ledger  # noqa: ANN001
) -> None:
    county = xinfang_ledger(IN_TOWN_A, blocked=ONLY_QINJIANG, url=database_url)
    # Registered 3-01, forwarded 3-02, accepted 3-02, first visit 3-09, decided 3-15.
    number = county.case("2021-03-01", accepted=1, investigated=8, decided=14)
    clocks = {c.step: c for c in county.clocks(number, "2021-03-31")}

    assert {s: clocks[s].kind for s in ("speedy_meet", "speedy_facts", "speedy_conclude")} == dict.fromkeys(
        ("speedy_meet", "speedy_facts", "speedy_conclude"), "target"
    )
    assert (clocks["speedy_meet"].due, clocks["speedy_meet"].days_late) == (date(2021, 3, 8), 1)
    assert (clocks["speedy_facts"].due, clocks["speedy_facts"].days_late) == (date(2021, 3, 9), 0)
    assert (clocks["speedy_conclude"].due, clocks["speedy_conclude"].stopped_on) == (date(2021, 3, 17), date(2021, 3, 15))
    assert not clocks["speedy_conclude"].overdue
    assert clocks["speedy_meet"].basis == "琴江镇初访事项速办机制"
    # Beside, not instead of, the statutory limits; a missed target is a warning, not 超期.
    assert clocks["decide"].kind == "duty" and clocks["decide"].due == date(2021, 5, 6)  # after the May holiday
    view = county.ledger.case_view(number, today=date(2021, 3, 31))
    assert view.overdue == []
    assert view.rules_fingerprint == county.rules.fingerprint


def test_targets_apply_to_first_time_items_only(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(IN_TOWN_A, blocked=ONLY_QINJIANG, url=database_url)
    first = county.case("2021-03-01")
    repeat = county.case("2021-04-01", repeat_of=first)
    assert "speedy_conclude" in {c.step for c in county.clocks(first, "2021-04-30")}
    assert not {c.step for c in county.clocks(repeat, "2021-04-30")} & {"speedy_meet", "speedy_facts", "speedy_conclude"}


def test_the_targets_are_configurable(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    config = {"qinjiang": {"meet_days": 3, "conclude_days": 10, "day_type": "working", "starts": "routed_on",
                           "units": ["town-a"]}}
    county = xinfang_ledger(config, blocked=ONLY_QINJIANG, url=database_url)
    number = county.case("2021-03-05", accepted=3)  # a Friday; forwarded on Saturday 3-06
    clocks = {c.step: c for c in county.clocks(number, "2021-03-31")}
    assert clocks["speedy_meet"].started_on == date(2021, 3, 6)
    assert clocks["speedy_meet"].due == date(2021, 3, 10)  # three working days: Mon, Tue, Wed
    assert clocks["speedy_conclude"].due == date(2021, 3, 19)


def test_hook_indicators_speedy_on_time_rate_per_unit_and_overall(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger({"qinjiang": {"units": ["town-a", "town-b"]}}, blocked=ONLY_QINJIANG, url=database_url)
    county.case("2021-03-01", unit="town-a", decided=10)  # met
    county.case("2021-03-01", unit="town-a", decided=40)  # late
    county.case("2021-03-01", unit="town-b")  # open and past due: late
    county.case("2021-12-25", unit="town-b")  # open, not yet due on 12-31
    first = county.case("2021-02-01", unit="town-b", decided=5)
    county.case("2021-03-01", unit="town-b", decided=5, repeat_of=first)  # a repeat: no target

    indicators = {(i.unit): i for i in county.indicators("2021")}
    overall = indicators[None]
    assert (overall.key, overall.label, overall.plugin) == ("qinjiang.speedy_on_time", "初访速办按期办结率", "qinjiang")
    assert (overall.numerator, overall.denominator, overall.target_percent) == (2, 4, 90)
    assert overall.percent == 50 and overall.scope == ["town-a", "town-b"]
    assert (indicators["town-a"].numerator, indicators["town-a"].denominator) == (1, 2)
    assert (indicators["town-b"].numerator, indicators["town-b"].denominator) == (1, 2)

    midyear = {i.unit: i for i in county.indicators("2021", as_of="2021-03-05")}
    assert (midyear[None].numerator, midyear[None].denominator) == (0, 0)

    unconfigured = make_rules(blocked=["zhijiang", "qinjiang"])
    assert county.indicators("2021", rules=unconfigured) == []


def test_a_township_rule_applies_in_its_units_only(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    """琴江's 速办 targets were applied to every first-time case in the county and reported 0% for county
    departments; a local plugin's rules now apply in the units it names and below them, nowhere else."""
    county = xinfang_ledger(IN_TOWN_A, blocked=ONLY_QINJIANG, url=database_url)
    town = county.case("2021-03-01", unit="town-a", decided=10)  # met
    village = county.case("2021-03-01", unit="village-a1", decided=30)  # below 甲镇: late
    department = county.case("2021-03-01", unit="dept-land", decided=40)  # a county department: not its rule
    elsewhere = county.case("2021-03-01", unit="town-b", decided=40)

    speedy = {"speedy_meet", "speedy_facts", "speedy_conclude"}
    assert speedy <= {c.step for c in county.clocks(town, "2021-04-30")}
    assert speedy <= {c.step for c in county.clocks(village, "2021-04-30")}
    assert not speedy & {c.step for c in county.clocks(department, "2021-04-30")}
    assert not speedy & {c.step for c in county.clocks(elsewhere, "2021-04-30")}

    figures = {i.unit: (i.numerator, i.denominator, i.scope) for i in county.indicators("2021")}
    assert figures == {None: (1, 2, ["town-a"]), "town-a": (1, 1, ["town-a"]), "village-a1": (0, 1, ["town-a"])}

    nowhere = xinfang_ledger(blocked=ONLY_QINJIANG, url=None)  # a township's rule with no units named
    case = nowhere.case("2021-03-01", unit="town-a", decided=10)
    assert not speedy & {c.step for c in nowhere.clocks(case, "2021-04-30")}
    assert nowhere.indicators("2021") == []
