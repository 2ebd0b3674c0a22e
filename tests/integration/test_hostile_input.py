"""Hostile input through the one import path: every bad line is refused with a stable code and a
Chinese reason, the good lines around it are written, and a refused line leaves the ledger unchanged.

Each bad value here was once accepted (or crashed the server): extreme business times that broke
every report afterwards, control characters that broke every XLSX export, look-alike identifiers
with a trailing newline, text in the encodings Chinese Windows writes, JSON nested past the
decoder's depth, and a review request on a case that never had a decision served.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.errors import InvalidInput
from ledger.imports import import_lines
from schemas.imports import ImportReport
from support.county import ADMIN

REGISTERED = "2021-03-01T09:00:00+08:00"
CASE = {"type": "RegisterPetition", "command_id": "reg-1", "occurred_at": REGISTERED, "channel": "来访",
        "subject": "土地征收补偿", "home_township": "town-a", "petitioners": ["P-0001"], "number": "2021-000011"}
FORWARD = {"type": "ForwardCase", "command_id": "fwd-1", "occurred_at": "2021-03-02T09:00:00+08:00",
           "case": "2021-000011", "to_unit": "town-a"}


def line(value: Any) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(value, ensure_ascii=False).encode()


def apply(ledger: Ledger, *lines: Any) -> ImportReport:
    """The lines as one JSONL batch, through the import path ``xinfang apply`` and the API share."""
    data = b"\n".join(line(value) for value in lines) + b"\n"
    return import_lines(data, lambda commands, batch: ledger.execute_many(commands, ADMIN, batch=batch))


def size(ledger: Ledger) -> int:
    return int(ledger.recorder.tree_size())  # type: ignore[attr-defined]


def with_(base: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**base, "command_id": f"{base['command_id']}-{abs(hash(repr(fields))) % 10**8}", **fields}


def refused_alone(ledger: Ledger, bad: Any, code: str, words: str) -> None:
    """``bad`` is refused with ``code`` and a reason containing ``words``; nothing is written."""
    before = size(ledger)
    report = apply(ledger, bad)
    assert report.applied == 0 and report.repeated == 0, report
    assert [(r.line, r.code) for r in report.refused] == [(1, code)], report
    assert words in report.refused[0].message, report.refused[0].message
    assert size(ledger) == before


# ── 1. Business times inside sane bounds ─────────────────────────────────────

TIME_BOUNDS = [
    pytest.param(with_(CASE, occurred_at="0001-01-01T00:00:00+08:00", number="2021-000021"), "1996-01-01",
                 id="year-1"),
    pytest.param(with_(CASE, occurred_at="1995-12-31T23:59:59+08:00", number="2021-000022"), "1996-01-01",
                 id="a-second-before-1996-in-china"),
    pytest.param(with_(CASE, occurred_at="1996-01-01T00:00:00+08:01", number="2021-000023"), "1996-01-01",
                 id="1996-by-its-stated-zone-but-1995-in-china"),
]


@pytest.mark.parametrize(("bad", "words"), TIME_BOUNDS)
def test_a_business_time_before_the_first_petition_regulation_is_refused(ledger: Ledger, bad: dict[str, Any],
                                                                          words: str) -> None:
    refused_alone(ledger, bad, "rule_violation", words)


def test_the_first_moment_of_1996_in_china_is_accepted(ledger: Ledger) -> None:
    report = apply(ledger, with_(CASE, occurred_at="1996-01-01T00:00:00+08:00", number="1996-000001"))
    assert (report.applied, report.refused) == (1, [])


DUE_AND_CORRECTION = [
    pytest.param({"type": "CorrectEvent", "command_id": "fix-1", "occurred_at": "2021-02-28T09:00:00+08:00",
                  "case": "2021-000011", "corrects_version": 1, "reason": "登记有误"}, "登记之日", id="correction-before-registration"),
    pytest.param({"type": "CorrectEvent", "command_id": "fix-2", "occurred_at": "2021-03-03T09:00:00+08:00",
                  "case": "2021-000011", "corrects_version": 1, "reason": "登记有误",
                  "corrected_occurred_at": "0001-01-01T00:00:00+08:00"}, "1996-01-01", id="corrected-to-year-1"),
    pytest.param({"type": "CorrectEvent", "command_id": "fix-3", "occurred_at": "2021-03-03T09:00:00+08:00",
                  "case": "2021-000011", "corrects_version": 1, "reason": "登记有误",
                  "corrected_occurred_at": "2099-01-01T00:00:00+08:00"}, "晚于当前时间", id="corrected-to-the-future"),
    pytest.param({"type": "OrderSupervision", "command_id": "db-1", "occurred_at": "2021-03-03T09:00:00+08:00",
                  "case": "2021-000011", "order": "DB-1", "to_unit": "town-a", "reply_due": "9999-12-31"},
                 "一年之内", id="reply-due-in-9999"),
    pytest.param({"type": "OrderSupervision", "command_id": "db-2", "occurred_at": "2021-03-03T09:00:00+08:00",
                  "case": "2021-000011", "order": "DB-2", "to_unit": "town-a", "reply_due": "1995-12-31"},
                 "1996-01-01", id="reply-due-before-1996"),
    pytest.param({"type": "IssueRecommendation", "command_id": "l-1", "occurred_at": "2021-03-03T09:00:00+08:00",
                  "letter": "L-1", "kind": "改进工作建议函", "to_unit": "town-a", "reply_due": "0001-01-01"},
                 "1996-01-01", id="letter-due-in-year-1"),
]


@pytest.mark.parametrize(("bad", "words"), DUE_AND_CORRECTION)
def test_due_dates_and_corrected_times_stay_within_the_case_and_a_year(ledger: Ledger, bad: dict[str, Any],
                                                                        words: str) -> None:
    assert apply(ledger, CASE, FORWARD).applied == 2
    refused_alone(ledger, bad, "rule_violation", words)


def test_a_due_date_a_year_and_a_day_after_the_order_is_the_last_accepted(ledger: Ledger) -> None:
    assert apply(ledger, CASE, FORWARD).applied == 2
    order = {"type": "OrderSupervision", "command_id": "db-9", "occurred_at": "2021-03-03T09:00:00+08:00",
             "case": "2021-000011", "order": "DB-9", "to_unit": "town-a", "reply_due": "2022-03-04"}
    assert apply(ledger, order).applied == 1  # 2021-03-03 + 366 days
    refused_alone(ledger, {**order, "command_id": "db-10", "order": "DB-10", "reply_due": "2022-03-05"},
                  "rule_violation", "一年之内")


# ── 2 and 4. Control characters and look-alike identifiers ───────────────────

TEXT_AND_CODES = [
    *(pytest.param(with_(CASE, subject=f"土地{ch}补偿", number="2021-000031"), "一行文字", id=f"subject-{name}")
      for name, ch in (("soh", "\u0001"), ("nul", "\u0000"), ("esc", "\u001b"), ("del", "\u007f"),
                       ("nel", "\u0085"), ("c1-end", "\u009f"), ("tab", "\t"), ("newline", "\n"), ("cr", "\r"))),
    *(pytest.param(with_(CASE, summary=f"情况{ch}说明", number="2021-000032"), "控制字符", id=f"summary-{name}")
      for name, ch in (("soh", "\u0001"), ("vt", "\u000b"), ("cr", "\r"), ("nel", "\u0085"), ("del", "\u007f"))),
    pytest.param(with_(CASE, number="2021-000011\n"), "不含空格或换行", id="case-number-with-a-newline"),
    pytest.param(with_(CASE, number="2021-000033", home_township="town-a\n"), "不含空格或换行", id="unit-with-a-newline"),
    pytest.param(with_(CASE, number="2021-000034", petitioners=["P-0001\n"]), "不含空格或换行",
                 id="petitioner-with-a-newline"),
    pytest.param(with_(CASE, number="2021-000035", command_id="reg-35\n"), "不含空格或换行", id="command-id-with-a-newline"),
    pytest.param(with_(FORWARD, case="2021-000011\n"), "不含空格或换行", id="case-reference-with-a-newline"),
    pytest.param(with_(FORWARD, to_unit="town-a\n"), "不含空格或换行", id="target-unit-with-a-newline"),
]


@pytest.mark.parametrize(("bad", "words"), TEXT_AND_CODES)
def test_control_characters_and_look_alike_codes_are_refused(ledger: Ledger, bad: dict[str, Any], words: str) -> None:
    assert apply(ledger, CASE).applied == 1
    refused_alone(ledger, bad, "invalid_command", words)


def test_multi_line_text_keeps_its_tabs_and_newlines(ledger: Ledger) -> None:
    report = apply(ledger, with_(CASE, summary="第一行\n\t第二行"))
    assert (report.applied, report.refused) == (1, [])
    assert ledger.timeline("2021-000011")[0].event.summary == "第一行\n\t第二行"  # type: ignore[attr-defined]


# ── 3. Encodings and nesting: per-line errors, good lines still written ──────


def test_gbk_bom_bad_utf8_and_deep_nesting_are_per_line_errors_and_the_good_lines_are_written(ledger: Ledger) -> None:
    before = size(ledger)
    report = apply(
        ledger,
        codecs.BOM_UTF8 + line(CASE),  # what Notepad writes as "UTF-8": accepted
        line(with_(CASE, number="2021-000041")).decode().encode("gbk"),  # Excel's CSV-to-text on Chinese Windows
        line(with_(CASE, number="2021-000042")).replace("土地".encode(), b"\xff\xfe"),  # not any encoding
        b"[" * 100_000,  # deeper than the decoder follows
        b'{"a":' * 100_000,
        codecs.BOM_UTF8 + line(FORWARD),  # a BOM on a later line too (files joined together)
    )
    assert (report.applied, report.repeated) == (2, 0)
    assert [(r.line, r.code) for r in report.refused] == [
        (2, "invalid_encoding"), (3, "invalid_encoding"), (4, "invalid_command"), (5, "malformed_json")]
    assert "GBK" in report.refused[0].message and "UTF-8" in report.refused[0].message
    assert "0xFF" in report.refused[1].message and "GBK" not in report.refused[1].message
    assert "嵌套过深" in report.refused[3].message
    assert size(ledger) == before + 2


@pytest.mark.parametrize("data", [
    pytest.param("\n".join(json.dumps(x, ensure_ascii=False) for x in (CASE, FORWARD)).encode("utf-16"), id="utf-16"),
    pytest.param(b"", id="empty"),
    pytest.param(b"\n  \r\n\n", id="blank-lines"),
])
def test_a_batch_with_nothing_to_import_is_refused_whole(ledger: Ledger, data: bytes) -> None:
    before = size(ledger)
    with pytest.raises(InvalidInput) as refused:
        import_lines(data, lambda commands, batch: ledger.execute_many(commands, ADMIN, batch=batch))
    assert refused.value.code in {"invalid_encoding", "empty_import"} and refused.value.message
    assert size(ledger) == before


# ── 10. A review request on a case that was never served a decision ──────────


@pytest.mark.parametrize("route", [
    {"type": "RedirectPetitioner", "reason": "请向法院起诉"},
    {"type": "RouteToStatutoryChannel", "route": "行政复议"},
    {"type": "ReferCase", "authority": "纪检监察", "to_unit": "town-a"},
])
def test_review_of_a_case_concluded_without_a_served_decision_is_refused_with_a_reason(
        ledger: Ledger, route: dict[str, Any]) -> None:
    moves = [CASE, {**route, "command_id": "route-1", "occurred_at": "2021-03-02T09:00:00+08:00", "case": "2021-000011"},
             {"type": "ConcludeCase", "command_id": "done-1", "occurred_at": "2021-03-03T09:00:00+08:00",
              "case": "2021-000011"}]
    assert apply(ledger, *moves).applied == 3
    review = {"type": "RequestReview", "command_id": "rv-1", "occurred_at": "2021-03-04T09:00:00+08:00",
              "case": "2021-000011"}
    refused_alone(ledger, review, "rule_violation", "没有送达的处理意见")
    assert ledger.case("2021-000011").stage == "已办结"

