"""Clocks: the time limits of the rules applied to one case.

A clock starts on a case milestone, stops on the first of its stop milestones reached on or
after its start, and is due after its days (natural or working, per the calendar), plus an
approved extension or re-review hearing days where the limit says so. Deadlines set by an
event (交办 report, 督办 reply) are clocks too.

The law changes: a step may have several versions (:attr:`TimeLimit.effective_from`), and a
clock follows the version in force on the day it starts — an acceptance clock started in
April 2022 runs under the 2005 《信访条例》, one started in May 2022 under the 2022
《信访工作条例》 — and cites it. ``Versions`` maps each step to its candidate versions, most
specific first (a local plugin's before the national baseline's, each plugin's newest first);
the first whose ``effective_from`` is on or before its own start day applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import msgspec

from ledger.calendar import DueDate, WorkingCalendar
from ledger.domain.case import Case
from schemas.rules import Clock, TimeLimit

Versions = Mapping[str, Sequence[TimeLimit]]
"""Step → candidate versions, most specific first."""

EVENT_DEADLINE_BASIS: dict[str, tuple[tuple[date, str], ...]] = {
    "report": ((date(2022, 5, 1), "《信访工作条例》第22条第3款"), (date(2005, 5, 1), "《信访条例》第21条第1款第（四）项")),
    "supervision": ((date(2022, 5, 1), "《信访工作条例》第40条"), (date(2005, 5, 1), "《信访条例》第36条")),
}
"""Deadlines an event sets (交办 report, 督办 reply) cite the law in force on the day they were set, newest first."""


def by_step(limits: Iterable[TimeLimit]) -> dict[str, list[TimeLimit]]:
    """One plugin's (or one list's) limits as :data:`Versions`: each step's versions, newest first."""
    steps: dict[str, list[TimeLimit]] = {}
    for limit in limits:
        steps.setdefault(limit.step, []).append(limit)
    for versions in steps.values():
        versions.sort(key=lambda v: v.effective_from or date.min, reverse=True)
    return steps


def in_force(versions: Sequence[TimeLimit], case: Case) -> tuple[TimeLimit, date] | None:
    """The version that applies to ``case`` and the day its clock starts; None when none does
    (the milestone is not reached, the item is a repeat and the limit is for first-time items
    only, or no version was in force on the start day)."""
    for limit in versions:
        if limit.first_time_only and case.repeat_of is not None:
            continue
        start = getattr(case, limit.starts)
        if start is not None and (limit.effective_from is None or limit.effective_from <= start):
            return limit, start
    return None


def due_date(limit: TimeLimit, start: date, calendar: WorkingCalendar, extra_days: int = 0) -> DueDate:
    if limit.day_type == "working":
        return calendar.add_working_days(start, limit.days + extra_days)
    return calendar.add_days(start, limit.days + extra_days)


def _clock(step: str, label: str, kind: str, basis: str, start: date, due: DueDate,
           stopped: date | None, today: date) -> Clock:
    reference = stopped or today
    late = 0 if kind == "window" else max(0, (reference - due.due).days)
    return Clock(step=step, label=label, kind=kind, basis=basis, started_on=start, due=due.due,
                 provisional=due.provisional, stopped_on=stopped, days_late=late)


def limit_clock(limit: TimeLimit, start: date, case: Case, calendar: WorkingCalendar, today: date) -> Clock:
    """``limit`` applied to ``case`` from ``start``, as seen on ``today``.

    A window never runs late: it closes on its due day (``stopped_on`` is the day it was
    used, e.g. the objection raised); a request after it is refused when it is made.
    """
    extra = (case.extension_days if limit.extendable else 0) + (
        case.rereview_hearing_days if limit.paused_by_hearing else 0
    )
    stopped = next((d for d in (getattr(case, m) for m in limit.stops) if d is not None and d >= start), None)
    due = due_date(limit, start, calendar, extra)
    return _clock(limit.step, limit.label, limit.kind, limit.basis, start, due, stopped, today)


def event_basis(kind: str, day: date) -> str:
    table = EVENT_DEADLINE_BASIS[kind]
    return next((basis for since, basis in table if since <= day), table[-1][1])


def seen_on(clock: Clock, day: date) -> Clock:
    """``clock`` (computed with ``today=day``) as a period reads it on its reference ``day``.

    A stop after ``day`` does not count yet while the clock is not due by then (it is open,
    not late). A step due on or before ``day`` and done after it is late in the period where
    it fell due, by the days it really took — not open there and missing from the next period.
    """
    if clock.stopped_on is None or clock.stopped_on <= day or clock.due <= day:
        return clock
    return msgspec.structs.replace(clock, stopped_on=None, days_late=0)


def case_clocks(case: Case, versions: Versions, calendar: WorkingCalendar, today: date) -> list[Clock]:
    """Every running or stopped clock of ``case`` as seen on ``today`` (windows excluded)."""
    result: list[Clock] = []
    for candidates in versions.values():
        found = in_force(candidates, case)
        if found is None or found[0].kind == "window":
            continue
        result.append(limit_clock(found[0], found[1], case, calendar, today))
    if case.report_due is not None and case.routed_on is not None:
        stopped = case.decided_on or case.refused_on or case.concluded_on
        due = DueDate(due=case.report_due, provisional=False)
        result.append(_clock("report", "交办事项报告结果", "duty", event_basis("report", case.routed_on),
                             case.routed_on, due, stopped, today))
    for order in case.supervision:
        due = DueDate(due=order.reply_due, provisional=False)
        result.append(_clock(f"supervision:{order.order}", "答复督办", "duty", event_basis("supervision", order.ordered_on),
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
def case_windows(case: Case, versions: Versions, calendar: WorkingCalendar, today: date) -> list[Clock]:
    """The case's request windows (管辖异议, 复查 and 复核 requests) that have opened, as seen on ``today``."""
    result = []
    for candidates in versions.values():
        found = in_force(candidates, case)
        if found is not None and found[0].kind == "window":
            result.append(limit_clock(found[0], found[1], case, calendar, today))
    return result
