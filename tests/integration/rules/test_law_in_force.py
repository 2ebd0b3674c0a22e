"""The law in force on the day: a clock follows the text in force when it started, and cites it.

Before 2022-05-01 the 2005 《信访条例》 (国务院令第431号) applied; from that day the 2022
《信访工作条例》. Both give 15 / 15 / 60 (+30) / 30 / 30 / 30 / 30 days, under different
articles; only the 2022 text gives the receiving unit a 5-working-day objection window.
"""

from __future__ import annotations

from datetime import date

import msgspec
import pytest

from ledger.errors import PluginFailure, Refused
from ledger.hooks import hookimpl
from ledger.rules import RuleSet
from ledger.testing import make_rules
from plugins import national
from schemas.rules import TimeLimit
from support.rules import plugin

R05, C22 = "《信访条例》", "《信访工作条例》"
NATIONAL_ONLY = ["zhijiang", "qinjiang"]


def test_each_clock_cites_the_text_in_force_on_the_day_it_started(database_url, xinfang_ledger) -> None:  # noqa: ANN001
    county = xinfang_ledger(blocked=NATIONAL_ONLY, url=database_url)
    # Received under the 2005 text, forwarded on 2022-05-05 (after the 2022 text took effect), accepted 05-10.
    number = county.petition("2022-04-25")
    county.do("ForwardCase", "2022-05-05", case=number, to_unit="town-a")
    county.do("AcceptCase", "2022-05-10", case=number)
    clocks = {c.step: c for c in county.clocks(number, "2022-05-31")}

    assert (clocks["route"].basis, clocks["route"].due) == (f"{R05}第21条", date(2022, 5, 10))
    assert clocks["accept"].basis == f"{C22}第23条"
    assert clocks["decide"].basis == f"{C22}第34条"

    older = county.case("2021-03-01", accepted=1)
    assert {c.step: c.basis for c in county.clocks(older, "2021-03-31")} == {
        "route": f"{R05}第21条", "accept": f"{R05}第21条第2款、第22条", "decide": f"{R05}第33条"}


def test_the_2005_text_has_no_objection_window_the_2022_text_has_five_working_days(
    database_url, xinfang_ledger  # noqa: ANN001
) -> None:
    county = xinfang_ledger(blocked=NATIONAL_ONLY, url=database_url)
    old = county.case("2021-03-01", accepted=None)  # forwarded 03-02
    assert county.ledger.case_view(old, today=date(2021, 3, 20)).windows == []
    county.do("ObjectToJurisdiction", "2021-03-20", case=old, reason="不属本镇职权")  # R05: no statutory window
    assert county.ledger.case(old).stage == "管辖异议中"

    new = county.case("2022-06-01", accepted=None)  # forwarded Thursday 06-02; Dragon Boat Festival 06-03
    window = county.ledger.case_view(new, today=date(2022, 6, 8)).windows[0]
    assert (window.step, window.label, window.basis) == ("objection", "提出管辖异议", f"{C22}第23条")
    assert (window.started_on, window.due, window.stopped_on) == (date(2022, 6, 2), date(2022, 6, 10), None)
    version = county.ledger.case(new).version
    with pytest.raises(Refused, match=f"2022-06-10 届满（{C22}第23条）") as refused:
        county.do("ObjectToJurisdiction", "2022-06-13", case=new, reason="不属本镇职权")
    assert refused.value.code == "rule_violation"
    assert county.ledger.case(new).version == version  # nothing written


def test_the_fingerprint_covers_the_days_the_rules_apply_from() -> None:
    def local(since: date) -> object:
        limit = TimeLimit(step="decide", label="出具处理意见", days=45, day_type="natural", basis="本县规定",
                          starts="accepted_on", stops=("decided_on",), effective_from=since)
        return plugin("strict", xinfang_time_limits=hookimpl(lambda: [limit]))

    earlier = RuleSet([("national", national), local(date(2023, 1, 1))])
    later = RuleSet([("national", national), local(date(2024, 1, 1))])
    assert earlier.plugins == later.plugins  # same names, versions and configuration
    assert earlier.fingerprint != later.fingerprint
    # A local version overrides the national one from its day on, not before.
    assert earlier.limit("decide", date(2022, 12, 31)).basis == f"{C22}第34条"  # type: ignore[union-attr]
    assert earlier.limit("decide", date(2023, 1, 1)).days == 45  # type: ignore[union-attr]
    assert earlier.limit("decide", date(2021, 1, 1)).basis == f"{R05}第33条"  # type: ignore[union-attr]


def test_two_versions_of_a_step_from_the_same_day_are_refused_with_the_plugin_named() -> None:
    limit = TimeLimit(step="decide", label="x", days=45, day_type="natural", basis="x", starts="accepted_on")
    twice = hookimpl(lambda: [limit, msgspec.structs.replace(limit, days=40)])
    rules = make_rules(plugins=[("national", national), plugin("twice", xinfang_time_limits=twice)])
    with pytest.raises(PluginFailure, match="「twice」.*两个版本自同一日起施行"):
        rules.time_limits  # noqa: B018
