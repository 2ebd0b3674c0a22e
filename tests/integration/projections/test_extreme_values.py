"""Every fold, report and file survives every event validation lets in.

One accepted command once broke the reports for good (a business time in year 1, then
``OverflowError`` in the 补录 fold for everyone), and one accepted subject broke every XLSX export
(a control character). Here hypothesis writes commands at the edges of what the decoder and the
ledger accept — the earliest business time, times in far-off zones, entries recorded decades late,
the longest subjects and notes in any printable script, formula-like text, the largest counts —
decodes them as a client would send them, and drives the accepted ones through the projections,
all three reports and the awards, as JSON, CSV and XLSX.
"""

from __future__ import annotations

import io
import json
import tempfile
from datetime import date, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from ledger.awards import award_report
from ledger.domain.case import CHINA
from ledger.domain.times import EARLIEST
from ledger.errors import LedgerError
from ledger.inputs import decode_command
from ledger.projections.export import csv_bytes, xlsx_bytes
from ledger.projections.reports import Inputs, make_report, period_of
from schemas.commands import COMMANDS_BY_NAME
from support.county import ADMIN
from support.projections import County

NOW = datetime(2026, 12, 31, 23, 0, tzinfo=CHINA)
"""The server clock: the last year the official holiday schedules cover."""

printable = st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\u2028\u2029")
line = st.text(printable, min_size=1, max_size=100) | st.sampled_from(
    ['=HYPERLINK("http://example.invalid","点此")', "+1", "-1", "@A1", "#N/A", "'", '"', "\u202e反向"])
text = st.text(printable | st.sampled_from("\t\n"), max_size=2000)
code_chars = st.sampled_from("0123456789ABCZabcz_.-")
code = st.text(code_chars, min_size=1, max_size=64)
case_number = st.text(st.sampled_from("0123456789AZaz_-"), min_size=1, max_size=40)
zone = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


@st.composite
def moment(draw: st.DrawFn, after: datetime = EARLIEST) -> datetime:
    """A business time between ``after`` and the clock, in any zone a client may state."""
    span = int((NOW - after).total_seconds())
    edge = draw(st.sampled_from([0, span, None]))
    seconds = edge if edge is not None else draw(st.integers(0, span))
    return (after + timedelta(seconds=seconds)).astimezone(draw(zone))


def stamp(value: datetime) -> str:
    return value.isoformat()


@st.composite
def story(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Commands as JSON objects: a case with a few moves, a unit, a reception, an incident, a letter."""
    number = draw(case_number)
    township = draw(code)
    at = draw(moment())
    lines: list[dict[str, Any]] = [
        {"type": "RegisterUnit", "command_id": "u-1", "occurred_at": stamp(draw(moment())), "code": township,
         "name": draw(line), "kind": "乡镇", "parent": "county", "township_class": "一类"},
        {"type": "RegisterPetition", "command_id": "c-1", "occurred_at": stamp(at), "number": number,
         "channel": draw(st.sampled_from(["网上", "来信", "来电", "传真", "来访"])), "subject": draw(line),
         "summary": draw(text), "home_township": township, "petitioners": draw(st.lists(code, max_size=3)),
         "persons": draw(st.sampled_from([1, 100_000])), "flags": draw(st.lists(st.sampled_from(
             ["集体", "越级", "非正常", "涉法涉诉", "检举", "紧急"]), max_size=3, unique=True))},
    ]
    for i, step in enumerate(["ForwardCase", "AcceptCase", "RecordInvestigation", "IssueDecision", "ServeDecision",
                              "RateSatisfaction", "ConcludeCase"][:draw(st.integers(0, 7))]):
        at = draw(moment(after=at))
        lines.append({"type": step, "command_id": f"m-{i}", "occurred_at": stamp(at), "case": number,
                      "to_unit": township, "note": draw(text), "outcome": "支持", "method": "直接送达",
                      "receipt": "签收", "party": "责任单位", "rating": "不满意"})
    day = at.astimezone(CHINA).date()
    lines += [
        {"type": "OrderSupervision", "command_id": "s-1", "occurred_at": stamp(at), "case": number,
         "order": draw(code), "to_unit": township, "note": draw(text),
         "reply_due": (day + timedelta(days=draw(st.sampled_from([0, 366])))).isoformat()},
        {"type": "HoldLeaderReception", "command_id": "r-1", "occurred_at": stamp(draw(moment())),
         "session": draw(code), "leader": "leader-1", "unit": township, "batches": 100_000, "persons": 100_000,
         "answered_on_spot": 100_000, "referred": 100_000},
        {"type": "RecordIncident", "command_id": "i-1", "occurred_at": stamp(draw(moment())), "incident": draw(code),
         "kind": draw(st.sampled_from(["越级", "集体", "非正常", "极端"])), "level": "京", "persons": 100_000,
         "township": township, "case": number, "note": draw(text)},
        {"type": "IssueRecommendation", "command_id": "l-1", "occurred_at": stamp(at), "letter": draw(code),
         "kind": "问责建议函", "to_unit": township, "reply_due": day.isoformat(), "cases": [number],
         "note": draw(text)},
    ]
    return lines


def without_unknown_fields(command: dict[str, Any]) -> bytes:
    """The JSON a client sends: only the fields its command type has (the story lists extras freely)."""
    known = set(COMMANDS_BY_NAME[command["type"]].__struct_fields__) | {"type"}
    return json.dumps({k: v for k, v in command.items() if k in known}, ensure_ascii=False).encode()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(story())
def test_accepted_extremes_fold_report_and_export_without_a_crash(lines: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        county = County(f"sqlite:///{directory}/ledger.sqlite3")
        try:
            county.now = NOW
            commands = [decode_command(without_unknown_fields(c)) for c in lines]  # all valid input
            accepted = [o for o in county.ledger.execute_many(commands, ADMIN) if not isinstance(o, LedgerError)]
            assert accepted, "the story's registration of a unit is always accepted"
            projector = county.projector()
            projector.catch_up()
            period = period_of(None, EARLIEST.date(), NOW.date())
            for name in ("board", "accountability", "indicators"):
                for as_of in (None, NOW):
                    report = make_report(projector, name, Inputs(period=period, as_of=as_of))
                    assert csv_bytes(report).startswith(b"\xef\xbb\xbf")
                    book = load_workbook(io.BytesIO(xlsx_bytes(report)))
                    assert book.sheetnames[0] == "依据"
            awards = award_report(projector, period_of(None, date(1996, 1, 1), NOW.date()))
            assert awards.tree_size == county.size()
        finally:
            county.close()
