"""Clocks: the time limits of the rules applied to one case.

A clock starts on a case milestone, stops on the first of its stop milestones, and
is due after its days (natural or working, per the calendar), plus an approved
extension or re-review hearing days where the limit says so. Deadlines set by an
event (交办 report, 督办 reply) are clocks too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from ledger.calendar import DueDate, WorkingCalendar
from ledger.domain.case import Case
from schemas.rules import Clock, TimeLimit


def due_date(limit: TimeLimit, start: date, calendar: WorkingCalendar, extra_days: int = 0) -> DueDate:
    if limit.day_type == "working":
        return calendar.add_working_days(start, limit.days + extra_days)
    return calendar.add_days(start, limit.days + extra_days)


def _clock(step: str, label: str, kind: str, basis: str, start: date, due: DueDate,
           stopped: date | None, today: date) -> Clock:
    reference = stopped or today
    return Clock(step=step, label=label, kind=kind, basis=basis, started_on=start, due=due.due,
                 provisional=due.provisional, stopped_on=stopped,
                 days_late=max(0, (reference - due.due).days))


def case_clocks(case: Case, limits: Iterable[TimeLimit], calendar: WorkingCalendar, today: date) -> list[Clock]:
    """Every running or stopped clock of ``case`` as seen on ``today``."""
    result: list[Clock] = []
    for limit in limits:
        if limit.kind == "window" or (limit.first_time_only and case.repeat_of is not None):
            continue
        start = getattr(case, limit.starts)
        if start is None:
            continue
        extra = (case.extension_days if limit.extendable else 0) + (
            case.rereview_hearing_days if limit.paused_by_hearing else 0
        )
        stopped = next((d for d in (getattr(case, m) for m in limit.stops) if d is not None), None)
        due = due_date(limit, start, calendar, extra)
        result.append(_clock(limit.step, limit.label, limit.kind, limit.basis, start, due, stopped, today))
    if case.report_due is not None and case.routed_on is not None:
        stopped = case.decided_on or case.refused_on or case.concluded_on
        due = DueDate(due=case.report_due, provisional=False)
        result.append(_clock("report", "交办事项报告结果", "duty", "C22 第22条第3款", case.routed_on, due, stopped, today))
    for order in case.supervision:
        due = DueDate(due=order.reply_due, provisional=False)
        result.append(_clock(f"supervision:{order.order}", "答复督办", "duty", "C22 第40条",
                             order.ordered_on, due, order.answered_on, today))
    return result


def owner(case: Case, clock: Clock) -> str:
    """The unit that owed a deadline: the registering unit while routing, the unit a supervision
    order went to for that order's clock, otherwise the unit holding the case."""
    if clock.step == "route":
        return case.registered_by
    if clock.step.startswith("supervision:"):
        order = clock.step.split(":", 1)[1]
        return next((s.to_unit for s in case.supervision if s.order == order), case.registered_by)
    return case.current_unit or case.registered_by
