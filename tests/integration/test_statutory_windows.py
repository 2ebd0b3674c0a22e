"""Every statutory window on its last day and on the first late day, across the official holidays.

Windows follow the law in force on the day: C22 from 2022-05-01, the 2005 《信访条例》 before (the
same 30 and 60 days; no objection window).

The dates are chosen so that windows end on a holiday, run across 调休 make-up working days, or
end on a make-up Sunday; the expected days come from the State Council's 2021 and 2022 holiday
schedules (国务院办公厅关于2021年、2022年部分节假日安排的通知), written out below by hand.

Counting (《民法典》第二百零一条、第二百零三条): the start day does not count; a natural-day period
whose last day is a rest day ends on the next working day; a working-day period counts working
days only, make-up days included.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

import pytest

from ledger.application import Ledger
from ledger.calendar import WorkingCalendar
from ledger.domain.case import CHINA
from ledger.errors import Refused
from support.county import ADMIN, CLERK, HANDLER, command, county_setup

REST_2021_2022 = {
    "元旦 2021": ("2021-01-01", "2021-01-03"), "春节 2021": ("2021-02-11", "2021-02-17"),
    "清明 2021": ("2021-04-03", "2021-04-05"), "劳动节 2021": ("2021-05-01", "2021-05-05"),
    "端午 2021": ("2021-06-12", "2021-06-14"), "中秋 2021": ("2021-09-19", "2021-09-21"),
    "国庆 2021": ("2021-10-01", "2021-10-07"), "元旦 2022": ("2022-01-01", "2022-01-03"),
    "春节 2022": ("2022-01-31", "2022-02-06"), "清明 2022": ("2022-04-03", "2022-04-05"),
    "劳动节 2022": ("2022-04-30", "2022-05-04"), "端午 2022": ("2022-06-03", "2022-06-05"),
    "中秋 2022": ("2022-09-10", "2022-09-12"), "国庆 2022": ("2022-10-01", "2022-10-07"),
}
MAKE_UP_2021_2022 = {"2021-02-07", "2021-02-20", "2021-04-25", "2021-05-08", "2021-09-18", "2021-09-26",
                     "2021-10-09", "2022-01-29", "2022-01-30", "2022-04-02", "2022-04-24", "2022-05-07",
                     "2022-10-08", "2022-10-09"}
"""调休 Saturdays and Sundays that are working days."""


def is_rest(day: date) -> bool:
    """The hand-written schedule: a holiday, or a weekend that is not a make-up working day."""
    if any(date.fromisoformat(a) <= day <= date.fromisoformat(b) for a, b in REST_2021_2022.values()):
        return True
    return day.weekday() >= 5 and day.isoformat() not in MAKE_UP_2021_2022


def test_the_ledger_calendar_keeps_the_official_2021_and_2022_schedules_day_by_day() -> None:
    first = date(2021, 1, 1)
    wrong = [first + timedelta(days=i) for i in range(730)
             if WorkingCalendar().is_workday(first + timedelta(days=i)) == is_rest(first + timedelta(days=i))]
    assert wrong == []


def at(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(10), CHINA)


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    app = Ledger(database_url, clock=lambda: datetime(2023, 1, 1, tzinfo=CHINA))
    for cmd in county_setup(at("2020-12-01")):
        app.execute(cmd, ADMIN)
    yield app
    app.close()


def steps(ledger: Ledger, number: str, *moves: tuple[str, str]) -> None:
    ledger.execute(command("RegisterPetition", at(moves[0][1]), number=number), CLERK)
    for name, day in moves[1:]:
        ledger.execute(command(name, at(day), case=number), HANDLER)


def refused_then_taken(ledger: Ledger, name: str, number: str, late: str, last: str, words: str) -> None:
    """``name`` on the first late day is refused and writes nothing; on the last day it is taken."""
    before = ledger.recorder.tree_size()  # type: ignore[attr-defined]
    with pytest.raises(Refused, match=words) as refused:
        ledger.execute(command(name, at(late), case=number), HANDLER)
    assert refused.value.code == "rule_violation"
    assert ledger.recorder.tree_size() == before  # type: ignore[attr-defined]
    ledger.execute(command(name, at(last), case=number), HANDLER)
    assert ledger.recorder.tree_size() == before + 1  # type: ignore[attr-defined]


# ── Windows the ledger enforces: a late request is refused ───────────────────


@pytest.mark.parametrize(("forwarded", "last", "late"), [
    # C22 (in force from 1 May 2022) art 23. Thu 29 Sep 2022: Fri 30 Sep, 国庆 1-7 Oct off, Sat 8 and Sun 9 Oct
    # (make-up days), Mon 10, Tue 11 Oct are the five.
    ("2022-09-29", "2022-10-11", "2022-10-12"),
    # Thu 5 May 2022, just after 劳动节: Fri 6, Sat 7 (make-up), Mon 9, Tue 10, Wed 11 May.
    ("2022-05-05", "2022-05-11", "2022-05-12"),
])
def test_a_jurisdiction_objection_counts_five_working_days(ledger: Ledger, forwarded: str, last: str,
                                                           late: str) -> None:
    steps(ledger, "W-1", ("RegisterPetition", forwarded), ("ForwardCase", forwarded))
    refused_then_taken(ledger, "ObjectToJurisdiction", "W-1", late, last, "5个工作日")


@pytest.mark.parametrize(("served", "last", "late"), [
    # 1 Sep 2021 + 30 = Fri 1 Oct (国庆): the window runs to Fri 8 Oct; Sat 9 Oct (a make-up day) is late.
    ("2021-09-01", "2021-10-08", "2021-10-09"),
    # Sat 5 Mar 2022 + 30 = Mon 4 Apr (清明 3-5 Apr): the window runs to Wed 6 Apr.
    ("2022-03-05", "2022-04-06", "2022-04-07"),
    # Tue 1 Jun 2021 + 30 = Thu 1 Jul, a working day: no shift.
    ("2021-06-01", "2021-07-01", "2021-07-02"),
])
def test_a_review_request_has_thirty_days_shifted_past_a_rest_day(ledger: Ledger, served: str, last: str,
                                                                  late: str) -> None:
    steps(ledger, "W-2", ("RegisterPetition", served), ("ForwardCase", served), ("AcceptCase", served),
          ("IssueDecision", served), ("ServeDecision", served))
    refused_then_taken(ledger, "RequestReview", "W-2", late, last, "30日内")


@pytest.mark.parametrize(("decided", "last", "late"), [
    # Fri 31 Dec 2021 + 30 = Sun 30 Jan 2022, a make-up working day: no shift; Mon 31 Jan (春节) is late.
    ("2021-12-31", "2022-01-30", "2022-01-31"),
    # Sat 4 Sep 2021 + 30 = Mon 4 Oct (国庆): the window runs to Fri 8 Oct.
    ("2021-09-04", "2021-10-08", "2021-10-09"),
])
def test_a_re_review_request_has_thirty_days_from_the_review(ledger: Ledger, decided: str, last: str,
                                                             late: str) -> None:
    steps(ledger, "W-3", ("RegisterPetition", decided), ("ForwardCase", decided), ("AcceptCase", decided),
          ("IssueDecision", decided), ("ServeDecision", decided), ("RequestReview", decided),
          ("DecideReview", decided))
    refused_then_taken(ledger, "RequestReReview", "W-3", late, last, "30日内")


# ── Windows the ledger measures: finishing late shows as overdue ─────────────


def clock(ledger: Ledger, number: str, step: str, today: str) -> tuple[date, int]:
    found = next(c for c in ledger.case_view(number, today=date.fromisoformat(today)).clocks if c.step == step)
    return found.due, found.days_late


@pytest.mark.parametrize(("step", "moves", "finish", "due"), [
    # 转送 within 15 days of registration: 27 Jan 2021 + 15 = Thu 11 Feb (春节 11-17 Feb) → Thu 18 Feb.
    ("route", [("RegisterPetition", "2021-01-27")], "ForwardCase", "2021-02-18"),
    # 受理 within 15 days of receipt: 20 Apr 2021 + 15 = Wed 5 May (劳动节 1-5 May) → Thu 6 May.
    ("accept", [("RegisterPetition", "2021-04-20"), ("ForwardCase", "2021-04-20")], "AcceptCase", "2021-05-06"),
    # 处理意见 within 60 days of 受理: 2 Aug 2021 + 60 = Fri 1 Oct (国庆) → Fri 8 Oct.
    ("decide", [("RegisterPetition", "2021-08-02"), ("ForwardCase", "2021-08-02"), ("AcceptCase", "2021-08-02")],
     "IssueDecision", "2021-10-08"),
    # 复查意见 within 30 days of the request: 1 Sep 2021 + 30 = Fri 1 Oct → Fri 8 Oct.
    ("review_decide", [("RegisterPetition", "2021-09-01"), ("ForwardCase", "2021-09-01"),
                       ("AcceptCase", "2021-09-01"), ("IssueDecision", "2021-09-01"),
                       ("ServeDecision", "2021-09-01"), ("RequestReview", "2021-09-01")],
     "DecideReview", "2021-10-08"),
    # 复核意见 within 30 days of the request: 31 Dec 2021 + 30 = Sun 30 Jan 2022, a make-up working day.
    ("rereview_decide", [("RegisterPetition", "2021-12-31"), ("ForwardCase", "2021-12-31"),
                         ("AcceptCase", "2021-12-31"), ("IssueDecision", "2021-12-31"),
                         ("ServeDecision", "2021-12-31"), ("RequestReview", "2021-12-31"),
                         ("DecideReview", "2021-12-31"), ("RequestReReview", "2021-12-31")],
     "DecideReReview", "2022-01-30"),
])
@pytest.mark.parametrize("late", [False, True])
def test_a_measured_window_is_kept_on_its_last_day_and_missed_the_day_after(
        ledger: Ledger, step: str, moves: list[tuple[str, str]], finish: str, due: str, late: bool) -> None:
    steps(ledger, "W-4", *moves)
    last = date.fromisoformat(due)
    assert clock(ledger, "W-4", step, due) == (last, 0)  # still running on its last day: not overdue
    assert clock(ledger, "W-4", step, (last + timedelta(days=1)).isoformat()) == (last, 1)  # running a day late
    done = last + timedelta(days=1 if late else 0)
    ledger.execute(command(finish, at(done.isoformat()), case="W-4"), HANDLER)
    assert clock(ledger, "W-4", step, "2022-12-31") == (last, 1 if late else 0)
