"""Sane business times: the bounds every stated time and due date must keep.

Business times come from people and other systems, and every fold, report and export computes
with them (days late, business days in China, spreadsheet cells). Bounds keep that arithmetic
inside what dates can hold, whatever a client sends: ``0001-01-01T00:00+08:00`` is refused here
instead of breaking the reports of everyone who reads the ledger afterwards.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ledger.domain.case import CHINA, business_day
from schemas import events as ev

EARLIEST = datetime(1996, 1, 1, tzinfo=CHINA)
"""No business time before 1996-01-01: the first national 《信访条例》 (国务院令第185号) took effect that
day, so no 信访事项 handled under it, or under its successors, happened earlier."""

LONGEST_TERM = timedelta(days=366)
"""A due date set in an event (交办 report, 督办 or 三函一单 reply) lies no more than a year after the
order: the longest statutory period, an extended decision, is far shorter. (A due date before the
order is a question for the rules, not a bound: entered late, an order can carry an earlier date.)"""


def _day(moment: datetime) -> str:
    return f"{moment.astimezone(CHINA):%Y-%m-%d %H:%M}"


def time_refusal(occurred_at: datetime, event: ev.Event, now: datetime) -> str | None:
    """Why the times of ``event``, stated to have happened at ``occurred_at``, are not sane; None when they are."""
    if occurred_at < EARLIEST:
        return (f"发生时间 {occurred_at.isoformat()} 早于 {EARLIEST:%Y-%m-%d}：首部《信访条例》（国务院令第185号）"
                "自该日施行，此前没有可登记的信访事项")
    corrected = getattr(event, "corrected_occurred_at", None)
    if isinstance(corrected, datetime):
        if corrected < EARLIEST:
            return f"更正后的发生时间 {corrected.isoformat()} 早于 {EARLIEST:%Y-%m-%d}（首部《信访条例》施行之日）"
        if corrected > now:
            return f"更正后的发生时间 {_day(corrected)} 晚于当前时间：不能登记尚未发生的事"
    day = business_day(occurred_at)
    for field in ("report_due", "reply_due"):
        due = getattr(event, field, None)
        if isinstance(due, date) and not EARLIEST.date() <= due <= day + LONGEST_TERM:
            return (f"期限 {field}={due.isoformat()} 应在 {EARLIEST:%Y-%m-%d} 之后、下达之日（{day.isoformat()}）"
                    f"起一年之内（{(day + LONGEST_TERM).isoformat()}）")
    return None
