"""Report helpers: ratios, inputs, reading clocks on the reference day, and naming differences."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ledger.appraisal import differences
from ledger.errors import InvalidInput
from ledger.facts import parse_period
from ledger.projections.export import percent
from ledger.projections.reports import Inputs, bucket, period_of, ratio
from schemas.reports import Parameters
from schemas.rules import Clock


def test_a_ratio_splits_its_denominator_into_the_counted_cases_and_the_rest() -> None:
    r = ratio(["b", "a"], ["c", "a", "b", "a"])
    assert (r.numerator, r.denominator, r.value, r.cases, r.others) == (2, 3, 0.666667, ["a", "b"], ["c"])
    empty = ratio([], [])
    assert empty.value is None and empty.denominator == 0


@pytest.mark.parametrize(("value", "text"), [(214 / 225, "95.11%"), (0.96, "96%"), (385 / 403, "95.53%"),
                                             (1.0, "100%"), (0.0, "0%"), (None, "—")])
def test_percentages_print_as_the_seed_reports_do(value: float | None, text: str) -> None:
    assert percent(value) == text


def test_thresholds_below_what_the_projection_keeps_are_refused() -> None:
    with pytest.raises(InvalidInput, match="24"):
        Inputs(period=parse_period("2021"), parameters=Parameters(backfill_hours=12))
    with pytest.raises(InvalidInput):
        Inputs(period=parse_period("2021"), parameters=Parameters(handoff_limit=0))


def test_a_period_is_named_once() -> None:
    with pytest.raises(InvalidInput, match="二选一"):
        period_of("2021", date(2021, 1, 1), None)
    with pytest.raises(InvalidInput, match="早于"):
        period_of(None, date(2021, 5, 1), date(2021, 4, 1))
    assert period_of(None, date(2021, 1, 1), date(2021, 6, 30)).end == date(2021, 6, 30)


def test_the_reference_day_is_the_period_end_or_an_earlier_as_of() -> None:
    from datetime import datetime

    from ledger.domain.case import CHINA

    period = parse_period("2021")
    assert Inputs(period=period).reference_day("indicators") == date(2021, 12, 31)
    early = Inputs(period=period, as_of=datetime(2021, 6, 1, 12, tzinfo=CHINA))
    assert early.reference_day("indicators") == date(2021, 6, 1) == early.reference_day("board")


def test_a_clock_falls_in_one_bucket_as_seen_on_the_reference_day() -> None:
    due = date(2021, 5, 1)

    def clock(stopped: date | None) -> Clock:
        return Clock(step="accept", label="受理", kind="duty", basis="C22", started_on=due - timedelta(days=15),
                     due=due, provisional=False, stopped_on=stopped, days_late=0)

    assert bucket(clock(due), due) == "on_time"
    assert bucket(clock(due + timedelta(days=1)), due + timedelta(days=9)) == "late"
    assert bucket(clock(None), due + timedelta(days=1)) == "open_overdue"
    assert bucket(clock(None), due) == "open_pending"


def test_differences_name_rows_by_their_key_not_their_position() -> None:
    recorded = {"units": [{"unit": "a", "n": 1}, {"unit": "b", "n": 2}]}
    derived = {"units": [{"unit": "b", "n": 3}, {"unit": "c", "n": 0}, {"unit": "a", "n": 1}]}
    found = {d.path: (d.recorded, d.derived) for d in differences(recorded, derived)}
    assert found == {"units[unit=b].n": (2, 3), "units[unit=c]": (None, {"unit": "c", "n": 0})}
