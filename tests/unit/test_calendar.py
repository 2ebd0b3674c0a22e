"""Working-day calendar: official schedules, 调休, counting rules, years beyond the package."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import chinese_calendar
import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.calendar import DueDate, WorkingCalendar

CAL = WorkingCalendar()

# A made-up 2027 schedule for tests only (the official one is published by the State Council).
HYPOTHETICAL_2027_HOLIDAYS = [date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)] + [
    date(2027, 2, 5) + timedelta(days=i) for i in range(8)  # Fri 5 Feb - Fri 12 Feb
]
HYPOTHETICAL_2027_WORKDAYS = [date(2027, 2, 14)]  # Sunday make-up workday


def d(text: str) -> date:
    return date.fromisoformat(text)


# ── official schedules (2021) ────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        ("2021-09-26", True),  # Sunday, 调休 make-up workday
        ("2021-09-30", True),
        ("2021-10-01", False),
        ("2021-10-04", False),  # Monday inside National Day
        ("2021-10-07", False),
        ("2021-10-08", True),
        ("2021-10-09", True),  # Saturday, 调休 make-up workday
        ("2021-10-10", False),  # ordinary Sunday
        ("2021-02-07", True),  # Sunday before Spring Festival, make-up workday
        ("2021-02-11", False),  # 除夕
        ("2021-02-12", False),  # 春节
        ("2021-02-17", False),
        ("2021-02-18", True),
        ("2021-02-20", True),  # Saturday, make-up workday
    ],
)
def test_2021_schedule(day: str, workday: bool) -> None:
    assert CAL.is_workday(d(day)) is workday
    assert CAL.is_known(d(day))


def test_five_working_days_across_national_day() -> None:
    # Received Wed 29 Sep 2021: 30 Sep (1), 8 Oct (2), Sat 9 Oct make-up (3), 11 Oct (4), 12 Oct (5).
    assert CAL.add_working_days(d("2021-09-29"), 5) == DueDate(d("2021-10-12"), provisional=False)
    assert CAL.working_days_between(d("2021-09-29"), d("2021-10-12")) == 5


def test_working_days_across_spring_festival() -> None:
    # Received Tue 9 Feb 2021: 10 Feb (1), holidays 11-17 Feb, 18 Feb (2), 19 Feb (3), Sat 20 Feb (4).
    assert CAL.add_working_days(d("2021-02-09"), 4).due == d("2021-02-20")
    assert CAL.add_working_days(d("2021-02-09"), 5).due == d("2021-02-22")
    assert CAL.working_days_between(d("2021-02-10"), d("2021-02-17")) == 0


def test_receipt_day_does_not_count() -> None:
    # Received on a working day: the first working day is the next one, not the receipt day.
    assert CAL.add_working_days(d("2021-09-30"), 1).due == d("2021-10-08")
    # Received on a holiday: likewise.
    assert CAL.add_working_days(d("2021-10-03"), 1).due == d("2021-10-08")


def test_natural_days() -> None:
    # 15 days from 1 Sep 2021 = Thu 16 Sep, a working day: no move.
    assert CAL.add_days(d("2021-09-01"), 15) == DueDate(d("2021-09-16"), provisional=False)


def test_natural_day_deadline_ending_on_a_holiday_moves() -> None:
    # 15 days from 16 Sep 2021 = 1 Oct (National Day): the period ends on Fri 8 Oct.
    assert CAL.add_days(d("2021-09-16"), 15) == DueDate(d("2021-10-08"), provisional=False)
    # Ending on Spring Festival 2021 (12 Feb): moves to Thu 18 Feb.
    assert CAL.add_days(d("2021-01-13"), 30).due == d("2021-02-18")


def test_natural_day_deadline_ending_on_weekend() -> None:
    # Ends on an ordinary Sunday (10 Oct 2021): moves to Monday.
    assert CAL.add_days(d("2021-09-10"), 30).due == d("2021-10-11")
    # Ends on a make-up Sunday (26 Sep 2021): that is a working day, no move.
    assert CAL.add_days(d("2021-09-11"), 15).due == d("2021-09-26")


def test_zero_days_and_negative() -> None:
    assert CAL.add_working_days(d("2021-10-01"), 0) == DueDate(d("2021-10-01"), provisional=False)
    assert CAL.add_days(d("2021-10-01"), 0).due == d("2021-10-01")
    with pytest.raises(ValueError, match="负数"):
        CAL.add_working_days(d("2021-10-01"), -1)
    with pytest.raises(ValueError, match="负数"):
        CAL.add_days(d("2021-10-01"), -1)


def test_datetime_refused() -> None:
    with pytest.raises(TypeError, match="北京时间"):
        CAL.is_workday(datetime(2021, 10, 1, 12, 0))
    with pytest.raises(TypeError):
        CAL.add_days("2021-10-01", 3)  # type: ignore[arg-type]


def test_working_days_between_is_antisymmetric() -> None:
    assert CAL.working_days_between(d("2021-10-12"), d("2021-09-29")) == -5
    assert CAL.working_days_between(d("2021-10-12"), d("2021-10-12")) == 0


def test_across_years() -> None:
    # From Thu 30 Dec 2021: 31 Dec (1), 1-3 Jan 2022 New Year holiday, 4 Jan (2).
    assert CAL.add_working_days(d("2021-12-30"), 2) == DueDate(d("2022-01-04"), provisional=False)
    assert CAL.working_days_between(d("2020-01-01"), d("2023-01-01")) == sum(
        chinese_calendar.is_workday(d("2020-01-01") + timedelta(days=i)) for i in range(1, 1097)
    )


def test_due_date_is_a_frozen_struct() -> None:
    due = CAL.add_days(d("2021-09-01"), 15)
    assert msgspec.json.decode(msgspec.json.encode(due), type=DueDate) == due
    with pytest.raises(AttributeError):
        due.due = d("2021-09-17")  # type: ignore[misc]


# ── years beyond the package ─────────────────────────────────────────────────


def test_2027_is_provisional_weekdays() -> None:
    assert not CAL.is_known(d("2027-01-01"))
    # Fri 1 Jan 2027 is counted as a working day on the weekday rule.
    assert CAL.is_workday(d("2027-01-01"))
    assert CAL.add_working_days(d("2027-01-01"), 5) == DueDate(d("2027-01-08"), provisional=True)
    # Crossing into 2027 from a known year is provisional too.
    assert CAL.add_working_days(d("2026-12-30"), 3) == DueDate(d("2027-01-04"), provisional=True)
    # Natural days ending in 2027 on a Saturday: moved to Monday, provisional.
    assert CAL.add_days(d("2026-12-30"), 10) == DueDate(d("2027-01-11"), provisional=True)
    # A computation entirely within known days is not provisional, even if the calendar has gaps.
    assert CAL.add_working_days(d("2026-12-29"), 2) == DueDate(d("2026-12-31"), provisional=False)


def test_loaded_2027_schedule_is_official() -> None:
    cal = WorkingCalendar().with_schedule(
        HYPOTHETICAL_2027_HOLIDAYS, HYPOTHETICAL_2027_WORKDAYS, years=[2027]
    )
    assert cal.is_known(d("2027-06-01"))
    assert not cal.is_workday(d("2027-01-01"))
    assert cal.is_workday(d("2027-02-14"))
    # From Wed 30 Dec 2026: 31 Dec (1), 1-3 Jan holiday, 4-7 Jan (2-5).
    assert cal.add_working_days(d("2026-12-30"), 5) == DueDate(d("2027-01-07"), provisional=False)
    # Natural days ending inside the loaded Spring Festival move past it.
    assert cal.add_days(d("2027-01-26"), 10) == DueDate(d("2027-02-14"), provisional=False)
    # The default calendar is unchanged.
    assert not CAL.is_known(d("2027-06-01"))
    assert CAL.add_working_days(d("2026-12-30"), 5).provisional


def test_with_schedule_on_the_class_and_chained() -> None:
    cal = WorkingCalendar.with_schedule(HYPOTHETICAL_2027_HOLIDAYS, HYPOTHETICAL_2027_WORKDAYS, [2027])
    assert cal.is_known(d("2027-01-01")) and not cal.is_known(d("2028-01-01"))
    cal = cal.with_schedule([d("2028-01-03")], [], [2028])
    assert cal.is_known(d("2027-01-01")) and cal.is_known(d("2028-01-01"))
    assert not cal.is_workday(d("2028-01-03"))
    # A later year being known does not make a gap year known.
    assert not cal.is_known(d("2029-06-01"))


def test_with_schedule_overrides_package_year() -> None:
    cal = WorkingCalendar.with_schedule([d("2021-09-29")], [], [2021])
    assert not cal.is_workday(d("2021-09-29"))
    # The loaded year replaces the package's whole schedule for that year.
    assert cal.is_workday(d("2021-10-01"))


def test_with_schedule_refuses_inconsistent_input() -> None:
    with pytest.raises(ValueError, match="不在所载入的年份"):
        WorkingCalendar.with_schedule([d("2028-01-01")], [], [2027])
    with pytest.raises(ValueError, match="既是放假日又是调休上班日"):
        WorkingCalendar.with_schedule([d("2027-01-01")], [d("2027-01-01")], [2027])
    with pytest.raises(ValueError, match="适用年份"):
        WorkingCalendar.with_schedule([], [], [])


# ── properties ───────────────────────────────────────────────────────────────

dates = st.dates(min_value=date(2004, 1, 1), max_value=date(2032, 12, 31))
LOADED = WorkingCalendar.with_schedule(HYPOTHETICAL_2027_HOLIDAYS, HYPOTHETICAL_2027_WORKDAYS, [2027])


@given(start=dates, n=st.integers(min_value=1, max_value=800), loaded=st.booleans())
def test_add_working_days_properties(start: date, n: int, loaded: bool) -> None:
    cal = LOADED if loaded else CAL
    result = cal.add_working_days(start, n)
    assert result.due > start
    assert cal.is_workday(result.due)
    assert cal.working_days_between(start, result.due) == n
    assert cal.working_days_between(start, result.due - timedelta(days=1)) == n - 1  # the n-th, not later
    days = [start + timedelta(days=i) for i in range(1, (result.due - start).days + 1)]
    assert result.provisional == any(not cal.is_known(x) for x in days)


@given(start=dates, n=st.integers(min_value=1, max_value=400))
def test_add_days_properties(start: date, n: int) -> None:
    result = CAL.add_days(start, n)
    assert result.due >= start + timedelta(days=n)
    assert CAL.is_workday(result.due)
    # Every day between the nominal end and the result is a rest day.
    assert CAL.working_days_between(start + timedelta(days=n - 1), result.due) == 1


@given(day=st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 12, 31)))
def test_matches_chinese_calendar(day: date) -> None:
    assert CAL.is_workday(day) == chinese_calendar.is_workday(day)
    assert CAL.is_known(day)


@given(a=dates, b=dates)
def test_working_days_between_counts_days(a: date, b: date) -> None:
    lo, hi = min(a, b), max(a, b)
    expected = sum(CAL.is_workday(lo + timedelta(days=i)) for i in range(1, (hi - lo).days + 1))
    assert CAL.working_days_between(lo, hi) == expected
    assert CAL.working_days_between(hi, lo) == -expected
