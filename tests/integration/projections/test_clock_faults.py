"""Clocks read for a period: who is charged after an upheld objection, where a late step falls, which day counts.

Every case here is built by hand, with the dates an inspector would check on a calendar.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from ledger.domain.case import CHINA
from ledger.facts import parse_as_of, parse_period
from ledger.projections.reports import Inputs, make_report
from schemas.commands import Command
from schemas.common import Actor
from schemas.reports import AccountabilityReport, IndicatorReport
from support.county import CLERK, command
from support.projections import County, cli

TOWN_A = Actor(id="handler-a", unit="town-a", role="handler")
TOWN_B = Actor(id="handler-b", unit="town-b", role="handler")


def at(day: str, hour: int = 9) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), CHINA).replace(hour=hour)


def registered(number: str, day: str) -> list[Command]:
    return [command("RegisterPetition", at(day), number=number),
            command("ForwardCase", at(day, 10), case=number, to_unit="town-a")]


def report(county: County, name: str, period: str, *, as_of: str | None = None,
           today: date | None = None) -> AccountabilityReport | IndicatorReport:
    inputs = Inputs(period=parse_period(period), as_of=parse_as_of(as_of) if as_of else None, today=today)
    return make_report(county.projector(), name, inputs)  # type: ignore[return-value]


def unit_row(found: AccountabilityReport, unit: str):  # noqa: ANN201
    return next(u for u in found.units if u.unit == unit)


def test_an_upheld_objection_restarts_acceptance_for_the_new_unit_and_leaves_routing_done(county: County) -> None:
    """Forwarded 09-28 (routing due 10-13), objection upheld 10-18: the 信访局 routed on time."""
    county.now = at("2022-01-10")
    county.run(registered("2021-000001", "2021-09-28"), CLERK)
    county.run([command("ObjectToJurisdiction", at("2021-09-30"), case="2021-000001", reason="属乙乡职权")], TOWN_A)
    county.run([command("ResolveJurisdictionObjection", at("2021-10-18"), case="2021-000001", ruling="异议成立",
                        to_unit="town-b")], CLERK)
    county.run([command("AcceptCase", at("2021-10-25"), case="2021-000001")], TOWN_B)

    clocks = {c.step: c for c in county.ledger.case_view("2021-000001", today=date(2021, 12, 31)).clocks}
    assert (clocks["route"].due, clocks["route"].stopped_on, clocks["route"].days_late) == (
        date(2021, 10, 13), date(2021, 9, 28), 0)
    assert (clocks["accept"].started_on, clocks["accept"].due, clocks["accept"].stopped_on) == (
        date(2021, 10, 18), date(2021, 11, 2), date(2021, 10, 25))

    found = report(county, "accountability", "2021", as_of="2022-01-10")
    assert isinstance(found, AccountabilityReport)
    assert unit_row(found, "xfj").late_routing.numerator == 0
    assert unit_row(found, "xfj").late_routing.denominator == 1
    assert unit_row(found, "town-b").late_acceptance.numerator == 0
    assert [i.step for u in found.units for i in u.late_items] == ["decide"]  # still undecided on 12-31


def test_a_step_due_in_the_period_and_done_after_it_is_late_in_that_period(county: County) -> None:
    """Accepted 10-22, decision due 12-21, issued 2022-01-05: late by 15 days, in 2021."""
    county.now = at("2022-01-10")
    county.run(registered("2021-000001", "2021-10-20"), CLERK)
    county.run([command("AcceptCase", at("2021-10-22"), case="2021-000001"),
                command("IssueDecision", at("2022-01-05"), case="2021-000001")], TOWN_A)

    year = report(county, "indicators", "2021", as_of="2022-01-10")
    assert isinstance(year, IndicatorReport)
    conclusion = year.total.on_time_conclusion
    assert (conclusion.late.cases, conclusion.open_overdue.cases) == (["2021-000001"], [])
    found = report(county, "accountability", "2021", as_of="2022-01-10")
    assert isinstance(found, AccountabilityReport)
    [item] = unit_row(found, "town-a").late_items
    assert (item.step, item.due, item.done, item.days_late) == ("decide", date(2021, 12, 21), date(2022, 1, 5), 15)

    january = report(county, "indicators", "2022-01", as_of="2022-01-10")
    assert isinstance(january, IndicatorReport)
    assert january.total.on_time_conclusion.rate.denominator == 0  # it fell due in 2021, not here


def test_mid_period_a_step_is_overdue_by_the_day_known_not_by_the_period_end(county: County) -> None:
    """On 12-02, a decision due 12-16 is open and not yet due (it was shown as 超期 15 天)."""
    county.now = at("2021-12-02")
    county.run(registered("2021-000001", "2021-10-15"), CLERK)
    county.run([command("AcceptCase", at("2021-10-17"), case="2021-000001")], TOWN_A)

    found = report(county, "accountability", "2021", today=date(2021, 12, 2))
    assert isinstance(found, AccountabilityReport)
    assert found.basis.reference_day == date(2021, 12, 2)
    assert not [i for u in found.units for i in u.late_items]
    shown = report(county, "indicators", "2021", today=date(2021, 12, 2))
    assert isinstance(shown, IndicatorReport)
    assert shown.total.on_time_conclusion.open_pending.cases == ["2021-000001"]


def test_case_show_and_the_case_view_give_the_objection_window(county: County) -> None:
    county.now = at("2022-06-10")
    county.run(registered("2022-000001", "2022-06-07"), CLERK)  # forwarded Tuesday 06-07

    view = county.ledger.case_view("2022-000001", today=date(2022, 6, 10))
    [window] = view.windows
    assert (window.step, window.started_on, window.due, window.stopped_on) == (
        "objection", date(2022, 6, 7), date(2022, 6, 14), None)
    assert window.basis == "《信访工作条例》第23条"

    shown = cli(county.url, "case", "show", "2022-000001")
    assert shown.exit_code == 0, shown.output
    assert "提出管辖异议" in shown.output and "2022-06-14" in shown.output and "《信访工作条例》第23条" in shown.output
    data = json.loads(cli(county.url, "--json", "case", "show", "2022-000001").output)
    assert data["case"]["windows"][0]["due"] == "2022-06-14"
