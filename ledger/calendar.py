"""工作日历：计算法定期限的到期日。

Working-day calendar for the statutory time limits of 《信访工作条例》 (C22): most limits count
natural days, the jurisdiction objection counts working days (C22 art 23). Working days follow the
State Council holiday schedule, 调休 make-up workdays included.

Where the schedules come from: the ``chinese_calendar`` package carries the official schedules it
was released with (2004-2026 in 1.11.0); a county loads later ones with
:meth:`WorkingCalendar.with_schedule`. A year no schedule covers is counted Monday to Friday and every
result that depended on it is flagged ``provisional``: a deadline is always computable, but never
passed off as final before the official schedule is known.

Counting rules (《民法典》第二百零一条、第二百零三条; the same rule as 《民事诉讼法》 for 期间):

- 期间开始的当日不计入: counting starts on the day after ``start`` (the receipt day does not count).
- 期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日. "法定休假日" is read as
  every rest day of the official schedule — 法定节假日 and the weekly 公休日 alike — so a natural-day
  deadline that ends on any rest day moves to the next working day, while a 调休 Saturday or Sunday
  is a working day and does not move. Working-day periods end on a working day by construction.

Each year is held as a prefix-count table (366 small integers), built once per process for the
package's years and once per calendar for loaded ones: lookups are O(1) and a deadline of any
length costs one bisection per year it spans.
"""

from __future__ import annotations

import operator
import types
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

import chinese_calendar
import msgspec

__all__ = ["DueDate", "WorkingCalendar"]


class DueDate(msgspec.Struct, frozen=True):
    """期限届满日：a computed deadline.

    ``provisional`` is True when a day the computation looked at lies in a year no official
    schedule covers (counted Monday to Friday): recompute once that year's schedule is loaded.
    """

    due: date
    provisional: bool


class _Year(NamedTuple):
    """One year: ``prefix[i]`` = working days among the year's first ``i`` days."""

    first: int  # ordinal of 1 January
    prefix: array
    known: bool  # an official schedule covers this year


def _build_year(year: int, is_workday: Callable[[date], bool], known: bool) -> _Year:
    first = date(year, 1, 1).toordinal()
    length = date(year + 1, 1, 1).toordinal() - first if year < 9999 else 365
    prefix = array("H", [0])
    count = 0
    for i in range(length):
        count += bool(is_workday(date.fromordinal(first + i)))
        prefix.append(count)
    return _Year(first, prefix, known)


@lru_cache(maxsize=None)
def _package_year(year: int) -> _Year:
    """The package's official schedule for ``year``, or Monday to Friday if it has none."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return _build_year(year, lambda d: d.weekday() < 5, known=False)
    return _build_year(year, chinese_calendar.is_workday, known=True)


def _as_date(value: Any) -> date:
    # A datetime is refused rather than truncated: its calendar day depends on the time zone,
    # and the ledger's timestamps are UTC while deadlines are counted in China Standard Time.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"期限计算只接受日期（datetime.date），收到 {type(value).__name__}；请先换算为北京时间的日期")
    return value


def _check_count(n: int) -> int:
    n = operator.index(n)  # an int; 1.5 days is a caller's bug
    if n < 0:
        raise ValueError(f"期间天数不能为负数：{n}")
    return n


class _either_method:
    """Lets ``WorkingCalendar.with_schedule(...)`` work on the class (extending the default calendar)
    as well as on an instance (extending that calendar)."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.__doc__ = func.__doc__

    def __get__(self, obj: Any, owner: type) -> Callable[..., Any]:
        return types.MethodType(self.func, obj if obj is not None else owner())


