"""The two times of every figure, as people give them: the period (business time) and ``as_of``.

- the **period** is business time: an incident belongs to 2021 if it *occurred* in 2021;
- ``as_of`` is knowledge time: only events *recorded* at or before it count. Recording
  times never decrease along the log, so that is a prefix of the log (DESIGN.md
  "Projections, replay, appraisal").

The facts plugins judge are read from the reports' own state
(:func:`ledger.projections.facts.period_facts`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from ledger.domain.case import CHINA
from ledger.errors import InvalidInput
from schemas.facts import Period

__all__ = ["EXCLUDED_FROM_RATES", "parse_as_of", "parse_period"]

EXCLUDED_FROM_RATES = "涉法涉诉"
"""Items with this flag are left out of the acceptance and satisfaction rates (domain §4), and so
out of every award that judges satisfaction."""

_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


def parse_period(text: str) -> Period:
    """``2021`` (a year), ``2021-03`` (a month) or ``2021-01-01..2021-06-30`` (days, both included)."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}", text):
            year = int(text)
            return Period(label=f"{year}年", start=date(year, 1, 1), end=date(year, 12, 31))
        if re.fullmatch(r"\d{4}-\d{2}", text):
            year, month = map(int, text.split("-"))
            start = date(year, month, 1)
            end = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
            return Period(label=f"{year}年{month}月", start=start, end=end)
        match = _RANGE.match(text)
        if match:
            start, end = date.fromisoformat(match[1]), date.fromisoformat(match[2])
            if end >= start:
                return Period(label=f"{start.isoformat()}至{end.isoformat()}", start=start, end=end)
    except ValueError:
        pass
    raise InvalidInput(
        f"考核期 {text!r} 无效：应为 2021（年）、2021-03（月）或 2021-01-01..2021-06-30（起止日期）",
        code="bad_period",
    )


def parse_as_of(text: str) -> datetime:
    """An RFC 3339 time with its zone, or a day (``2022-01-15``: the end of that day in China)."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), time.max, CHINA)
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(
            f"as-of 时间 {text!r} 无效：应为带时区的时间（2022-01-15T18:00:00+08:00）或日期（2022-01-15）",
            code="bad_as_of",
        )
    try:
        moment.astimezone(CHINA)
    except OverflowError:
        raise InvalidInput(f"as-of 时间 {text!r} 超出可表示的范围", code="bad_as_of") from None
    return moment
