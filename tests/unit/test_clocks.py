"""Clocks: national time limits applied to a case, on natural and working days."""

from __future__ import annotations

from datetime import date, datetime
from uuid import uuid4

import msgspec

from ledger.calendar import WorkingCalendar
from ledger.clocks import by_step, case_clocks
from ledger.domain.case import CHINA, Case
from plugins.national import TIME_LIMITS

NATIONAL = by_step(TIME_LIMITS)


def a_case(**dates: object) -> Case:
    base = Case(
        id=uuid4(), version=1, number="2021-000001", stage="已登记", channel="来访", subject="s", flags=(),
        petitioners=(), persons=1, home_township="town-a", registered_by="xfj", repeat_of=None, accused=(),
        received_on=date(2021, 9, 24), stage_since=datetime(2021, 9, 24, 9, tzinfo=CHINA),
    )
    return msgspec.structs.replace(base, **dates)


def clock(case: Case, step: str, today: date = date(2021, 12, 31)):  # noqa: ANN201
    return next(c for c in case_clocks(case, NATIONAL, WorkingCalendar(), today) if c.step == step)


def test_routing_is_due_fifteen_natural_days_after_receipt_moved_past_the_national_day_holiday() -> None:
    routing = clock(a_case(), "route", today=date(2021, 10, 1))
    assert routing.due == date(2021, 10, 9)  # 10-09 is the make-up workday after 10-01..07
    assert not routing.overdue


def test_a_late_acceptance_counts_its_days_late() -> None:
    case = a_case(routed_on=date(2021, 3, 1), unit_received_on=date(2021, 3, 1), accepted_on=date(2021, 3, 20))
    acceptance = clock(case, "accept")
    assert acceptance.due == date(2021, 3, 16)
    assert acceptance.days_late == 4


def test_an_approved_extension_moves_the_decision_deadline() -> None:
    plain = clock(a_case(accepted_on=date(2021, 3, 1)), "decide")
    extended = clock(a_case(accepted_on=date(2021, 3, 1), extension_days=30), "decide")
    assert (extended.due - plain.due).days >= 30


def test_a_running_clock_is_overdue_on_the_reference_day_and_windows_are_not_clocks() -> None:
    case = a_case(accepted_on=date(2021, 3, 1), served_on=date(2021, 3, 2))
    assert clock(case, "decide", today=date(2021, 6, 1)).overdue
    steps = {c.step for c in case_clocks(case, NATIONAL, WorkingCalendar(), date(2021, 6, 1))}
    assert "review_request" not in steps and "objection" not in steps


def test_deadlines_beyond_the_known_calendar_are_provisional() -> None:
    case = a_case(received_on=date(2027, 3, 1))
    assert clock(case, "route", today=date(2027, 3, 2)).provisional