class WorkingCalendar:
    """工作日历：official holiday schedules plus the counting rules of statutory periods.

    Immutable: :meth:`with_schedule` returns a new calendar. Safe to share between threads.
    """

    __slots__ = ("_loaded", "_years")

    def __init__(self) -> None:
        self._loaded: dict[int, _Year] = {}
        self._years: dict[int, _Year] = {}

    # ── schedules ────────────────────────────────────────────────────────────

    @_either_method
    def with_schedule(
        self, holidays: Iterable[date], workdays: Iterable[date], years: Iterable[int]
    ) -> WorkingCalendar:
        """载入放假安排：a calendar that also knows ``years`` from an official schedule.

        ``holidays`` are the rest days of the published schedule (weekends inside a holiday may be
        listed or not), ``workdays`` the 调休 make-up workdays; every other Monday-Friday is a
        working day. The loaded schedule is authoritative for the years it names, also over the
        package's own. Dates outside ``years``, or in both lists, are refused: they would otherwise
        be silently ignored or contradictory.
        """
        year_set = frozenset(operator.index(y) for y in years)
        if not year_set:
            raise ValueError("放假安排必须注明适用年份")
        rest = frozenset(_as_date(d) for d in holidays)
        work = frozenset(_as_date(d) for d in workdays)
        if both := sorted(rest & work):
            raise ValueError(f"同一日期不能既是放假日又是调休上班日：{both[0].isoformat()}")
        if outside := sorted(d for d in rest | work if d.year not in year_set):
            raise ValueError(
                f"日期 {outside[0].isoformat()} 不在所载入的年份 {sorted(year_set)} 之内"
            )

        def is_workday(d: date) -> bool:
            return d in work or (d.weekday() < 5 and d not in rest)

        calendar = WorkingCalendar()
        calendar._loaded = dict(self._loaded)
        for year in year_set:
            calendar._loaded[year] = _build_year(year, is_workday, known=True)
        return calendar

    def _year(self, year: int) -> _Year:
        table = self._years.get(year)
        if table is None:
            table = self._loaded.get(year) or _package_year(year)
            self._years[year] = table
        return table

    def is_known(self, d: date) -> bool:
        """Whether an official schedule covers the year of ``d``."""
        return self._year(_as_date(d).year).known

    def is_workday(self, d: date) -> bool:
        """工作日：whether ``d`` is a working day (a 调休 weekend day is; a holiday weekday is not)."""
        table = self._year(_as_date(d).year)
        i = d.toordinal() - table.first
        return table.prefix[i + 1] != table.prefix[i]

    # ── periods ──────────────────────────────────────────────────────────────

    def add_working_days(self, start: date, n: int) -> DueDate:
        """``n`` 个工作日: the ``n``-th working day after ``start`` (``start`` itself not counted).

        ``n == 0`` gives ``start`` unchanged.
        """
        n = _check_count(n)
        if n == 0:
            return DueDate(_as_date(start), provisional=False)
        year = _as_date(start).year
        table = self._year(year)
        pos = start.toordinal() - table.first + 1  # prefix index just after start
        provisional = False
        target = table.prefix[pos] + n
        while target > table.prefix[-1]:
            if pos < len(table.prefix) - 1 and not table.known:
                provisional = True  # days of this year after start were counted
            target -= table.prefix[-1]
            year += 1
            table = self._year(year)
            pos = 0
        provisional = provisional or not table.known
        return DueDate(date.fromordinal(table.first + bisect_left(table.prefix, target) - 1), provisional)

    def add_days(self, start: date, n: int) -> DueDate:
        """``n`` 日 (natural days): ``start + n``; if that day is a rest day (holiday or weekend that
        is not a 调休 workday), the period ends on the first working day after it (《民法典》第二百零三条).

        ``n == 0`` gives ``start`` unchanged.
        """
        n = _check_count(n)
        due = _as_date(start) + timedelta(days=n)
        if n == 0:
            return DueDate(due, provisional=False)
        provisional = not self._year(due.year).known
        if self.is_workday(due):
            return DueDate(due, provisional)
        moved = self.add_working_days(due, 1)
        return DueDate(moved.due, provisional or moved.provisional)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in ``(a, b]``: after ``a``, up to and including ``b``; negative if ``b < a``.

        The inverse of :meth:`add_working_days`: ``working_days_between(d, add_working_days(d, n).due) == n``.
        """
        if _as_date(b) < _as_date(a):
            return -self.working_days_between(b, a)
        ta, tb = self._year(a.year), self._year(b.year)
        upto_a = ta.prefix[a.toordinal() - ta.first + 1]
        upto_b = tb.prefix[b.toordinal() - tb.first + 1]
        if a.year == b.year:
            return upto_b - upto_a
        middle = sum(self._year(y).prefix[-1] for y in range(a.year + 1, b.year))
        return ta.prefix[-1] - upto_a + middle + upto_b
